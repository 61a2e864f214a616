"""One leaderboard: candidates x tasks, each cell the task's ECGBench metric with its 95% interval, in
ECGBench's units (percent); published figures of other models in a block of their own, never mixed in.

    multilabel   AUC (from scores; marked * when from hard labels: the candidate gave no scores), macro F1, Hamming
    choice       accuracy
    report       report score 0-100 (the judge's when one scored, else the label-based score)
"""

from __future__ import annotations

from ecg_core.evaluate.published import PUBLISHED, SOURCES
from ecg_core.evaluate.table import markdown_table

# Per metric kind: (metrics key, column name, interval key) of the headline figures.
HEADLINES = {
    "multilabel": (("auc", "AUC", None), ("macro_f1", "F1", "macro_f1"), ("hamming", "HL", "hamming")),
    "choice": (("accuracy", "accuracy", "accuracy"),),
    "report": (("score", "score", "score"),),
}
PUBLISHED_METRIC = {"auc": "auc", "macro_f1": "macro_f1", "hamming": "hamming", "accuracy": "accuracy"}


def cell(kind: str, metrics: dict) -> dict:
    """The headline figures of one candidate on one task, in percent: {column: {value, ci95}} + counts."""
    out = {}
    for key, column, interval in HEADLINES[kind]:
        hard = key == "auc" and metrics.get("auc_from") != "scores"  # no scores: the hard-label AUC, marked
        if key == "auc":
            interval = "auc_hard" if hard else "auc_score"
        value = metrics.get(key)
        bounds = (metrics.get("ci95") or {}).get(interval)
        scale = 1.0 if kind == "report" else 100.0
        out[column] = {
            "value": None if value is None else value * scale,
            "ci95": None if not bounds else [b * scale for b in bounds],
        } | ({"from_hard_labels": True} if hard else {})
    return out | {"n": metrics.get("n"), "n_unparsed": metrics.get("n_unparsed")}


def leaderboard(eval_id: str, tasks: list[dict], rows: dict[str, dict[str, dict]]) -> dict:
    """leaderboard.json: `tasks` [{task, title, metric, questions, skipped, kind}], `rows` {row: {task:
    metrics}} -> cells per row and task, and the published figures for the tasks evaluated."""
    kinds = {t["task"]: t["metric"] for t in tasks}
    names = {t["kind"] for t in tasks}
    return {
        "eval_id": eval_id,
        "tasks": tasks,
        "rows": {
            row: {task: cell(kinds[task], metrics) for task, metrics in by_task.items()}
            for row, by_task in rows.items()
        },
        "published": [p.__dict__ for p in PUBLISHED if p.task in names],
        "published_sources": SOURCES,
    }


def _figure(entry: dict) -> str:
    if entry["value"] is None:
        return "-"
    bounds = entry["ci95"]
    mark = "*" if entry.get("from_hard_labels") else ""
    return f"{entry['value']:.1f}{mark}" + (f" [{bounds[0]:.1f}-{bounds[1]:.1f}]" if bounds else "")


def leaderboard_rows(board: dict) -> list[dict[str, str]]:
    """The measured rows: one per candidate, a column per task and figure (all of them in every row, "-" where
    a candidate has no figure), each figure rounded with its 95% interval."""
    columns = [(task["task"], h[1]) for task in board["tasks"] for h in HEADLINES[task["metric"]]]
    return [
        {"candidate": row}
        | {
            f"{task} {figure}": _figure(cells[task][figure]) if task in cells and figure in cells[task] else "-"
            for task, figure in columns
        }
        for row, cells in board["rows"].items()
    ]


def leaderboard_markdown(board: dict) -> str:
    """Measured rows first (one table: a column per task and figure), then the published block."""
    lines = [
        f"# Leaderboard `{board['eval_id']}`",
        "",
        "Measured here, on the questions each task lists (95% bootstrap intervals; percent, report score 0-100).",
        "",
        markdown_table(leaderboard_rows(board)).rstrip("\n"),
    ]
    lines += ["", "| task | questions | skipped | metric |", "|---|---|---|---|"]
    lines += [f"| {t['task']} | {t['questions']} | {t['skipped']} | {t['metric']} |" for t in board["tasks"]]
    if any(c.get("AUC", {}).get("from_hard_labels") for r in board["rows"].values() for c in r.values()):
        lines += [
            "",
            "*: AUC from hard labels (the candidate gave no scores: no log-probabilities), as ECGBench scores it.",
        ]
    if board["published"]:
        lines += ["", "## Published, not measured here", "", *published_markdown(board["published"])]
        lines += [""] + [f"- {key}: {text}" for key, text in board["published_sources"].items()]
    return "\n".join(lines) + "\n"


def published_markdown(published: list[dict]) -> list[str]:
    """Published figures as a model x (task, metric) table, each model with its source."""
    columns = list(dict.fromkeys((p["task"], p["metric"]) for p in published))
    models = list(dict.fromkeys(p["model"] for p in published))
    value = {(p["model"], p["task"], p["metric"]): p["value"] for p in published}
    sources = {
        model: "; ".join(dict.fromkeys(p["source"] for p in published if p["model"] == model)) for model in models
    }
    lines = [
        "Figures other papers report on ECGBench's own test sets (real ECGs, their images), in percent: for "
        "orientation, not comparable cell by cell with rows measured on another store.",
        "",
        "| model | " + " | ".join(f"{task} {metric}" for task, metric in columns) + " | source |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for model in models:
        cells = [f"{value[(model, *c)]:.1f}" if (model, *c) in value else "-" for c in columns]
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {sources[model]} |")
    return lines
