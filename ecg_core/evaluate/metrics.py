"""Multi-label abnormality-detection metrics (AUC, macro F1, Hamming loss) with scikit-learn."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, hamming_loss, precision_score, recall_score, roc_auc_score


def to_matrix(label_sets: list, labels: tuple[str, ...]) -> np.ndarray:
    """[n, len(labels)] 0/1 matrix; an unparsed answer (None) predicts no label."""
    return np.array([[int(bool(s) and label in s) for label in labels] for s in label_sets], dtype=int).reshape(
        len(label_sets), len(labels)
    )


def _auc(truth: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(truth, score)) if 0 < truth.sum() < len(truth) else None


def detection_metrics(
    truth: list, predicted: list, labels: tuple[str, ...], scores: np.ndarray | None = None
) -> dict:
    """Metrics over parsed answers.

    `scores` ([n, len(labels)] per-label probabilities) gives a real ROC AUC; without them the AUC is
    computed from the 0/1 answers, where it equals balanced accuracy — `auc_from` records which.
    Labels absent from the truth (or always present) have no AUC and are left out of its macro mean.
    """
    y_true = to_matrix(truth, labels)
    y_pred = to_matrix(predicted, labels)
    y_score = y_pred.astype(float) if scores is None else np.asarray(scores, dtype=float)
    per_label = {}
    for j, label in enumerate(labels):
        per_label[label] = {
            "auc": _auc(y_true[:, j], y_score[:, j]),
            "f1": float(f1_score(y_true[:, j], y_pred[:, j], zero_division=0)),
            "precision": float(precision_score(y_true[:, j], y_pred[:, j], zero_division=0)),
            "recall": float(recall_score(y_true[:, j], y_pred[:, j], zero_division=0)),
            "support": int(y_true[:, j].sum()),
        }
    aucs = [v["auc"] for v in per_label.values() if v["auc"] is not None]
    return {
        "labels": list(labels),
        "n": len(truth),
        "n_unparsed": sum(p is None for p in predicted),
        "auc": float(np.mean(aucs)) if aucs else None,
        "auc_from": "hard_labels" if scores is None else "scores",
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "hamming": float(hamming_loss(y_true, y_pred)),
        "exact_match": float((y_true == y_pred).all(axis=1).mean()) if len(truth) else 0.0,
        "per_label": per_label,
    }
