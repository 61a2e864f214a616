"""Ingest tasks: plan (what is new or changed), read a chunk of inputs into shards, commit the manifest and tell
of it (an event a retraining deployment's trigger starts on)."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.events import emit_event

from ecg_core import ingest, layout
from ecg_core.ingest import IngestPlan, InputChunk, read_inputs
from ecg_core.record_store import WrittenPart
from ecg_core.sources import make_source
from ecg_core.sources.instructions import import_instructions
from tasks.storage import open_store


@task
def plan_ingest(store_uri: str, source: str, path: str | None, options: dict) -> IngestPlan:
    return ingest.plan_ingest(open_store(store_uri), make_source(source, **options), Path(path) if path else None)


@task(retries=1)
def read_chunk(store_uri: str, source: str, options: dict, chunk: InputChunk, split_seed: int) -> WrittenPart:
    """One chunk of inputs -> its own shards, rejects kept for the quarantine."""
    return read_inputs(open_store(store_uri), make_source(source, **options), chunk, split_seed=split_seed)


RECORDS_EVENT = "ecgflow.records.ingested"  # every ingest's counts; deployments/prefect.yaml's retraining trigger


@task
def commit_ingest(store_uri: str, ingest_plan: IngestPlan, parts: list[WrittenPart]) -> dict:
    store = open_store(store_uri)
    report = ingest.commit_ingest(store, ingest_plan, parts)
    logger = get_run_logger()
    logger.info(
        "%s: %d new records, %d inputs unchanged, %d rejected; %d records in all, splits %s",
        report.dataset,
        report.new,
        report.unchanged,
        report.rejected,
        report.total_records,
        report.splits,
    )
    if report.rejected:
        logger.warning("%d rejected, reasons in %s", report.rejected, layout.records_quarantine_key(report.dataset))
    # Labels are what triggers match on (as text): the store, so a deployment retrains on its own store's records,
    # and the count, so an ingest that added nothing starts nothing.
    emit_event(
        event=RECORDS_EVENT,
        resource={
            "prefect.resource.id": f"ecgflow.dataset.{report.dataset}",
            "prefect.resource.name": report.dataset,
            "ecgflow.store": store.uri,
            "ecgflow.new-records": str(report.new),
        },
        payload=report.__dict__ | {"store": store.uri},
    )
    return report.__dict__


@task
def import_instruction_file(store_uri: str, path: str, name: str, split: str, ecgbench: bool) -> dict:
    """A published ECGInstruct / ECGBench file -> `instruct/<name>/<split>.jsonl` in our sample format."""
    counts = import_instructions(open_store(store_uri), name, Path(path), split, ecgbench=ecgbench)
    get_run_logger().info(
        "%s: %d samples imported into %s, %d rejected, %d duplicates",
        path,
        counts["n"],
        layout.split_key(name, split),
        counts["rejected"],
        counts["duplicates"],
    )
    return counts
