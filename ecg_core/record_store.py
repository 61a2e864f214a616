"""Canonical records in the store: validated Parquet shards, a quarantine for rejects, a manifest.

Layout under `records/<dataset>/`: `shard-00000.parquet` ..., `quarantine.jsonl` (one line per rejected
input: id and reason), `manifest.json` (counts per split, shard list).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from ecg_core.records import ECGRecord, RecordValidationError, records_from_parquet, records_to_parquet, validate
from ecg_core.splits import assign_splits
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


def write_records(
    store: Store,
    dataset: str,
    records: Iterable[ECGRecord | Rejected],
    *,
    shard_size: int = SHARD_SIZE,
    split_seed: int = 0,
) -> IngestSummary:
    """Validate, split by patient, shard and store `records`; rejects go to quarantine, the rest goes on.

    Readers pass `Rejected` for inputs they could not even parse, so one quarantine holds every reject.
    """
    summary = IngestSummary(dataset)
    quarantine: list[dict] = []
    accepted: list[ECGRecord] = []
    for item in records:
        if isinstance(item, Rejected):
            quarantine.append({"id": item.record_id, "reason": item.reason})
            continue
        try:
            accepted.append(validate(item))
        except RecordValidationError as err:
            quarantine.append({"id": err.record_id, "reason": err.reason})
    assign_splits(accepted, seed=split_seed)

    # The manifest names the current shards; readers go through it, so a re-ingest with fewer
    # records never mixes in shards left by an earlier run.
    prefix = records_prefix(dataset)
    for i in range(0, len(accepted), shard_size):
        key = f"{prefix}/shard-{i // shard_size:05d}.parquet"
        store.put_bytes(key, records_to_parquet(accepted[i : i + shard_size]))
        summary.shards.append(key)
    store.put_jsonl(f"{prefix}/quarantine.jsonl", quarantine)

    summary.accepted = len(accepted)
    summary.rejected = len(quarantine)
    summary.splits = dict(sorted(Counter(r.split for r in accepted).items()))
    store.put_json(f"{prefix}/manifest.json", summary.__dict__)
    return summary


def read_manifest(store: Store, dataset: str) -> IngestSummary:
    return IngestSummary(**store.get_json(f"{records_prefix(dataset)}/manifest.json"))


def read_shard(store: Store, key: str) -> list[ECGRecord]:
    return records_from_parquet(store.get_bytes(key))


def read_records(store: Store, dataset: str) -> list[ECGRecord]:
    return [r for key in read_manifest(store, dataset).shards for r in read_shard(store, key)]
