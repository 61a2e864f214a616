"""The deterministic report score: labels stated by the generated report against the reference's."""

import pytest

from ecg_core.evaluate.grading import report_label_score, report_scores


def test_identical_reports_score_100_and_wrong_ones_0():
    reference = "Sinus rhythm. Complete left bundle branch block. Inferior myocardial infarction."
    assert report_label_score(reference, reference)["score"] == 100.0
    assert report_label_score("Sinus rhythm. Normal ECG.", reference)["score"] == 0.0


def test_partial_reports_score_their_f1():
    reference = "Left ventricular hypertrophy with ST depression in V5, V6. Old anterior infarction."
    half = report_label_score("Left ventricular hypertrophy. No signs of infarction.", reference)
    # says HYP only (MI negated); the reference states HYP, STTC, MI: precision 1, recall 1/3
    assert (half["precision"], half["recall"]) == (1.0, pytest.approx(1 / 3))
    assert half["score"] == pytest.approx(50.0) and half["generated"] == ["HYP"]


def test_summary_leaves_out_references_that_state_nothing():
    rows = [
        {"id": "a", "answer": "Normal ECG.", "reference": "Sinus rhythm. Normal ECG."},
        {"id": "b", "answer": "Normal ECG.", "reference": "Sinus rhythm. Left axis deviation."},  # no class stated
        {"id": "c", "answer": "@@", "reference": "Complete right bundle branch block."},
    ]
    scored, summary = report_scores(rows)
    assert [s["id"] for s in scored] == ["a", "c"]
    assert summary == {
        "scorer": "labels",
        "score": 50.0,
        "precision": 0.5,
        "recall": 0.5,
        "n": 2,
        "n_reference_unparsed": 1,
    }
