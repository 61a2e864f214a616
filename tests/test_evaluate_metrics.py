import pytest

from ecg_core.evaluate.metrics import detection_metrics
from ecg_core.evaluate.parse import parse_labels
from ecg_core.evaluate.table import table_one
from ecg_core.labels import SUPERCLASSES


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
    ],
)
def test_parse_labels(text, expected):
    parsed = parse_labels(text)
    assert (parsed if parsed is None else set(parsed)) == expected


def test_detection_metrics_match_hand_computed_values():
    truth = [{"MI"}, {"NORM"}, {"CD", "HYP"}, {"STTC"}]
    predicted = [{"MI"}, None, {"CD"}, {"STTC", "MI"}]
    m = detection_metrics(truth, predicted, SUPERCLASSES)
    assert m["n"] == 4 and m["n_unparsed"] == 1
    # 20 label decisions, 3 wrong: NORM missed, HYP missed, MI false positive.
    assert m["hamming"] == pytest.approx(3 / 20)
    # per-label F1: NORM 0, MI 2/3, STTC 1, CD 1, HYP 0.
    assert m["macro_f1"] == pytest.approx((0 + 2 / 3 + 1 + 1 + 0) / 5)
    assert m["per_label"]["MI"] == pytest.approx({"auc": 5 / 6, "f1": 2 / 3, "precision": 0.5, "recall": 1.0, "support": 1})
    assert m["auc_from"] == "hard_labels"
    assert m["exact_match"] == pytest.approx(0.25)


def test_scores_give_a_threshold_free_auc():
    truth = [{"MI"}, set(), {"MI"}, set()]
    m = detection_metrics(truth, [set()] * 4, ("MI",), scores=[[0.9], [0.2], [0.6], [0.7]])
    assert m["auc_from"] == "scores" and m["auc"] == pytest.approx(0.75)


def test_table_one_has_a_row_per_model():
    m = detection_metrics([{"MI"}, {"NORM"}], [{"MI"}, {"NORM"}], SUPERCLASSES)
    table = table_one({"abnormality_detection": {"baseline": m, "finetuned": m}})
    lines = table.strip().splitlines()
    assert lines[0].startswith("| model | AUC | macro F1")
    assert lines[2].startswith("| baseline | 1.000 |") and lines[3].startswith("| finetuned |")
