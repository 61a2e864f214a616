"""The paper's Table I as Markdown: one row per model from metrics.json."""

from __future__ import annotations


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table_one(metrics: dict) -> str:
    """Markdown table from the `abnormality_detection` section of metrics.json."""
    rows = [
        "| model | AUC | macro F1 | Hamming loss | exact match | unparsed | n |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, m in metrics["abnormality_detection"].items():
        rows.append(
            f"| {model} | {_fmt(m['auc'])} | {_fmt(m['macro_f1'])} | {_fmt(m['hamming'])} "
            f"| {_fmt(m['exact_match'])} | {m['n_unparsed']} | {m['n']} |"
        )
    return "\n".join(rows) + "\n"
