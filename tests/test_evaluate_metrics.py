import csv
import gzip
import json
import re
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ecg_core.answers import parse_labels
from ecg_core.evaluate.grading import detection_metrics, macro_auc
from ecg_core.evaluate.leaderboard import table_one
from ecg_core.labels import SUPERCLASSES
from ecg_core.sources.ptbxl import parse_scp_codes, read_scp_statements, report_language, superclasses_for
from tests.fixtures import PTBXL_DATABASE_SUBSET, REALDATA


@pytest.mark.parametrize(
    "text, expected",
    [
        ("MI, STTC", {"MI", "STTC"}),
        ("STTC", {"STTC"}),  # no "ST"-inside-"STTC" style false matches
        ("The ECG shows myocardial infarction and hypertrophy.", {"MI", "HYP"}),
        ("NORM", {"NORM"}),
        ("none", set()),
        ("No abnormalities.", set()),
        ("MIXED findings, CDX", None),  # label codes only as whole words
        ("@@ ##", None),
        ("ST", None),  # not a class, and never STTC
        ("minimal changes", None),  # "mi" inside a word is no MI
        ("Sinus rhythm. Complete left bundle branch block.", {"CD"}),
        ("Sinus rhythm, normal axis, normal ECG.", {"NORM"}),
        ("normal sinus rhythm", None),  # a normal rhythm is not a normal ECG
        ("No signs of MI.", set()),  # negated: an explicit "nothing"
        ("Q waves in II, III, aVF consistent with an old inferior myocardial infarction.", {"MI"}),
        ("ST depression in V5, V6 without signs of infarction", {"STTC"}),
        ("without ST changes, but LVH present", {"HYP"}),  # the negation ends with its clause
        ("Moderate voltage criteria for left ventricular hypertrophy. Otherwise normal ECG.", {"NORM"}),
    ],
)
def test_parse_labels(text, expected):
    parsed = parse_labels(text)
    assert (parsed if parsed is None else set(parsed)) == expected


def test_multiple_choice_letters_mean_their_option():
    question = "Which class does this ECG show? (A) NORM (B) MI (C) STTC (D) CD (E) HYP"
    assert parse_labels("B", question=question) == {"MI"}
    assert parse_labels("(C) STTC", question=question) == {"STTC"}
    assert parse_labels("E. HYP", question=question) == {"HYP"}
    assert parse_labels("Z", question=question) is None  # not an option: unparsed, never guessed


