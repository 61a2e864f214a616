"""Canonical records in the store: validated Parquet shards, a quarantine for rejects, a manifest.

Layout under `records/<dataset>/`: `shard-00000.parquet` ..., `quarantine.jsonl` (one line per rejected
input: id and reason), `manifest.json` (counts per split, shard list). Records are streamed into shards,
so ingesting a large dataset holds one shard in memory, never the dataset.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import pyarrow.parquet as pq

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


def records_prefix(dataset: str) -> str:
    return f"records/{dataset}"


class RecordWriter:
    """Validates, splits (by patient, unless the record has an official split) and shards records.

    With `append=True` it continues the dataset already in the store (incremental ingest): new shards are
    added after the existing ones and rejects are added to the quarantine. A record id written again
    supersedes its earlier copy (readers keep the last one).
    """

    def __init__(self, store: Store, dataset: str, *, shard_size: int = SHARD_SIZE, split_seed: int = 0, append: bool = False):
        self.store, self.dataset, self.shard_size, self.split_seed = store, dataset, shard_size, split_seed
        self.prefix = records_prefix(dataset)
        exists = append and store.exists(f"{self.prefix}/manifest.json")
        self.summary = read_manifest(store, dataset) if exists else IngestSummary(dataset)
        self.quarantine = store.get_jsonl(f"{self.prefix}/quarantine.jsonl") if exists else []
        self.splits = Counter(self.summary.splits)
        self.buffer: list[ECGRecord] = []
        self.new_accepted = self.new_rejected = 0

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
        self.new_accepted += 1
        if len(self.buffer) >= self.shard_size:
            self._flush()

    def close(self) -> IngestSummary:
        self._flush()
        self.summary.accepted += self.new_accepted
        self.summary.rejected += self.new_rejected
        self.summary.splits = dict(sorted(self.splits.items()))
        self.store.put_jsonl(f"{self.prefix}/quarantine.jsonl", self.quarantine)
        self.store.put_json(f"{self.prefix}/manifest.json", self.summary.__dict__)
        return self.summary

    def _reject(self, record_id: str, reason: str) -> None:
        self.quarantine.append({"id": record_id, "reason": reason})
        self.new_rejected += 1

    def _flush(self) -> None:
        if self.buffer:
            key = f"{self.prefix}/shard-{len(self.summary.shards):05d}.parquet"
            self.store.put_bytes(key, records_to_parquet(self.buffer))
            self.summary.shards.append(key)
            self.buffer = []


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
    writer = RecordWriter(store, dataset, shard_size=shard_size, split_seed=split_seed)
    for item in records:
        writer.add(item)
    return writer.close()


def read_manifest(store: Store, dataset: str) -> IngestSummary:
    return IngestSummary(**store.get_json(f"{records_prefix(dataset)}/manifest.json"))


def read_shard(store: Store, key: str) -> list[ECGRecord]:
    return records_from_parquet(store.get_bytes(key))


def read_shard_ids(store: Store, key: str) -> list[str]:
    """Record ids of a shard, without decoding the signals."""
    return pq.read_table(io.BytesIO(store.get_bytes(key)), columns=["record_id"]).column(0).to_pylist()


def read_records(store: Store, dataset: str) -> list[ECGRecord]:
    """Every current record of a dataset; of a record id written twice, the later copy."""
    latest = {r.record_id: r for key in read_manifest(store, dataset).shards for r in read_shard(store, key)}
    return list(latest.values())
