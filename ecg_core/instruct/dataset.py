"""An instruction set in the store: `instruct/<name>/{train,val,test}.jsonl`, `stats.json`,
`skipped.jsonl` (every sample not built, with the reason) and, on request, a Hugging Face `datasets`
export with the image column (`hf/`, via save_to_disk, and `parquet/<split>.parquet`)."""

from __future__ import annotations

from ecg_core import layout
from ecg_core.image_store import read_index
from ecg_core.instruct.build import SPLITS, build_samples, deduplicate, mix, split_samples, statistics
from ecg_core.instruct.instruct_config import InstructConfig
from ecg_core.record_store import Rejected, read_records
from ecg_core.store import Store


def write_instruction_set(
    store: Store,
    name: str,
    datasets: list[str],
    config: InstructConfig,
) -> dict:
    """Build samples of `config.families` for every rendered image of every record, keep the asked topics and
    answer styles (None = all), de-duplicate, cap the training split (mix), write the splits; records without an image
    or outside a family's vocabulary are skipped with the reason. Returns the statistics (also in stats.json)."""
    records, skipped, images = [], [], {}
    for dataset in datasets:
        rendered = read_index(store, dataset)
        for record in read_records(store, dataset):
            if rendered.get(record.record_id):
                records.append(record)
                images[record.record_id] = rendered[record.record_id]
            else:
                skipped.append(Rejected(record.record_id, "no rendered image"))
    built = build_samples(
        records, config.families, images, seed=config.seed, report_measurements=config.report_measurements
    )
    samples = [
        s
        for s in built.samples
        if (config.topics is None or s["topic"] in config.topics)
        and (config.styles is None or s["style"] in config.styles)
    ]
    samples, duplicates = deduplicate(samples)
    samples = mix(samples, config.per_family, config.per_source, seed=config.seed)
    for split, rows in split_samples(samples).items():
        store.put_jsonl(layout.split_key(name, split), rows)
    skipped += built.skipped
    stats = statistics(samples) | {"skipped": len(skipped), "duplicates_dropped": duplicates}
    store.put_json(layout.instruct_stats_key(name), stats)
    store.put_jsonl(layout.skipped_key(name), [{"id": s.record_id, "reason": s.reason} for s in skipped])
    if config.export_hf:
        export_hf_dataset(store, name)
    return stats


def training_sources(store: Store, name: str) -> list[str]:
    """The source datasets the training split draws from (the data-source ablation's choices)."""
    return sorted({s["source"] for s in read_split(store, name, "train")})


def write_source_subset(store: Store, name: str, sources: list[str], subset_name: str) -> dict:
    """`instruct/<subset_name>/`: the training split of `name` from `sources` only, validation and test whole
    (so every data-source variant is scored on the same questions). Returns the per-split counts."""
    counts = {}
    for split in SPLITS:
        rows = read_split(store, name, split)
        if split == "train":
            rows = [s for s in rows if s["source"] in sources]
            if not rows:
                raise ValueError(f"instruction set {name!r} has no training samples from {sources}")
        store.put_jsonl(layout.split_key(subset_name, split), rows)
        counts[split] = len(rows)
    return counts


def read_split(store: Store, name: str, split: str) -> list[dict]:
    return store.get_jsonl(layout.split_key(name, split))


def fetch_training_files(store: Store, name: str) -> dict[str, str]:
    """The files a training run reads, on this machine: the train and val splits and the pages they show, and no
    other object of the store (a fresh machine resuming a run downloads what it trains on, nothing more). Returns
    the TrainConfig keys train_jsonl, val_jsonl and image_root (image keys are relative to the store root)."""
    splits = [layout.split_key(name, split) for split in ("train", "val")]
    pages = sorted({sample["image"] for key in splits for sample in store.get_jsonl(key)})
    root = store.fetch([*splits, *pages])
    return {"train_jsonl": str(root / splits[0]), "val_jsonl": str(root / splits[1]), "image_root": str(root)}


def export_hf_dataset(store: Store, name: str) -> None:
    """The splits as a `datasets.DatasetDict` with an Image column holding each image's bytes, so the
    export is self-contained: `hf/` (load_from_disk) and `parquet/<split>.parquet` (load_dataset)."""
    import datasets  # imported here: a heavy import only this export needs

    text = datasets.Value("string")
    features = datasets.Features(
        {
            "id": text,
            "image": datasets.Image(),
            "image_key": text,
            "conversations": [{"from": text, "value": text}],
            "task_family": text,
            "topic": text,
            "style": text,
            "labels": [text],
            "source": text,
            "split": text,
            "record_id": text,
            "patient_id": text,
        }
    )
    dataset = datasets.DatasetDict(
        {
            split: datasets.Dataset.from_list([_hf_row(store, s) for s in rows], features=features)
            for split in SPLITS
            if (rows := read_split(store, name, split))
        }
    )
    prefix = layout.instruct_prefix(name)
    # Written into the store's local copy with nothing fetched first (a mirror of the set's folder would download
    # the splits and any earlier export from an object store), and only the export sent back.
    root = store.local_root() / prefix
    dataset.save_to_disk(str(root / "hf"))
    (root / "parquet").mkdir(parents=True, exist_ok=True)
    for split, part in dataset.items():
        part.to_parquet(str(root / "parquet" / f"{split}.parquet"))
    for folder in ("hf", "parquet"):
        store.put_dir(root / folder, f"{prefix}/{folder}")  # a no-op for a local store: written in place


def _hf_row(store: Store, sample: dict) -> dict:
    return {
        "id": sample["id"],
        "image": {"bytes": store.get_bytes(sample["image"]), "path": sample["image"]},
        "image_key": sample["image"],
        "conversations": sample["conversations"],
        "task_family": sample["task_family"],
        "topic": sample["topic"],
        "style": sample["style"],
        "labels": sample["labels"],
        "source": sample["source"],
        "split": sample["split"],
        "record_id": sample["record_id"],
        "patient_id": sample["patient_id"],
    }
