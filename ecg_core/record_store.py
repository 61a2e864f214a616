"""Canonical records in the store: validated Parquet shards, a quarantine for rejects, a manifest.

Layout under `records/<dataset>/`: `shard-00000.parquet` ..., `quarantine.jsonl` (one line per rejected
input: id and reason), `manifest.json` (counts per split, shard list). Records are streamed into shards,
so ingesting a large dataset holds one shard in memory, never the dataset.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow.parquet as pq

from ecg_core import layout
from ecg_core.errors import MissingInput
from ecg_core.records import ECGRecord, RecordValidationError, records_from_parquet, records_to_parquet, validate
from ecg_core.splits import split_of_patient
from ecg_core.store import Store

SHARD_SIZE = 256  # records per shard: ~30 MB at 500 Hz, small enough to render a shard in one task


@dataclass
class Rejected:
    record_id: str
    reason: str


@dataclass
class IngestSummary:
    dataset: str
    accepted: int = 0
    rejected: int = 0
    shards: list[str] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)


@dataclass
class WrittenPart:
    """What one writer put in the store: its shards and counts, and its rejects for the quarantine."""

    shards: list[str] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    rejects: list[dict] = field(default_factory=list)


class ShardWriter:
    """Validates, splits (by patient, unless the record has an official split) and shards records.

    Shards are named `shard-<tag><n>.parquet`, n counting from `first_index`: one writer continues a
    dataset's numbering; parallel writers of one ingest take distinct tags. It writes no manifest: the
    shards count once `commit_parts` names them there.
    """

    def __init__(
        self,
        store: Store,
        dataset: str,
        *,
        shard_size: int = SHARD_SIZE,
        split_seed: int = 0,
        shard_tag: str = "",
        first_index: int = 0,
    ):
        self.store, self.dataset, self.shard_size, self.split_seed = store, dataset, shard_size, split_seed
        self.shard_tag, self.next_index = shard_tag, first_index
        self.part = WrittenPart()
        self.splits: Counter = Counter()
        self.buffer: list[ECGRecord] = []

    def add(self, item: ECGRecord | Rejected) -> None:
        if isinstance(item, Rejected):
            return self._reject(item.record_id, item.reason)
        try:
            record = validate(item)
        except RecordValidationError as err:
            return self._reject(err.record_id, err.reason)
        if record.split is None:
            record.split = split_of_patient(record.patient_id, seed=self.split_seed)
        self.buffer.append(record)
        self.splits[record.split] += 1
        self.part.accepted += 1
        if len(self.buffer) >= self.shard_size:
            self._flush()

    def finish(self) -> WrittenPart:
        self._flush()
        self.part.splits = dict(self.splits)
        return self.part

    def _reject(self, record_id: str, reason: str) -> None:
        self.part.rejects.append({"id": record_id, "reason": reason})

    def _flush(self) -> None:
        if self.buffer:
            key = layout.shard_key(self.dataset, self.shard_tag, self.next_index)
            self.store.put_bytes(key, records_to_parquet(self.buffer))
            self.part.shards.append(key)
            self.next_index += 1
            self.buffer = []


def commit_parts(store: Store, dataset: str, parts: list[WrittenPart], *, append: bool) -> IngestSummary:
    """Name the parts' shards in the manifest (after the existing ones when `append`: incremental ingest)
    and add their rejects to the quarantine. A record id written again supersedes its earlier copy."""
    exists = append and store.exists(layout.manifest_key(dataset))
    summary = read_manifest(store, dataset) if exists else IngestSummary(dataset)
    quarantine = store.get_jsonl(layout.records_quarantine_key(dataset)) if exists else []
    splits = Counter(summary.splits)
    for part in parts:
        summary.shards += part.shards
        summary.accepted += part.accepted
        summary.rejected += len(part.rejects)
        splits.update(part.splits)
        quarantine += part.rejects
    summary.splits = dict(sorted(splits.items()))
    store.put_jsonl(layout.records_quarantine_key(dataset), quarantine)
    store.put_json(layout.manifest_key(dataset), summary.__dict__)
    return summary


def write_records(
    store: Store,
    dataset: str,
    records: Iterable[ECGRecord | Rejected],
    *,
    shard_size: int = SHARD_SIZE,
    split_seed: int = 0,
) -> IngestSummary:
    """Replace the dataset with `records`; rejects go to quarantine, the rest goes on.

    The manifest names the current shards; readers go through it, so a re-ingest with fewer records
    never mixes in shards left by an earlier run.
    """
    writer = ShardWriter(store, dataset, shard_size=shard_size, split_seed=split_seed)
    for item in records:
        writer.add(item)
    return commit_parts(store, dataset, [writer.finish()], append=False)


def read_manifest(store: Store, dataset: str) -> IngestSummary:
    key = layout.manifest_key(dataset)
    if not store.exists(key):  # every later stage starts here: say what is missing and what makes it
        raise MissingInput(f"no dataset {dataset!r} in store {store.uri} (no {key}): ingest it first")
    return IngestSummary(**store.get_json(key))


def read_shard(store: Store, key: str) -> list[ECGRecord]:
    return records_from_parquet(store.get_bytes(key))


def read_shard_ids(store: Store, key: str) -> list[str]:
    """Record ids of a shard, without decoding the signals."""
    return pq.read_table(io.BytesIO(store.get_bytes(key)), columns=["record_id"]).column(0).to_pylist()


def read_records(store: Store, dataset: str) -> list[ECGRecord]:
    """Every current record of a dataset; of a record id written twice, the later copy."""
    latest = {r.record_id: r for key in read_manifest(store, dataset).shards for r in read_shard(store, key)}
    return list(latest.values())
