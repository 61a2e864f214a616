"""A report score that needs no external service: the diagnostic classes a generated report states,
against those its reference states (the same parser as abnormality detection, negation included).

Per report: F1 of the two label sets x 100 (two reports that both state no class score 100); a
reference that states nothing parseable is left out and counted. For CI and air-gapped sites; the LLM
judge (ecg_core.evaluate.judge) grades what this cannot: wording, rhythm, measurements.
"""

from __future__ import annotations

from ecg_core.answers import parse_labels


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
