"""An evaluation's results assembled from what each model scored: its report-generation entry, metrics.json
and the inputs of the ROC curves. Pure: the caller reads and writes the store."""

from __future__ import annotations

import numpy as np

from ecg_core.evaluate.metrics import to_matrix
from ecg_core.labels import SUPERCLASSES


def report_entry(label_summary: dict, judge_summary: dict | None = None) -> dict:
    """One model's report-generation entry: the label-based score (report_scores' summary), or the judge's
    mean score when a judge scored; the label-based summary stays under "labels" either way."""
    entry = label_summary | {"labels": label_summary}
    if judge_summary is not None:
        entry |= {
            "scorer": f"judge:{judge_summary['model']}:{judge_summary['rubric']}",
            "score": judge_summary["mean_score"],
            "n": judge_summary["n_scored"],
            "judge": judge_summary,
            "ci95": {"score": judge_summary.get("ci95")},
        }
    return entry


def evaluation_metrics(
    detection: dict, reports: dict, preprocessing: dict | None, example_image: str | None, board: dict
) -> dict:
    """metrics.json: per model, its PTB-XL superclass metrics and its report-generation entry (Table I), and the
    leaderboard of every candidate on every task."""
    return {
        "label_set": "ptbxl-super",
        "preprocessing": preprocessing,
        "abnormality_detection": detection,
        "report_generation": reports,
        "example_image": example_image,
        "leaderboard": board,
    }


def roc_inputs(
    predictions: dict[str, list[dict]], labels: tuple[str, ...] = SUPERCLASSES
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """model -> (truth, scores), [n, len(labels)] arrays from its prediction rows, as roc_curves_png takes them."""
    return {
        name: (
            to_matrix([set(r["truth"]) for r in rows], labels),
            np.array([[r["scores"][label] for label in labels] for r in rows]).reshape(len(rows), len(labels)),
        )
        for name, rows in predictions.items()
    }
