"""Grading: answers read into prediction rows, and each benchmark's metrics with their intervals.

Answers -> prediction rows -> a benchmark's metrics, the same way for every candidate (an Mllama or an API model).

A row holds the raw answer, what it was read as (`parsed`, None = unparsed), the truth and, where the candidate
gives them, per-label scores. The truth of our own questions is the sample's labels; an imported question's
is read from its published answer by the same parser (a published answer it cannot read leaves the question out,
counted). Metrics per kind: multilabel (AUC, macro F1, Hamming; `detection_metrics`), choice (accuracy
with a bootstrap interval) and report (the label-based report score; the LLM judge comes on top).

A report score that needs no external service: the diagnostic classes a generated report states,
against those its reference states (the same parser as abnormality detection, negation included).

Per report: F1 of the two label sets x 100 (two reports that both state no class score 100); a
reference that states nothing parseable is left out and counted. For CI and air-gapped sites; the LLM
judge (ecg_core.evaluate.judge) grades what this cannot: wording, rhythm, measurements.

Multi-label abnormality-detection metrics with scikit-learn: AUC two ways, macro F1, Hamming loss,
bootstrap confidence intervals.

- `auc_hard`: ROC AUC of the parsed 0/1 answers, the ECGBench convention (it equals balanced accuracy),
  kept for comparability with published tables;
- `auc_score`: ROC AUC of real scores (the model's probability of each label), the true ROC AUC;
- `auc`: `auc_score` when scores are given, else `auc_hard` (`auc_from` says which).
A label absent from the test set (or present in every sample) has no AUC: it is listed in
`labels_without_auc` and left out of the macro mean, never averaged in as NaN.

Two models on the same records: the difference of a detection metric with a paired bootstrap interval.

Each resample draws record indices once and scores both models on them, so what the records have in common
(easy or hard cases) cancels out and the interval is that of the difference, narrower than the two models'
own intervals would suggest. Only records both models answered count.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import f1_score, hamming_loss, precision_score, recall_score, roc_auc_score

from ecg_core.answers import chosen_option, parse_labels
from ecg_core.evaluate.benchmarks import Benchmark, question, truth_of
from ecg_core.evaluate.endpoint import is_credentialed


def read_answer(benchmark: Benchmark, sample: dict, answer: str):
    """The answer as the benchmark reads it: labels (sorted), an option, or the report text itself."""
    kind = benchmark.kind
    if kind.metric == "report":
        return answer
    if kind.metric == "choice":
        return chosen_option(question(sample), answer)
    labels = parse_labels(answer, kind.labels, question(sample))
    return None if labels is None else sorted(labels)


def prediction_row(benchmark: Benchmark, sample: dict, answer: str, scores: dict[str, float] | None = None) -> dict:
    row = {
        "id": sample["id"],
        "record_id": sample["record_id"],
        "image": sample["image"],
        "source": sample["source"],
        "credentialed": is_credentialed(sample),
        "label_set": benchmark.kind.name,
        "answer": answer,
        "parsed": read_answer(benchmark, sample, answer),
        "truth": truth_of(benchmark, sample),
    }
    return row | ({"scores": scores} if scores is not None else {})


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
    """The label-based report score (`report_scores` below) with its bootstrap 95% interval."""
    scored, summary = report_scores([{"id": r["id"], "answer": r["answer"], "reference": r["truth"]} for r in rows])
    return summary | {"ci95": {"score": mean_interval([s["score"] for s in scored])}}


def benchmark_metrics(benchmark: Benchmark, rows: list[dict]) -> dict:
    """One candidate's metrics on one benchmark."""
    kind = benchmark.kind
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


def report_label_score(generated: str, reference: str) -> dict | None:
    """{"score", "precision", "recall", "generated", "reference"} or None when the reference states nothing."""
    truth = parse_labels(reference)
    if truth is None:
        return None
    said = parse_labels(generated) or frozenset()
    hits = len(said & truth)
    precision = hits / len(said) if said else float(not truth)
    recall = hits / len(truth) if truth else float(not said)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "score": 100.0 * f1,
        "precision": precision,
        "recall": recall,
        "generated": sorted(said),
        "reference": sorted(truth),
    }


