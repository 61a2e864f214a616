"""Ingest: a source -> validated, patient-split canonical records under `records/<dataset>/`.

    ecgflow ingest synthetic --n-records 500 --store ./demo-store
    ecgflow ingest ptbxl /data/ptb-xl-1.0.3 --store ./store
    ecgflow ingest ecgbench ptb-xl-report.json --name ecgbench --store ./store   # instruction files

A re-run reads only new or changed inputs and reports new / unchanged / rejected counts.
"""

from prefect import flow

from ecg_core.sources import INSTRUCTION_SOURCES
from tasks.ingest import import_instruction_file, ingest


@flow(name="ingest", flow_run_name="ingest {source}", log_prints=True)
def ingest_flow(
    store: str, source: str, path: str | None = None, options: dict | None = None, split_seed: int = 0, name: str | None = None
) -> dict:
    if source in INSTRUCTION_SOURCES:
        return import_instruction_file(store, path, name or source, INSTRUCTION_SOURCES[source], source == "ecgbench")
    report = ingest(store, source, path, options or {}, split_seed)
    print(
        f"{source}: {report['new']} new records, {report['unchanged']} inputs unchanged, "
        f"{report['rejected']} rejected (quarantine.jsonl); {report['total_records']} records in all"
    )
    return report
