"""Abnormality detection end to end: generate answers, parse them, score them."""

from __future__ import annotations

from pathlib import Path

from ecg_core.evaluate.inference import generate_answers
from ecg_core.evaluate.metrics import detection_metrics
from ecg_core.evaluate.parse import parse_labels
from ecg_core.labels import SUPERCLASSES


def predict(model, processor, samples: list[dict], image_root: Path, *, image_size: int, batch_size: int) -> list[dict]:
    """One prediction row per sample: the raw answer, the parsed label set (None = unparsed) and the truth."""
    answers = generate_answers(model, processor, samples, image_root, image_size=image_size, batch_size=batch_size)
    rows = []
    for sample, answer in zip(samples, answers):
        parsed = parse_labels(answer)
        rows.append(
            {
                "id": sample["id"],
                "record_id": sample["record_id"],
                "answer": answer,
                "parsed": None if parsed is None else sorted(parsed),
                "truth": sample["labels"],
            }
        )
    return rows


def score(predictions: list[dict], labels: tuple[str, ...] = SUPERCLASSES) -> dict:
    truth = [set(p["truth"]) for p in predictions]
    parsed = [None if p["parsed"] is None else set(p["parsed"]) for p in predictions]
    return detection_metrics(truth, parsed, labels)
