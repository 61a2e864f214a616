"""The paper's Table I as Markdown, from metrics.json: abnormality detection, then report generation."""

from __future__ import annotations


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ci(metrics: dict, key: str) -> str:
    interval = metrics.get("ci95", {}).get(key)
    return f"{_fmt(metrics[key])} [{_fmt(interval[0])}-{_fmt(interval[1])}]" if interval else _fmt(metrics[key])


def table_one(metrics: dict) -> str:
    """Detection rows: AUC from scores and from hard answers (the ECGBench convention), macro F1 and
    Hamming loss with their bootstrap 95% intervals."""
    rows = [
        "| model | AUC (scores) | AUC (hard answers) | macro F1 | Hamming loss | exact match | unparsed | n |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, m in metrics["abnormality_detection"].items():
        rows.append(
            f"| {model} | {_ci(m, 'auc_score')} | {_ci(m, 'auc_hard')} | {_ci(m, 'macro_f1')} | {_ci(m, 'hamming')} "
            f"| {_fmt(m['exact_match'])} | {m['n_unparsed']} | {m['n']} |"
        )
    return "\n".join(rows) + "\n"


def headline_table(metrics: dict) -> str:
    """The short Table I: AUC, macro F1 and Hamming loss of each model, its report score beside them."""
    reports = metrics.get("report_generation", {})
    rows = ["| model | AUC (scores) | macro F1 | Hamming | report score (0-100) |", "|---|---|---|---|---|"]
    for model, m in metrics["abnormality_detection"].items():
        score = reports.get(model, {}).get("score")
        rows.append(
            f"| {model} | {_ci(m, 'auc_score')} | {_ci(m, 'macro_f1')} | {_fmt(m['hamming'])} "
            f"| {'-' if score is None else f'{score:.1f}'} |"
        )
    return "\n".join(rows) + "\n"


def report_table(metrics: dict) -> str:
    """Report-generation rows: mean score 0-100 with its scorer (labels, or judge:model:rubric)."""
    rows = ["| model | report score (0-100) | scorer | n | judge failures |", "|---|---|---|---|---|"]
    for model, r in metrics.get("report_generation", {}).items():
        score = "-" if r["score"] is None else f"{r['score']:.1f}"
        rows.append(f"| {model} | {score} | {r['scorer']} | {r['n']} | {r.get('judge', {}).get('n_failed', '-')} |")
    return "\n".join(rows) + "\n"
