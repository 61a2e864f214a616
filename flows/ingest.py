"""Ingest: a source -> validated, patient-split canonical records under `records/<dataset>/`.

    ecgflow ingest synthetic --n-records 500 --store ./demo-store
    ecgflow ingest ptbxl /data/ptb-xl-1.0.3 --store ./store --task-runner dask:8
    ecgflow ingest ecgbench ptb-xl-report.json --name ecgbench --store ./store   # instruction files

A re-run reads only new or changed inputs and reports new / unchanged / rejected counts. The inputs to
read are split in chunks, read in parallel on the task runner (threads, or a Dask cluster).
"""

from prefect import flow

from ecg_core.sources import INSTRUCTION_SOURCES, source_settings
from tasks.ingest import commit_ingest, import_instruction_file, plan_ingest, read_chunk
from tasks.runners import run_batches


@flow(name="ingest", flow_run_name="ingest {source}", log_prints=True)
def ingest_flow(
    *,
    store: str,
    source: str,
    path: str | None = None,
    options: dict | None = None,
    split_seed: int = 0,
    name: str | None = None,
    task_runner: str = "threads",
    inputs_per_task: int = 512,
) -> dict:
    """Ingest a source into validated, patient-split records under records/<dataset>/ (incremental); returns
    the counts of new, unchanged and rejected inputs.

    Args:
        store: artifact store, a folder or s3://bucket/prefix
        source: data source format (ptbxl, mimic-iv-ecg, code15, wfdb, challenge, synthetic; instruction files:
            ecginstruct, ecgbench)
        path: the dataset folder as published, or the instruction file (not for synthetic)
        options: the source's own reading options (ecg_core/sources), e.g. {"sampling_rate": 100} for ptbxl
        split_seed: seed of the patient-level split
        name: ecginstruct/ecgbench: instruction set to import into (default: the source name)
        task_runner: where the chunks are read: threads[:N], dask[:N] (local cluster), dask:tcp://host:port
        inputs_per_task: inputs read per task (chunk size)
    """
    options = source_settings(source, path, options or {})
    if source in INSTRUCTION_SOURCES:
        return import_instruction_file(store, path, name or source, INSTRUCTION_SOURCES[source], source == "ecgbench")
    ingest_plan = plan_ingest(store, source, path, options)
    chunks = ingest_plan.chunks(inputs_per_task)
    calls = [
        {"store_uri": store, "source": source, "options": options, "chunk": chunk, "split_seed": split_seed}
        for chunk in chunks
    ]
    parts = run_batches(task_runner, read_chunk, calls, [len(c.items) for c in chunks], f"ingest {source}", "input")
    report = commit_ingest(store, ingest_plan, parts)  # parts in input order: the manifest reads as one sequential run
    print(
        f"{source}: {report['new']} new records, {report['unchanged']} inputs unchanged, "
        f"{report['rejected']} rejected (quarantine.jsonl); {report['total_records']} records in all"
    )
    return report
