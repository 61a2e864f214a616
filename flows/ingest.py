"""Ingest: a source -> validated, patient-split canonical records under `records/<dataset>/`.

    ecgflow ingest synthetic --n-records 500 --store ./demo-store
    ecgflow ingest ptbxl /data/ptb-xl-1.0.3 --store ./store --task-runner dask:8
    ecgflow ingest ecgbench ptb-xl-report.json --name ecgbench --store ./store   # instruction files

A re-run reads only new or changed inputs and reports new / unchanged / rejected counts. The inputs to
read are split in chunks, read in parallel on the task runner (threads, or a Dask cluster).
"""

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed
from tqdm import tqdm

from ecg_core.sources import INSTRUCTION_SOURCES
from flows.task_runners import make_task_runner
from tasks.ingest import commit, import_instruction_file, plan, read_chunk


@flow(name="ingest", flow_run_name="ingest {source}", log_prints=True)
def ingest_flow(
    store: str,
    source: str,
    path: str | None = None,
    options: dict | None = None,
    split_seed: int = 0,
    name: str | None = None,
    task_runner: str = "threads",
    inputs_per_task: int = 512,
) -> dict:
    """`task_runner`: where the chunks are read (flows/task_runners.py); `inputs_per_task`: chunk size."""
    if source in INSTRUCTION_SOURCES:
        return import_instruction_file(store, path, name or source, INSTRUCTION_SOURCES[source], source == "ecgbench")
    options = options or {}
    todo = plan(store, source, path, options)
    chunks = [todo.todo[i:i + inputs_per_task] for i in range(0, len(todo.todo), inputs_per_task)]
    parts = [None] * len(chunks)
    progress = create_progress_artifact(progress=0.0, description=f"ingesting {source}: {len(todo.todo)} new or changed inputs")
    with make_task_runner(task_runner) as runner, tqdm(total=len(todo.todo), unit="input", desc=f"ingest {source}") as bar:
        # One chunk keeps the dataset's shard numbering; parallel chunks tag their shards apart.
        futures = {runner.submit(read_chunk, {
            "store_uri": store, "source": source, "options": options, "items": chunk, "split_seed": split_seed,
            "shard_tag": "" if len(chunks) == 1 else f"{todo.first_shard:05d}.{k:04d}-",
            "first_index": todo.first_shard if len(chunks) == 1 else 0,
        }): k for k, chunk in enumerate(chunks)}
        for done, future in enumerate(as_completed(list(futures)), start=1):
            parts[futures[future]] = future.result()
            bar.update(len(chunks[futures[future]]))
            update_progress_artifact(progress, progress=100.0 * done / len(chunks))
    report = commit(store, todo, parts)  # parts in input order: the manifest reads as one sequential run
    print(
        f"{source}: {report['new']} new records, {report['unchanged']} inputs unchanged, "
        f"{report['rejected']} rejected (quarantine.jsonl); {report['total_records']} records in all"
    )
    return report
