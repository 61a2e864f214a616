"""An Mllama candidate (the base checkpoint, or base + a run's adapter) answering a task's questions, resumable.
Prediction rows carry their task's label set, so a file made for another task is refused."""

from __future__ import annotations

from pathlib import Path

from ecg_core.evaluate.benchmark_tasks import Task
from ecg_core.evaluate.grading import answer_tokens, prediction_row
from ecg_core.model.page_tiles import PagePreprocessing
from ecg_core.reading.generate import generate_answers
from ecg_core.reading.scores import label_scores


def predict(
    model, processor, task: Task, samples: list[dict], image_root: Path, *, pages: PagePreprocessing, batch_size: int
) -> list[dict]:
    """One prediction row per sample: the greedy answer read by the task, and for a multilabel task each label's
    probability as the answer (the score-based AUC)."""
    answers = generate_answers(
        model, processor, samples, image_root, pages=pages, batch_size=batch_size, max_new_tokens=answer_tokens(task)
    )
    labels = task.kind.labels if task.kind.metric == "multilabel" else ()
    probabilities = (
        label_scores(model, processor, samples, image_root, labels, pages=pages, batch_size=batch_size)
        if labels
        else [None] * len(samples)
    )
    return [
        prediction_row(task, s, a, None if p is None else dict(zip(labels, map(float, p))))
        for s, a, p in zip(samples, answers, probabilities)
    ]


def check_label_set(predictions: list[dict], where: str, label_set: str) -> None:
    other = {r.get("label_set") for r in predictions} - {label_set}
    if other:
        raise ValueError(
            f"{where}: predictions for label set {sorted(map(str, other))}, not {label_set!r}; "
            "score them with their own label set or predict again"
        )
