"""Ingest: a source -> validated, patient-split canonical records under `records/<dataset>/`.

    ecgflow ingest synthetic --n-records 500 --store ./demo-store
"""

from prefect import flow

from tasks.ingest import ingest_synthetic

SOURCES = ("synthetic",)


@flow(name="ingest", flow_run_name="ingest {source}", log_prints=True)
def ingest_flow(
    store: str, source: str = "synthetic", n_records: int = 500, seed: int = 0, fs: float = 500.0, seconds: float = 10.0
) -> dict:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; available: {', '.join(SOURCES)}")
    summary = ingest_synthetic(store, n_records, seed, fs, seconds)
    print(f"{source}: {summary['accepted']} records stored, {summary['rejected']} rejected (quarantine.jsonl)")
    return summary
