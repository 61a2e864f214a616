"""Ingest tasks: sources -> validated canonical records in the store."""

from prefect import get_run_logger, task

from ecg_core.record_store import write_records
from ecg_core.store import open_store
from ecg_core.synth import synthesize_records


@task(name="ingest-synthetic", tags=["cpu"])
def ingest_synthetic(store_uri: str, n_records: int, seed: int, fs: float, seconds: float) -> dict:
    """Generate labelled synthetic 12-lead records and store them as the `synthetic` dataset."""
    records = synthesize_records(n_records, seed=seed, fs=fs, seconds=seconds)
    summary = write_records(open_store(store_uri), "synthetic", records, split_seed=seed)
    logger = get_run_logger()
    logger.info("synthetic: %d records accepted, %d rejected, splits %s", summary.accepted, summary.rejected, summary.splits)
    if summary.rejected:
        logger.warning("%d rejected records, reasons in records/synthetic/quarantine.jsonl", summary.rejected)
    return summary.__dict__
