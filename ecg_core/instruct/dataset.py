"""An instruction set in the store: `instruct/<name>/{train,val,test}.jsonl` and `stats.json`."""

from __future__ import annotations

from ecg_core.instruct.build import build_samples, image_key, split_samples, statistics
from ecg_core.record_store import Rejected, read_records
from ecg_core.store import Store


def instruct_prefix(name: str) -> str:
    return f"instruct/{name}"


def write_instruction_set(store: Store, name: str, datasets: list[str], families: list[str], seed: int = 0) -> dict:
    """Build samples for every record that has a rendered image; records without one are skipped with a reason."""
    records, skipped = [], []
    for dataset in datasets:
        for record in read_records(store, dataset):
            if store.exists(image_key(record)):
                records.append(record)
            else:
                skipped.append(Rejected(record.record_id, "no rendered image"))
    samples = build_samples(records, families, seed=seed)
    for split, rows in split_samples(samples).items():
        store.put_jsonl(f"{instruct_prefix(name)}/{split}.jsonl", rows)
    stats = statistics(samples) | {"skipped": len(skipped)}
    store.put_json(f"{instruct_prefix(name)}/stats.json", stats)
    store.put_jsonl(f"{instruct_prefix(name)}/skipped.jsonl", [s.__dict__ for s in skipped])
    return stats


def read_split(store: Store, name: str, split: str) -> list[dict]:
    return store.get_jsonl(f"{instruct_prefix(name)}/{split}.jsonl")
