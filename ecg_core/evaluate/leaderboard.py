"""What an evaluation shows: the leaderboard, Table I, the published figures beside them, metrics.json.

One leaderboard: candidates x benchmarks, each cell the benchmark's ECGBench metric with its 95% interval, in
ECGBench's units (percent); published figures of other models in a block of their own, never mixed in.

    multilabel   AUC (from scores; marked * when from hard labels: the candidate gave no scores), macro F1, Hamming
    choice       accuracy
    report       report score 0-100 (the judge's when one scored, else the label-based score)

The paper's Table I from metrics.json: abnormality detection, then report generation.

Each table is a list of rows of text cells, rounded and with their 95% intervals, written once and shown
twice: as Markdown (the store, the terminal, the docs) and as Prefect table artifacts (the UI), so the two
never disagree.

Published ECGBench figures of other models, shown beside our measured rows and never mixed with them.

Each figure is copied from the paper/README named in its source; none is measured here.

An evaluation's results assembled from what each model scored: its report-generation entry, metrics.json
and the inputs of the ROC curves. Pure: the caller reads and writes the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg_core.evaluate.grading import to_matrix
from ecg_core.labels import SUPERCLASSES

# Per metric kind: (metrics key, column name, interval key) of the headline figures.
HEADLINES = {
    "multilabel": (("auc", "AUC", None), ("macro_f1", "F1", "macro_f1"), ("hamming", "HL", "hamming")),
    "choice": (("accuracy", "accuracy", "accuracy"),),
    "report": (("score", "score", "score"),),
}
PUBLISHED_METRIC = {"auc": "auc", "macro_f1": "macro_f1", "hamming": "hamming", "accuracy": "accuracy"}


def cell(kind: str, metrics: dict) -> dict:
    """The headline figures of one candidate on one benchmark, in percent: {column: {value, ci95}} + counts."""
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


def leaderboard(eval_id: str, benchmarks: list[dict], rows: dict[str, dict[str, dict]]) -> dict:
    """leaderboard.json: `benchmarks` [{task, title, metric, questions, skipped, kind}] (its "tasks"), `rows` {row: {benchmark id:
    metrics}} -> cells per row and benchmark, and the published figures for the benchmarks evaluated."""
    kinds = {t["task"]: t["metric"] for t in benchmarks}
    names = {t["kind"] for t in benchmarks}
    return {
        "eval_id": eval_id,
        "tasks": benchmarks,
        "rows": {
            row: {benchmark: cell(kinds[benchmark], metrics) for benchmark, metrics in by_benchmark.items()}
            for row, by_benchmark in rows.items()
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
    """The measured rows: one per candidate, a column per benchmark and figure (all of them in every row, "-" where
    a candidate has no figure), each figure rounded with its 95% interval."""
    columns = [(benchmark["task"], h[1]) for benchmark in board["tasks"] for h in HEADLINES[benchmark["metric"]]]
    return [
        {"candidate": row}
        | {
            f"{benchmark} {figure}": _figure(cells[benchmark][figure])
            if benchmark in cells and figure in cells[benchmark]
            else "-"
            for benchmark, figure in columns
        }
        for row, cells in board["rows"].items()
    ]


def leaderboard_markdown(board: dict) -> str:
    """Measured rows first (one table: a column per benchmark and figure), then the published block."""
    lines = [
        f"# Leaderboard `{board['eval_id']}`",
        "",
        "Measured here, on the questions each benchmark lists (95% bootstrap intervals; percent, report score 0-100).",
        "",
        markdown_table(leaderboard_rows(board)).rstrip("\n"),
    ]
    lines += ["", "| benchmark | questions | skipped | metric |", "|---|---|---|---|"]
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
    """Published figures as a model x (benchmark, metric) table, each model with its source."""
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
        "| model | " + " | ".join(f"{benchmark} {metric}" for benchmark, metric in columns) + " | source |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for model in models:
        cells = [f"{value[(model, *c)]:.1f}" if (model, *c) in value else "-" for c in columns]
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {sources[model]} |")
    return lines


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


@dataclass(frozen=True)
class Published:
    model: str  # e.g. "PULSE-7B"
    task: str  # our task name: ptbxl-super, ptbxl-report, code15, ecg-qa, cpsc2018, csn, g12ec, mmmu-ecg, ecg-arena
    metric: str  # auc, macro_f1, hamming, accuracy, report_score, arena_score: in ECGBench's units (percent, 0-100)
    value: float
    source: str  # short citation: paper + table, or repo/path@commit


SOURCES = {  # key -> full citation (title, arXiv id / URL)
    "pulse": "Liu, Bai, Yue, Zhang. Teach Multimodal LLMs to Comprehend Electrocardiographic Images. "
    "arXiv:2410.19008v1 (2024), Table 3 (in-domain) and Table 4 (out-of-domain); the same tables are on the "
    "project page, github.com/AIMedLab/PULSE branch gh-pages, index.html@6fdfba0f3541daba78a338d11aa35ee9a6899d79 "
    "(https://aimedlab.github.io/PULSE/).",
    "gem": "Lan, Wu, He, Zhao, Hong, Feng. GEM: Empowering MLLM for Grounded ECG Understanding with Time Series and "
    "Images. arXiv:2503.06073v2 (NeurIPS 2025), Table 2 (abnormality detection) and Table 3 (report, ECG-QA); "
    "code github.com/lanxiang1017/GEM.",
}

_PULSE_IND = "arXiv:2410.19008v1 Table 3; aimedlab.github.io/PULSE index.html@6fdfba0"
_PULSE_OOD = "arXiv:2410.19008v1 Table 4; aimedlab.github.io/PULSE index.html@6fdfba0"
_GEM_DET = "arXiv:2503.06073v2 Table 2"
_GEM_REP = "arXiv:2503.06073v2 Table 3"

# One row per (task, metric), in ECGBench's column order; values per model in the order of _MODELS.
_MODELS = ("PULSE-7B", "GPT-4o", "GEM (SFT PULSE)", "GEM (SFT LLaVA)")
_TABLE: tuple[tuple[str, str, tuple[float | None, ...], tuple[str, str]], ...] = (
    ("ptbxl-super", "auc", (82.4, 55.6, 83.4, 81.8), (_PULSE_IND, _GEM_DET)),
    ("ptbxl-super", "macro_f1", (74.8, 28.3, 75.8, 73.6), (_PULSE_IND, _GEM_DET)),
    ("ptbxl-super", "hamming", (11.0, 26.2, 11.0, 11.6), (_PULSE_IND, _GEM_DET)),
    ("ptbxl-report", "report_score", (61.3, 50.2, 67.1, 65.0), (_PULSE_IND, _GEM_REP)),
    ("code15", "auc", (90.7, 59.9, 91.5, 90.5), (_PULSE_IND, _GEM_DET)),
    ("code15", "macro_f1", (85.4, 24.9, 86.4, 84.8), (_PULSE_IND, _GEM_DET)),
    ("code15", "hamming", (5.0, 15.7, None, None), (_PULSE_IND, _GEM_DET)),  # GEM's cell unreadable in our copy
    ("ecg-qa", "accuracy", (73.8, 35.2, 73.6, 71.0), (_PULSE_IND, _GEM_REP)),
    ("cpsc2018", "auc", (76.9, 50.9, 79.1, 74.1), (_PULSE_OOD, _GEM_DET)),
    ("cpsc2018", "macro_f1", (57.6, 10.6, None, None), (_PULSE_OOD, _GEM_DET)),  # GEM's cell unreadable in our copy
    ("cpsc2018", "hamming", (8.6, 18.2, 8.1, 9.0), (_PULSE_OOD, _GEM_DET)),
    ("csn", "accuracy", (85.2, 57.5, 86.2, 92.6), (_PULSE_OOD, _GEM_DET)),
    ("g12ec", "accuracy", (78.2, 49.2, 80.5, 81.8), (_PULSE_OOD, _GEM_DET)),
    ("mmmu-ecg", "accuracy", (58.0, 43.5, None, None), (_PULSE_OOD, _GEM_DET)),  # not in the GEM paper
    ("ecg-arena", "arena_score", (38.9, 33.5, None, None), (_PULSE_OOD, _GEM_DET)),  # not in the GEM paper
)

PUBLISHED: tuple[Published, ...] = tuple(
    Published(model, task, metric, value, pulse_src if i < 2 else gem_src)
    for task, metric, values, (pulse_src, gem_src) in _TABLE
    for i, (model, value) in enumerate(zip(_MODELS, values))
    if value is not None
)


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
    leaderboard of every candidate on every benchmark."""
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
