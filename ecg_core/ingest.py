"""Incremental ingest: read only the inputs that are new or changed since the last run of a source.

Each input's fingerprint (path, size, mtime) is kept in `records/<dataset>/fingerprints.json`; a re-run
skips unchanged inputs and reports `new / unchanged / rejected` (the retraining flow reads `new`).

Three steps, so the reading can be spread over workers: `plan_ingest` lists what to read,
`read_inputs` reads a chunk of it into shards (any number of chunks, in parallel), `commit_ingest`
names the shards in the manifest and records the fingerprints. `ingest_source` does all three in turn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ecg_core import layout
from ecg_core.record_store import SHARD_SIZE, Rejected, ShardWriter, WrittenPart, commit_parts, read_manifest
from ecg_core.sources.reader import Input, Source
from ecg_core.store import Store


@dataclass
class IngestReport:
    dataset: str
    new: int  # records accepted in this run
    rejected: int  # inputs or records rejected in this run (reasons in quarantine.jsonl)
    unchanged: int  # inputs skipped because their fingerprint is known
    inputs_read: int
    total_records: int  # records in the dataset after this run
    splits: dict[str, int]


@dataclass
class IngestPlan:
    dataset: str
    todo: list[Input]  # new or changed inputs, in the source's order
    unchanged: int
    known: dict[str, str] = field(default_factory=dict)  # fingerprints of the inputs read by earlier runs
    fresh: dict[str, str] = field(default_factory=dict)  # fingerprints of `todo`, taken before reading them
    first_shard: int = 0  # where this run's shard numbering starts (after the dataset's existing shards)

    def chunks(self, size: int) -> list[InputChunk]:
        """`todo` in chunks of `size`: a single chunk continues the dataset's shard numbering, several
        chunks (read in parallel) tag their shards apart."""
        groups = [self.todo[i : i + size] for i in range(0, len(self.todo), size)]
        if len(groups) <= 1:
            return [InputChunk(self.todo, "", self.first_shard)]
        return [InputChunk(group, f"{self.first_shard:05d}.{k:04d}-", 0) for k, group in enumerate(groups)]


@dataclass
class InputChunk:
    items: list[Input]
    shard_tag: str  # in its shards' names: shard-<tag><n>.parquet
    first_index: int  # the first n


def plan_ingest(store: Store, source: Source, root: Path | None) -> IngestPlan:
    key = layout.fingerprints_key(source.name)
    known: dict[str, str] = store.get_json(key) if store.exists(key) else {}
    inputs = list(source.inputs(root))  # paths only: cheap even for 21,799 PTB-XL records
    fresh = {item.key: item.fingerprint() for item in inputs}
    todo = [item for item in inputs if known.get(item.key) != fresh[item.key]]
    continuing = known and store.exists(layout.manifest_key(source.name))
    first_shard = len(read_manifest(store, source.name).shards) if continuing else 0
    return IngestPlan(
        source.name, todo, len(inputs) - len(todo), known, {item.key: fresh[item.key] for item in todo}, first_shard
    )


def read_inputs(
    store: Store,
    source: Source,
    chunk: InputChunk,
    *,
    shard_size: int = SHARD_SIZE,
    split_seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> WrittenPart:
    """Read a chunk of inputs into shards; a reader failing on one input rejects that input and the rest goes on."""
    writer = ShardWriter(
        store,
        source.name,
        shard_size=shard_size,
        split_seed=split_seed,
        shard_tag=chunk.shard_tag,
        first_index=chunk.first_index,
    )
    items = chunk.items
    for done, item in enumerate(items, start=1):
        try:
            for record in source.read(item):
                writer.add(record)
        except Exception as err:  # a reader bug on one input must not cost the others
            writer.add(Rejected(item.key, f"reader failed: {type(err).__name__}: {err}"))
        if on_progress:
            on_progress(done, len(items))
    return writer.finish()


def commit_ingest(store: Store, plan: IngestPlan, parts: list[WrittenPart]) -> IngestReport:
    """Publish the parts (in order) in the manifest, then the fingerprints of the inputs they read."""
    summary = commit_parts(store, plan.dataset, parts, append=bool(plan.known))
    store.put_json(layout.fingerprints_key(plan.dataset), plan.known | plan.fresh)
    return IngestReport(
        dataset=plan.dataset,
        new=sum(part.accepted for part in parts),
        rejected=sum(len(part.rejects) for part in parts),
        unchanged=plan.unchanged,
        inputs_read=len(plan.todo),
        total_records=summary.accepted,
        splits=summary.splits,
    )


def ingest_source(
    store: Store,
    source: Source,
    root: Path | None,
    *,
    shard_size: int = SHARD_SIZE,
    split_seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    plan = plan_ingest(store, source, root)
    (chunk,) = plan.chunks(len(plan.todo) or 1)
    part = read_inputs(store, source, chunk, shard_size=shard_size, split_seed=split_seed, on_progress=on_progress)
    return commit_ingest(store, plan, [part])