def test_parser_on_real_ptbxl_reports():
    """The English reports of 3,419 real PTB-XL records against the records' own superclasses: what the
    parser reads is mostly right (the reports are machine statements and do not state every coded label)."""
    statements = read_scp_statements(REALDATA / "meta/scp_statements.csv")
    hits, asserted = Counter(), Counter()
    with gzip.open(PTBXL_DATABASE_SUBSET, "rt", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if report_language(row["report"]) != "en":
                continue
            truth = set(superclasses_for(parse_scp_codes(row["scp_codes"]), statements))
            for label in parse_labels(row["report"]) or ():
                asserted[label] += 1
                hits[label] += label in truth
    precision = {label: hits[label] / asserted[label] for label in asserted}
    assert sum(asserted.values()) > 3000
    assert all(precision[label] >= 0.75 for label in ("MI", "STTC", "CD", "HYP")), precision
    assert precision["NORM"] >= 0.6, precision


def test_detection_metrics_match_hand_computed_values():
    truth = [{"MI"}, {"NORM"}, {"CD", "HYP"}, {"STTC"}]
    predicted = [{"MI"}, None, {"CD"}, {"STTC", "MI"}]
    m = detection_metrics(truth, predicted, SUPERCLASSES)
    assert m["n"] == 4 and m["n_unparsed"] == 1
    # 20 label decisions, 3 wrong: NORM missed, HYP missed, MI false positive.
    assert m["hamming"] == pytest.approx(3 / 20)
    # per-label F1: NORM 0, MI 2/3, STTC 1, CD 1, HYP 0.
    assert m["macro_f1"] == pytest.approx((0 + 2 / 3 + 1 + 1 + 0) / 5)
    assert m["per_label"]["MI"] == pytest.approx(
        {"auc_hard": 5 / 6, "auc_score": None, "f1": 2 / 3, "precision": 0.5, "recall": 1.0, "support": 1}
    )
    # Hard-label AUC = balanced accuracy: NORM (1 of 4) is never predicted -> 0.5; MI 5/6; STTC, CD 1; HYP 0.5.
    assert m["auc_hard"] == pytest.approx((0.5 + 5 / 6 + 1 + 1 + 0.5) / 5) and m["auc"] == m["auc_hard"]
    assert m["auc_from"] == "hard_labels" and m["auc_score"] is None
    assert m["exact_match"] == pytest.approx(0.25)
    assert m["labels_without_auc"] == []


def test_scores_give_a_threshold_free_auc():
    truth = [{"MI"}, set(), {"MI"}, set()]
    m = detection_metrics(truth, [set()] * 4, ("MI",), scores=[[0.9], [0.2], [0.6], [0.7]])
    # Positives 0.9, 0.6 against negatives 0.2, 0.7: 3 of 4 pairs ordered right.
    assert m["auc_from"] == "scores" and m["auc"] == m["auc_score"] == pytest.approx(0.75)
    assert m["auc_hard"] == pytest.approx(0.5)  # answering "nothing" every time is chance, whatever the scores


def test_absent_labels_are_listed_not_averaged():
    truth = [{"MI"}, set(), {"MI"}]
    m = detection_metrics(truth, [{"MI"}, set(), set()], ("MI", "HYP"), scores=[[0.8, 0.1], [0.1, 0.2], [0.7, 0.3]])
    assert m["labels_without_auc"] == ["HYP"] and m["per_label"]["HYP"]["auc_score"] is None
    assert m["auc_score"] == pytest.approx(1.0) and m["auc_hard"] == pytest.approx(0.75)  # MI alone


def test_bootstrap_intervals_hold_the_point_estimate():
    rng = __import__("random").Random(0)
    truth = [{label for label in SUPERCLASSES if rng.random() < 0.3} for _ in range(200)]
    predicted = [t if rng.random() < 0.7 else {rng.choice(SUPERCLASSES)} for t in truth]
    scores = [[float(label in t) * 0.5 + rng.random() * 0.6 for label in SUPERCLASSES] for t in truth]
    m = detection_metrics(truth, predicted, SUPERCLASSES, scores=scores)
    for key in ("macro_f1", "hamming", "auc_hard", "auc_score"):
        low, high = m["ci95"][key]
        assert low <= m[key] <= high and high - low < 0.2, key
    assert detection_metrics(truth, predicted, SUPERCLASSES, scores=scores)["ci95"] == m["ci95"]  # seeded


def test_table_one_has_a_row_per_model():
    m = detection_metrics([{"MI"}, {"NORM"}], [{"MI"}, {"NORM"}], SUPERCLASSES)
    table = table_one({"abnormality_detection": {"baseline": m, "finetuned": m}})
    lines = table.strip().splitlines()
    assert lines[0].startswith("| model | AUC (scores) | AUC (hard answers) | macro F1")
    assert lines[2].startswith("| baseline | - | 1.000 [1.000-1.000] |") and lines[3].startswith("| finetuned |")


def test_the_bootstraps_fast_auc_is_sklearns():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, (300, 5))
    score = np.round(rng.random((300, 5)), 1)  # rounded: many ties
    assert macro_auc(truth, score) == pytest.approx(
        np.mean([roc_auc_score(truth[:, j], score[:, j]) for j in range(5)])
    )


def test_parser_finds_what_the_ecgbench_reports_state():
    """The 500 published ECGBench PTB-XL report answers: every report that states a class in plain words
    (not negated, not hedged) has it found."""
    reports = [
        r["conversation"][1]["value"]
        for r in json.loads((REALDATA / "reports/ptbxl_report_generation_test.json").read_text())
    ]
    stated = {
        "MI": r"\bmyocardial infarction\b",
        "CD": r"\bbundle branch block\b",
        "NORM": r"\bnormal ecg\b",
        "HYP": r"\bventricular hypertrophy\b",
    }
    checked = 0
    for report in reports:
        parsed = parse_labels(report) or frozenset()
        for label, phrase in stated.items():
            match = re.search(phrase, report, re.IGNORECASE)
            if match and not re.search(
                r"\b(?:no|not|without)\b[^.;]*$|voltage criteria for", report[: match.start()], re.IGNORECASE
            ):
                checked += 1
                assert label in parsed, (label, report)
    assert checked > 150
