"""Answers -> prediction rows -> a task's metrics, the same way for every candidate (an Mllama or an API model).

A row holds the raw answer, what it was read as (`parsed`, None = unparsed), the truth and, where the candidate
gives them, per-label scores. The truth of our own questions is the sample's labels; an imported question's
is read from its published answer by the same parser (a published answer it cannot read leaves the question out,
counted). Metrics per kind: multilabel (AUC, macro F1, Hamming; metrics.detection_metrics), choice (accuracy
with a bootstrap interval) and report (the label-based report score; the LLM judge comes on top).
"""

from __future__ import annotations

from ecg_core.answers import chosen_option, parse_labels
from ecg_core.evaluate.benchmark_tasks import Task
from ecg_core.evaluate.metrics import detection_metrics, mean_interval
from ecg_core.evaluate.privacy import is_credentialed
from ecg_core.evaluate.report_score import report_scores
from ecg_core.reading.generate import ANSWER_TOKENS, REPORT_TOKENS


def question(sample: dict) -> str:
    """The first human turn without its image placeholder: what is asked."""
    return sample["conversations"][0]["value"].removeprefix("<image>").strip()


def reference(sample: dict) -> str:
    return sample["conversations"][1]["value"]


def answer_tokens(task: Task) -> int:
    return REPORT_TOKENS if task.kind.metric == "report" else ANSWER_TOKENS


def truth_of(task: Task, sample: dict):
    """What a correct answer says: the label list, the chosen option, or the reference report; None when a
    published answer cannot be read."""
    kind = task.kind
    if kind.metric == "report":
        return reference(sample)
    if kind.metric == "choice":
        return chosen_option(question(sample), reference(sample))
    if not task.origins:
        return [label for label in kind.labels if label in sample["labels"]]
    labels = parse_labels(reference(sample), kind.labels, question(sample))
    return None if labels is None else sorted(labels)


def read_answer(task: Task, sample: dict, answer: str):
    """The answer as the task reads it: labels (sorted), an option, or the report text itself."""
    kind = task.kind
    if kind.metric == "report":
        return answer
    if kind.metric == "choice":
        return chosen_option(question(sample), answer)
    labels = parse_labels(answer, kind.labels, question(sample))
    return None if labels is None else sorted(labels)


def prediction_row(task: Task, sample: dict, answer: str, scores: dict[str, float] | None = None) -> dict:
    row = {
        "id": sample["id"],
        "record_id": sample["record_id"],
        "image": sample["image"],
        "source": sample["source"],
        "credentialed": is_credentialed(sample),
        "label_set": task.kind.name,
        "answer": answer,
        "parsed": read_answer(task, sample, answer),
        "truth": truth_of(task, sample),
    }
    return row | ({"scores": scores} if scores is not None else {})


def gradable(task: Task, samples: list[dict]) -> tuple[list[dict], list[dict]]:
    """(questions with a readable truth, [{id, reason}] for those without)."""
    kept, skipped = [], []
    for sample in samples:
        if truth_of(task, sample) is None:
            skipped.append({"id": sample["id"], "reason": f"published answer not readable as {task.kind.name}"})
        else:
            kept.append(sample)
    return kept, skipped


def accuracy_metrics(rows: list[dict]) -> dict:
    """Accuracy of chosen options with its bootstrap 95% interval; an unparsed answer counts as wrong."""
    correct = [float(r["parsed"] is not None and r["parsed"] == r["truth"]) for r in rows]
    return {
        "n": len(rows),
        "n_unparsed": sum(r["parsed"] is None for r in rows),
        "accuracy": sum(correct) / len(rows) if rows else None,
        "ci95": {"accuracy": mean_interval(correct)},
    }


def report_metrics(rows: list[dict]) -> dict:
    """The label-based report score (report_score.py) with its bootstrap 95% interval."""
    scored, summary = report_scores([{"id": r["id"], "answer": r["answer"], "reference": r["truth"]} for r in rows])
    return summary | {"ci95": {"score": mean_interval([s["score"] for s in scored])}}


def task_metrics(task: Task, rows: list[dict]) -> dict:
    """One candidate's metrics on one task."""
    kind = task.kind
    if kind.metric == "report":
        return report_metrics(rows)
    if kind.metric == "choice":
        return accuracy_metrics(rows)
    scores = (
        [[r["scores"][label] for label in kind.labels] for r in rows]
        if rows and all("scores" in r for r in rows)
        else None
    )
    truth = [set(r["truth"]) for r in rows]
    parsed = [None if r["parsed"] is None else set(r["parsed"]) for r in rows]
    return detection_metrics(truth, parsed, kind.labels, scores=scores)
