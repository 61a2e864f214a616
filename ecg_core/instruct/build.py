"""Instruction samples in the ECGInstruct/LLaVA format: every family's questions about every rendered
image of every record, then de-duplication and the mixing caps of a build config."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ecg_core.instruct.facts import facts_of
from ecg_core.instruct.families import FAMILIES, report
from ecg_core.instruct.families.qa import QA
from ecg_core.record_store import Rejected
from ecg_core.records import ECGRecord

SPLITS = ("train", "val", "test")


@dataclass
class Built:
    samples: list[dict] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)  # (record id, reason) for each sample not built


def build_samples(
    records: list[ECGRecord],
    families: list[str],
    images: Mapping[str, list[str]],
    seed: int = 0,
    report_measurements: bool = True,
) -> Built:
    """Samples for every image of every record (`images`: record id -> image keys, one per rendered
    variant) and family. Phrasing is drawn from (seed, family, record id, variant), so the result does
    not depend on record order or on which other records are present. Without `report_measurements`, template
    reports state the rhythm and the statements only (no rate or intervals)."""
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown task famil(ies) {', '.join(unknown)}; allowed: {', '.join(FAMILIES)}")
    built = Built()
    for record in records:
        facts = facts_of(record)
        unmeasured = replace(facts, heart_rate_bpm=None, pr_ms=None, qrs_ms=None, qt_ms=None)
        for family in families:
            for variant, image in enumerate(images[record.record_id]):
                rng = random.Random(f"{seed}:{family}:{record.record_id}" + (f":{variant}" if variant else ""))
                try:
                    told = unmeasured if family == report.NAME and not report_measurements else facts
                    qas = FAMILIES[family].questions(told, rng)
                except report.OutsideVocabulary as error:
                    built.skipped.append(Rejected(record.record_id, f"{family}: {error}"))
                    break
                built.samples += [_sample(record, family, variant, image, k, qa) for k, qa in enumerate(qas)]
    return built


def _sample(record: ECGRecord, family: str, variant: int, image: str, k: int, qa: QA) -> dict:
    return {
        "id": f"{record.record_id}-{variant}-{family}-{k}",
        "image": image,
        "conversations": [
            {"from": "human", "value": f"<image>\n{qa.question}"},
            {"from": "gpt", "value": qa.answer},
        ],
        "task_family": family,
        "topic": qa.topic,
        "style": qa.style,
        "labels": list(qa.labels),
        "source": record.dataset,
        "split": record.split,
        "record_id": record.record_id,
        "patient_id": record.patient_id,
        "credentialed": record.credentialed,  # the judge keeps these samples on the site (evaluate/endpoint.py)
        **qa.extra,
    }


def is_detection_sample(sample: dict) -> bool:
    """The paper's task: the open multi-label question over the 5 superclasses (what evaluation scores)."""
    return (
        sample["task_family"] == "abnormality_detection"
        and sample.get("topic") == "superclass"
        and sample.get("style") == "open"
    )


def deduplicate(samples: list[dict]) -> tuple[list[dict], int]:
    """Drop repeats of an (image, question) pair, keeping the first; returns the rest and the count dropped."""
    seen, kept = set(), []
    for sample in samples:
        key = (sample["image"], sample["conversations"][0]["value"])
        if key not in seen:
            seen.add(key)
            kept.append(sample)
    return kept, len(samples) - len(kept)


def mix(
    samples: list[dict], per_family: Mapping[str, int | None], per_source: Mapping[str, int | None], seed: int = 0
) -> list[dict]:
    """Cap the training split: at most per_family[f] samples of family f and per_source[s] of source s
    (None or absent = no cap), chosen by a seeded shuffle. Validation and test splits are kept whole so
    that every mix is evaluated on the same questions."""
    train = [s for s in samples if s["split"] == "train"]
    random.Random(f"mix:{seed}").shuffle(train)
    families, sources = Counter(), Counter()
    kept = set()
    for sample in train:
        family, source = sample["task_family"], sample["source"]
        if _under(per_family.get(family), families[family]) and _under(per_source.get(source), sources[source]):
            families[family] += 1
            sources[source] += 1
            kept.add(sample["id"])
    return [s for s in samples if s["split"] != "train" or s["id"] in kept]


def _under(cap: int | None, count: int) -> bool:
    return cap is None or count < cap


def split_samples(samples: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {split: [] for split in SPLITS}
    for sample in samples:
        out[sample["split"]].append(sample)
    return out


def statistics(samples: list[dict]) -> dict:
    """Counts per split, family, topic, style, source and label: written beside the set, shown as a table."""
    count = lambda key: dict(sorted(Counter(s[key] for s in samples).items()))  # noqa: E731
    return {
        "n": len(samples),
        "per_split": count("split"),
        "per_family": count("task_family"),
        "per_topic": count("topic"),
        "per_style": count("style"),
        "per_source": count("source"),
        "per_label": dict(
            sorted(Counter(label for s in samples if is_detection_sample(s) for label in s["labels"]).items())
        ),
    }
