"""The paper's Table I from metrics.json: abnormality detection, then report generation.

Each table is a list of rows of text cells, rounded and with their 95% intervals, written once and shown
twice: as Markdown (the store, the terminal, the docs) and as Prefect table artifacts (the UI), so the two
never disagree."""

from __future__ import annotations


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ci(metrics: dict, key: str) -> str:
    interval = (metrics.get("ci95") or {}).get(key)
    return f"{_fmt(metrics[key])} [{_fmt(interval[0])}-{_fmt(interval[1])}]" if interval else _fmt(metrics[key])


def _score(entry: dict | None) -> str:
    score = (entry or {}).get("score")
    return "-" if score is None else f"{score:.1f}"


def markdown_table(rows: list[dict[str, object]]) -> str:
    """Rows with the same columns (the first row's keys, in order) as a Markdown table; none: no table."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def table_one_rows(metrics: dict) -> list[dict[str, object]]:
    """Detection rows: AUC from scores and from hard answers (the ECGBench convention), macro F1 and
    Hamming loss with their bootstrap 95% intervals."""
    return [
        {
            "model": model,
            "AUC (scores)": _ci(m, "auc_score"),
            "AUC (hard answers)": _ci(m, "auc_hard"),
            "macro F1": _ci(m, "macro_f1"),
            "Hamming loss": _ci(m, "hamming"),
            "exact match": _fmt(m["exact_match"]),
            "unparsed": m["n_unparsed"],
            "n": m["n"],
        }
        for model, m in metrics["abnormality_detection"].items()
    ]


def headline_rows(metrics: dict) -> list[dict[str, object]]:
    """The short Table I: AUC, macro F1 and Hamming loss of each model, its report score beside them."""
    reports = metrics.get("report_generation", {})
    return [
        {
            "model": model,
            "AUC (scores)": _ci(m, "auc_score"),
            "macro F1": _ci(m, "macro_f1"),
            "Hamming": _fmt(m["hamming"]),
            "report score (0-100)": _score(reports.get(model)),
        }
        for model, m in metrics["abnormality_detection"].items()
    ]


def report_rows(metrics: dict) -> list[dict[str, object]]:
    """Report-generation rows: mean score 0-100 with its scorer (labels, or judge:model:rubric)."""
    return [
        {
            "model": model,
            "report score (0-100)": _score(r),
            "scorer": r["scorer"],
            "n": r["n"],
            "judge failures": r.get("judge", {}).get("n_failed", "-"),
        }
        for model, r in metrics.get("report_generation", {}).items()
    ]


def table_one(metrics: dict) -> str:
    return markdown_table(table_one_rows(metrics))


def headline_table(metrics: dict) -> str:
    return markdown_table(headline_rows(metrics))


def report_table(metrics: dict) -> str:
    return markdown_table(report_rows(metrics))
