"""An instruction set in the store: `instruct/<name>/{train,val,test}.jsonl` and `stats.json`."""

from __future__ import annotations

from ecg_core.image_store import read_index
from ecg_core.instruct.build import build_samples, split_samples, statistics
from ecg_core.record_store import Rejected, read_records
from ecg_core.store import Store


def instruct_prefix(name: str) -> str:
    return f"instruct/{name}"


def write_instruction_set(store: Store, name: str, datasets: list[str], families: list[str], seed: int = 0) -> dict:
    """Build samples for every rendered image of every record; records without one are skipped with a reason."""
    records, skipped, images = [], [], {}
    for dataset in datasets:
        rendered = read_index(store, dataset)
        for record in read_records(store, dataset):
            if rendered.get(record.record_id):
                records.append(record)
                images[record.record_id] = rendered[record.record_id]
            else:
                skipped.append(Rejected(record.record_id, "no rendered image"))
    samples = build_samples(records, families, images, seed=seed)
    for split, rows in split_samples(samples).items():
        store.put_jsonl(f"{instruct_prefix(name)}/{split}.jsonl", rows)
    stats = statistics(samples) | {"skipped": len(skipped)}
    store.put_json(f"{instruct_prefix(name)}/stats.json", stats)
    store.put_jsonl(f"{instruct_prefix(name)}/skipped.jsonl", [s.__dict__ for s in skipped])
    return stats


def read_split(store: Store, name: str, split: str) -> list[dict]:
    return store.get_jsonl(f"{instruct_prefix(name)}/{split}.jsonl")
