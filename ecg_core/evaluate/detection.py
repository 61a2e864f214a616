"""Abnormality detection and report generation end to end: answers (and label scores) per sample, then
scores. Prediction rows carry their label set, so a file made for another label set is refused."""

from __future__ import annotations

from pathlib import Path

from ecg_core.evaluate.inference import generate_answers
from ecg_core.evaluate.metrics import detection_metrics
from ecg_core.evaluate.parse import parse_labels
from ecg_core.evaluate.privacy import is_credentialed
from ecg_core.evaluate.scores import label_scores
from ecg_core.labels import SUPERCLASSES
from ecg_core.model.pages import PagePreprocessing

LABEL_SET = "ptbxl-superclass"  # what the detection rows are labelled in
REPORT_TOKENS = 160  # the longest template and translated PTB-XL reports stay below this


def predict(
    model,
    processor,
    samples: list[dict],
    image_root: Path,
    *,
    pages: PagePreprocessing,
    batch_size: int,
    labels: tuple[str, ...] = SUPERCLASSES,
) -> list[dict]:
    """One row per sample: raw answer, parsed labels (None = unparsed), truth, and each label's probability."""
    answers = generate_answers(model, processor, samples, image_root, pages=pages, batch_size=batch_size)
    probabilities = label_scores(model, processor, samples, image_root, labels, pages=pages, batch_size=batch_size)
    rows = []
    for sample, answer, p in zip(samples, answers, probabilities):
        parsed = parse_labels(answer, labels, question=sample["conversations"][0]["value"])
        rows.append(
            {
                "id": sample["id"],
                "record_id": sample["record_id"],
                "label_set": LABEL_SET,
                "answer": answer,
                "parsed": None if parsed is None else sorted(parsed),
                "truth": sample["labels"],
                "scores": dict(zip(labels, map(float, p))),
            }
        )
    return rows


def predict_reports(
    model, processor, samples: list[dict], image_root: Path, *, pages: PagePreprocessing, batch_size: int
) -> list[dict]:
    """One row per report sample: the generated report beside the reference, and where the record came from."""
    answers = generate_answers(
        model, processor, samples, image_root, pages=pages, batch_size=batch_size, max_new_tokens=REPORT_TOKENS
    )
    return [
        {
            "id": s["id"],
            "record_id": s["record_id"],
            "image": s["image"],
            "source": s["source"],
            "credentialed": is_credentialed(s),
            "answer": a,
            "reference": s["conversations"][1]["value"],
        }
        for s, a in zip(samples, answers)
    ]


def check_label_set(predictions: list[dict], where: str, label_set: str = LABEL_SET) -> None:
    other = {r.get("label_set") for r in predictions} - {label_set}
    if other:
        raise ValueError(
            f"{where}: predictions for label set {sorted(map(str, other))}, not {label_set!r}; "
            "score them with their own label set or predict again"
        )


def score(predictions: list[dict], labels: tuple[str, ...] = SUPERCLASSES, where: str = "predictions") -> dict:
    check_label_set(predictions, where)
    truth = [set(p["truth"]) for p in predictions]
    parsed = [None if p["parsed"] is None else set(p["parsed"]) for p in predictions]
    scores = (
        [[p["scores"][label] for label in labels] for p in predictions]
        if all("scores" in p for p in predictions)
        else None
    )
    return detection_metrics(truth, parsed, labels, scores=scores if predictions else None)


def resume(samples: list[dict], done: list[dict], predict_chunk, save, chunk: int = 64) -> list[dict]:
    """Predict what `done` lacks, `chunk` samples at a time, calling `save(all rows so far)` after each chunk,
    so an interrupted evaluation restarts where it stopped. Rows come back in the samples' order."""
    have = {r["id"] for r in done}
    todo = [s for s in samples if s["id"] not in have]
    rows = list(done)
    for start in range(0, len(todo), chunk):
        rows += predict_chunk(todo[start : start + chunk])
        save(rows)
    order = {s["id"]: i for i, s in enumerate(samples)}
    return sorted((r for r in rows if r["id"] in order), key=lambda r: order[r["id"]])
