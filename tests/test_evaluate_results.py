"""The evaluation's results assembled from per-model scores: report entries, metrics.json, Table I's rows, ROC inputs."""

import numpy as np

from ecg_core.evaluate.leaderboard import (
    evaluation_metrics,
    headline_rows,
    markdown_table,
    report_entry,
    roc_inputs,
    table_one_rows,
)

LABELS = {"scorer": "labels", "score": 60.0, "n": 4}
JUDGE = {"model": "gpt-4o", "rubric": "paper", "mean_score": 71.5, "n_scored": 3, "n_failed": 1}
DETECTION = {
    "baseline": {"auc_score": 0.5, "auc_hard": 0.5, "macro_f1": 0.1, "hamming": 0.4, "exact_match": 0.0}
    | {"n_unparsed": 2, "n": 4, "per_label": {}},
    "cnn-signal": {"auc_score": 0.9, "auc_hard": 0.8, "macro_f1": 0.7, "hamming": 0.1, "exact_match": 0.5}
    | {"n_unparsed": 0, "n": 4},
}


def test_a_report_entry_keeps_the_label_score_beside_a_judge_score():
    assert report_entry(LABELS) == LABELS | {"labels": LABELS}
    judged = report_entry(LABELS, JUDGE)
    assert judged["scorer"] == "judge:gpt-4o:paper" and judged["score"] == 71.5 and judged["n"] == 3
    assert judged["judge"] == JUDGE and judged["labels"] == LABELS


def test_metrics_json_and_table_one_rows_name_every_model():
    reports = {"baseline": report_entry(LABELS)}
    metrics = evaluation_metrics(DETECTION, reports, {"max_tiles": 1}, "images/x/0.png", {"rows": {}})
    assert metrics["label_set"] == "ptbxl-super" and metrics["abnormality_detection"] is DETECTION
    assert metrics["report_generation"] is reports and metrics["example_image"] == "images/x/0.png"
    rows = headline_rows(metrics)
    assert [r["model"] for r in rows] == ["baseline", "cnn-signal"]
    assert rows[0]["report score (0-100)"] == "60.0" and rows[1]["report score (0-100)"] == "-"  # a CNN writes none
    assert rows[1]["AUC (scores)"] == "0.900" and list(rows[0]) == list(rows[1])


def test_table_rows_carry_their_intervals_and_the_markdown_shows_the_same_cells():
    detection = {"finetuned": DETECTION["cnn-signal"] | {"ci95": {"macro_f1": [0.61, 0.784], "auc_score": None}}}
    rows = table_one_rows({"abnormality_detection": detection})
    assert rows[0]["macro F1"] == "0.700 [0.610-0.784]" and rows[0]["AUC (scores)"] == "0.900"
    lines = markdown_table(rows).splitlines()
    assert lines[0].startswith("| model | AUC (scores) | AUC (hard answers) | macro F1 |") and len(lines) == 3
    assert lines[2] == "| finetuned | 0.900 | 0.800 | 0.700 [0.610-0.784] | 0.100 | 0.500 | 0 | 4 |"
    assert markdown_table([]) == ""


def test_roc_inputs_are_truth_and_score_matrices_in_label_order():
    rows = [
        {"truth": ["MI"], "scores": {"NORM": 0.1, "MI": 0.8}},
        {"truth": ["NORM"], "scores": {"NORM": 0.7, "MI": 0.2}},
    ]
    truth, scores = roc_inputs({"finetuned": rows, "empty": []}, ("NORM", "MI"))["finetuned"]
    assert truth.tolist() == [[0, 1], [1, 0]]
    np.testing.assert_allclose(scores, [[0.1, 0.8], [0.7, 0.2]])
    assert [a.shape for a in roc_inputs({"empty": []}, ("NORM", "MI"))["empty"]] == [(0, 2), (0, 2)]
