"""Ingest task: one source -> validated canonical records in the store, incrementally."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from ecg_core.ingest import ingest_source
from ecg_core.sources import make_source
from ecg_core.sources.instructions import import_instructions
from ecg_core.store import open_store


@task(name="ingest-source", tags=["cpu"])
def ingest(store_uri: str, source: str, path: str | None, options: dict, split_seed: int) -> dict:
    """Read new or changed inputs of `source` under `path`; returns the new/unchanged/rejected counts."""
    logger = get_run_logger()
    progress = create_progress_artifact(progress=0.0, description=f"ingesting {source}: inputs done")
    step = [0.0]

    def on_progress(done: int, total: int) -> None:
        if done == total or done / total - step[0] >= 0.02:  # ~50 updates, not one per record
            step[0] = done / total
            update_progress_artifact(progress, progress=100.0 * step[0])

    reader = make_source(source, **options)
    report = ingest_source(open_store(store_uri), reader, Path(path) if path else None, split_seed=split_seed, on_progress=on_progress)
    logger.info(
        "%s: %d new records, %d inputs unchanged, %d rejected; %d records in all, splits %s",
        source, report.new, report.unchanged, report.rejected, report.total_records, report.splits,
    )
    if report.rejected:
        logger.warning("%d rejected, reasons in records/%s/quarantine.jsonl", report.rejected, reader.name)
    return report.__dict__


@task(name="import-instructions", tags=["cpu"])
def import_instruction_file(store_uri: str, path: str, name: str, split: str, ecgbench: bool) -> dict:
    """A published ECGInstruct / ECGBench file -> `instruct/<name>/<split>.jsonl` in our sample format."""
    counts = import_instructions(open_store(store_uri), name, Path(path), split, ecgbench=ecgbench)
    get_run_logger().info("%s: %d samples imported into instruct/%s/%s.jsonl, %d rejected, %d duplicates",
                          path, counts["n"], name, split, counts["rejected"], counts["duplicates"])
    return counts
