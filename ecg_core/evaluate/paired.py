"""Two models on the same records: the difference of a detection metric with a paired bootstrap interval.

Each resample draws record indices once and scores both models on them, so what the records have in common
(easy or hard cases) cancels out and the interval is that of the difference, narrower than the two models'
own intervals would suggest. Only records both models answered count.
"""

from __future__ import annotations

import numpy as np

from ecg_core.evaluate.metrics import macro_auc, macro_f1_matrix, to_matrix

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
    their prediction rows on one task: {metric, n, champion, challenger, gain, ci95}; ci95 is None when no
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
