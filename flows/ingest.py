"""Ingest: a source -> validated, patient-split canonical records under `records/<dataset>/`.

    ecgflow ingest synthetic --n-records 500 --store ./demo-store
    ecgflow ingest ptbxl /data/ptb-xl-1.0.3 --store ./store

A re-run reads only new or changed inputs and reports new / unchanged / rejected counts.
"""

from prefect import flow

from tasks.ingest import ingest


@flow(name="ingest", flow_run_name="ingest {source}", log_prints=True)
def ingest_flow(store: str, source: str, path: str | None = None, options: dict | None = None, split_seed: int = 0) -> dict:
    report = ingest(store, source, path, options or {}, split_seed)
    print(
        f"{source}: {report['new']} new records, {report['unchanged']} inputs unchanged, "
        f"{report['rejected']} rejected (quarantine.jsonl); {report['total_records']} records in all"
    )
    return report
