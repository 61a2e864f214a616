"""Instruction samples in the ECGInstruct/LLaVA format, one per (record, task family)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping

from ecg_core.instruct import questions
from ecg_core.instruct.reports import report_from_labels
from ecg_core.records import ECGRecord

NO_CLASS_ANSWER = "none"  # the answer when no superclass applies (e.g. a rhythm-only statement)


def _sample(record: ECGRecord, family: str, question: str, answer: str, labels: list[str]) -> dict:
    return {
        "id": f"{record.record_id}-{family}",
        "conversations": [
            {"from": "human", "value": f"<image>\n{question}"},
            {"from": "gpt", "value": answer},
        ],
        "task_family": family,
        "labels": labels,
        "source": record.dataset,
        "split": record.split,
        "record_id": record.record_id,
        "patient_id": record.patient_id,
    }


def abnormality_detection(record: ECGRecord, rng: random.Random) -> dict:
    answer = ", ".join(record.superclasses) or NO_CLASS_ANSWER
    question = rng.choice(questions.ABNORMALITY_DETECTION)
    return _sample(record, "abnormality_detection", question, answer, list(record.superclasses))


def report_generation(record: ECGRecord, rng: random.Random) -> dict:
    report = record.report or report_from_labels(record.labels)
    question = rng.choice(questions.REPORT_GENERATION)
    return _sample(record, "report_generation", question, report, sorted(record.labels))


TASK_FAMILIES = {"abnormality_detection": abnormality_detection, "report_generation": report_generation}


def build_samples(records: list[ECGRecord], families: list[str], images: Mapping[str, list[str]], seed: int = 0) -> list[dict]:
    """Samples for every image of every record (`images`: record id -> image keys, one per rendered
    variant) and family; phrasing drawn from (seed, family, record id, variant), so the result does not
    depend on record order or on which other records are present."""
    samples = []
    for record in records:
        for variant, image in enumerate(images[record.record_id]):
            for family in families:
                rng = random.Random(f"{seed}:{family}:{record.record_id}" + (f":{variant}" if variant else ""))
                sample = TASK_FAMILIES[family](record, rng)
                sample["id"] = f"{record.record_id}-{variant}-{family}"
                sample["image"] = image
                samples.append(sample)
    return samples


def split_samples(samples: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for sample in samples:
        out[sample["split"]].append(sample)
    return out


def statistics(samples: list[dict]) -> dict:
    """Counts per split, family, source and label: written beside the set and shown as a table."""
    return {
        "n": len(samples),
        "per_split": dict(sorted(Counter(s["split"] for s in samples).items())),
        "per_family": dict(sorted(Counter(s["task_family"] for s in samples).items())),
        "per_source": dict(sorted(Counter(s["source"] for s in samples).items())),
        "per_label": dict(
            sorted(Counter(l for s in samples if s["task_family"] == "abnormality_detection" for l in s["labels"]).items())
        ),
    }