def report_scores(rows: list[dict]) -> tuple[list[dict], dict]:
    """Scores of prediction rows ({"id", "answer", "reference"}) and their summary (mean score 0-100, n)."""
    scored = [{"id": r["id"]} | s for r in rows if (s := report_label_score(r["answer"], r["reference"])) is not None]
    mean = lambda key: sum(s[key] for s in scored) / len(scored) if scored else None  # noqa: E731
    summary = {
        "scorer": "labels",
        "score": mean("score"),
        "precision": mean("precision"),
        "recall": mean("recall"),
        "n": len(scored),
        "n_reference_unparsed": len(rows) - len(scored),
    }
    return scored, summary


N_BOOTSTRAP = 500  # resamples for the 95% intervals: ~1 s for 1,000 samples x 5 labels


def to_matrix(label_sets: list, labels: tuple[str, ...]) -> np.ndarray:
    """[n, len(labels)] 0/1 matrix; an unparsed answer (None) predicts no label."""
    return np.array([[int(bool(s) and label in s) for label in labels] for s in label_sets], dtype=int).reshape(
        len(label_sets), len(labels)
    )


def _auc(truth: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(truth, score)) if 0 < truth.sum() < len(truth) else None


def _rank_auc(truth: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney U statistic (ties averaged, as roc_auc_score): 100x faster, for the
    bootstrap's thousands of calls."""
    positives = int(truth.sum())
    negatives = len(truth) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(score)
    return float((ranks[truth == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def macro_auc(y_true: np.ndarray, y_score: np.ndarray) -> float | None:
    aucs = [a for j in range(y_true.shape[1]) if (a := _rank_auc(y_true[:, j], y_score[:, j])) is not None]
    return float(np.mean(aucs)) if aucs else None


def macro_f1_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Vectorised sklearn f1_score(average="macro", zero_division=0): the bootstrap calls it hundreds of times."""
    tp = (y_true & y_pred).sum(axis=0)
    denominator = y_true.sum(axis=0) + y_pred.sum(axis=0)
    return float(np.mean(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)))


def bootstrap_ci(y_true, y_pred, y_score, n_boot: int = N_BOOTSTRAP, seed: int = 0) -> dict[str, list[float] | None]:
    """95% percentile intervals of macro F1, Hamming loss and both AUCs over resampled test samples."""
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {"macro_f1": [], "hamming": [], "auc_hard": [], "auc_score": []}
    for _ in range(n_boot if len(y_true) else 0):
        rows = rng.integers(0, len(y_true), len(y_true))
        t, p = y_true[rows], y_pred[rows]
        draws["macro_f1"].append(macro_f1_matrix(t, p))
        draws["hamming"].append(float((t != p).mean()))
        for key, score in (("auc_hard", p.astype(float)), ("auc_score", None if y_score is None else y_score[rows])):
            if score is not None and (auc := macro_auc(t, score)) is not None:
                draws[key].append(auc)
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v else None for k, v in draws.items()}


def mean_interval(values, n_boot: int = N_BOOTSTRAP, seed: int = 0) -> list[float] | None:
    """95% percentile bootstrap interval of a mean (accuracy over 0/1 outcomes, a mean report score)."""
    values = np.asarray(values, dtype=float)
    if not len(values):
        return None
    rng = np.random.default_rng(seed)
    draws = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(axis=1)
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]


def detection_metrics(
    truth: list, predicted: list, labels: tuple[str, ...], scores: np.ndarray | None = None, n_boot: int = N_BOOTSTRAP
) -> dict:
    """Metrics over parsed answers (None = unparsed, counts as predicting nothing); `scores`
    ([n, len(labels)] per-label probabilities) add the score-based AUC."""
    y_true = to_matrix(truth, labels)
    y_pred = to_matrix(predicted, labels)
    y_score = None if scores is None else np.asarray(scores, dtype=float).reshape(len(truth), len(labels))
    per_label = {}
    for j, label in enumerate(labels):
        per_label[label] = {
            "auc_hard": _auc(y_true[:, j], y_pred[:, j].astype(float)),
            "auc_score": None if y_score is None else _auc(y_true[:, j], y_score[:, j]),
            "f1": float(f1_score(y_true[:, j], y_pred[:, j], zero_division=0)),
            "precision": float(precision_score(y_true[:, j], y_pred[:, j], zero_division=0)),
            "recall": float(recall_score(y_true[:, j], y_pred[:, j], zero_division=0)),
            "support": int(y_true[:, j].sum()),
        }
    auc_hard = macro_auc(y_true, y_pred.astype(float))
    auc_score = None if y_score is None else macro_auc(y_true, y_score)
    return {
        "labels": list(labels),
        "n": len(truth),
        "n_unparsed": sum(p is None for p in predicted),
        "auc": auc_hard if y_score is None else auc_score,
        "auc_from": "hard_labels" if y_score is None else "scores",
        "auc_hard": auc_hard,
        "auc_score": auc_score,
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "hamming": float(hamming_loss(y_true, y_pred)) if len(truth) else 0.0,
        "exact_match": float((y_true == y_pred).all(axis=1).mean()) if len(truth) else 0.0,
        "labels_without_auc": [label for label, m in per_label.items() if m["auc_hard"] is None],
        "ci95": bootstrap_ci(y_true, y_pred, y_score, n_boot),
        "per_label": per_label,
    }


N_PAIRED = 2000  # paired resamples: ~1 s for 1,000 records x 5 labels
LOWER_IS_BETTER = {"hamming"}


def _score(metric: str, truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None) -> float | None:
    if metric == "macro_f1":
        return macro_f1_matrix(truth, predicted)
    if metric == "hamming":
        return float((truth != predicted).mean())
    if metric == "auc":  # from the answer likelihoods when both models gave them, else from the 0/1 answers
        return macro_auc(truth, predicted.astype(float) if scores is None else scores)
    raise ValueError(f"metric {metric!r}: expected macro_f1, hamming or auc")


def _arrays(rows: list[dict], labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray | None]:
    predicted = to_matrix([None if r["parsed"] is None else set(r["parsed"]) for r in rows], labels)
    with_scores = rows and all("scores" in r for r in rows)
    scores = np.array([[r["scores"][label] for label in labels] for r in rows]) if with_scores else None
    return predicted, scores


def paired_gain(
    champion: list[dict],
    challenger: list[dict],
    labels: tuple[str, ...],
    metric: str,
    n_boot: int = N_PAIRED,
    seed: int = 0,
) -> dict:
    """The challenger's gain over the champion on `metric` (positive: better, also for Hamming loss), from
    their prediction rows on one benchmark: {metric, n, champion, challenger, gain, ci95}; ci95 is None when no
    resample could score both (an AUC with one class only)."""
    by_id = {row["id"]: row for row in champion}
    pairs = [(by_id[row["id"]], row) for row in challenger if row["id"] in by_id]
    if not pairs:
        raise ValueError("the champion and the challenger answered no record in common")
    truth = to_matrix([set(old["truth"]) for old, _ in pairs], labels)
    (old_pred, old_scores), (new_pred, new_scores) = (_arrays([p[i] for p in pairs], labels) for i in (0, 1))
    if old_scores is None or new_scores is None:
        old_scores = new_scores = None  # both AUCs from the same kind of input
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0

    def both(rows: np.ndarray) -> tuple[float | None, float | None]:
        return (
            _score(metric, truth[rows], old_pred[rows], None if old_scores is None else old_scores[rows]),
            _score(metric, truth[rows], new_pred[rows], None if new_scores is None else new_scores[rows]),
        )

    old, new = both(np.arange(len(pairs)))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        a, b = both(rng.integers(0, len(pairs), len(pairs)))
        if a is not None and b is not None:
            draws.append(sign * (b - a))
    return {
        "metric": metric,
        "n": len(pairs),
        "champion": old,
        "challenger": new,
        "gain": None if old is None or new is None else sign * (new - old),
        "ci95": [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))] if draws else None,
    }
