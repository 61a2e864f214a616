"""The promotion rule (ecg_core/promotion.py): champion and challenger compared on the same records with a
paired bootstrap, a challenger promoted only when the lower bound of its gain reaches the margin and it is not
significantly worse on the champion's regression set."""

import numpy as np
import pytest

from ecg_core import layout
from ecg_core.evaluate.grading import bootstrap_ci, paired_gain, to_matrix
from ecg_core.labels import SUPERCLASSES
from ecg_core.promotion import (
    against_current_champion,
    challenge,
    decide,
    example_readings,
    regression_set,
    signed_off,
)
from ecg_core.record_store import write_records
from ecg_core.registry import open_slot
from ecg_core.store import LocalStore
from tests.factories import make_record

TRUTHS = [["NORM"], ["MI"], ["STTC"], ["CD"], ["HYP"]]


def rows(n: int, wrong: set[int], offset: int = 0) -> list[dict]:
    """Prediction rows for records offset..offset+n: right, except those in `wrong` (answered NORM, or MI for NORM)."""
    out = []
    for i in range(offset, offset + n):
        truth = TRUTHS[i % len(TRUTHS)]
        parsed = (["MI"] if truth == ["NORM"] else ["NORM"]) if i in wrong else truth
        out.append({"id": f"q{i}", "truth": truth, "parsed": parsed})
    return out


def test_the_gain_is_paired_narrower_than_the_two_models_own_intervals():
    champion = rows(200, wrong=set(range(0, 200, 4)))  # 50 wrong
    challenger = rows(200, wrong=set(range(0, 200, 5)) & set(range(0, 200, 4)))  # 10 of those still wrong
    gain = paired_gain(champion, challenger, SUPERCLASSES, "macro_f1")
    assert gain["n"] == 200 and gain["gain"] == pytest.approx(gain["challenger"] - gain["champion"])
    assert gain["ci95"][0] > 0.1  # clearly better on the same records

    def own_interval(answers):  # each model's own interval, as the leaderboard shows it
        truth = to_matrix([set(r["truth"]) for r in answers], SUPERCLASSES)
        predicted = to_matrix([set(r["parsed"]) for r in answers], SUPERCLASSES)
        return bootstrap_ci(truth, predicted, None)["macro_f1"]

    width = gain["ci95"][1] - gain["ci95"][0]
    assert width < np.diff(own_interval(champion))[0] + np.diff(own_interval(challenger))[0]


def test_identical_models_tie_and_hamming_counts_lower_as_better():
    same = rows(50, wrong={1, 2, 3})
    tie = paired_gain(same, same, SUPERCLASSES, "macro_f1")
    assert tie["gain"] == 0 and tie["ci95"] == [0.0, 0.0]
    better = paired_gain(rows(50, wrong={1, 2, 3}), rows(50, wrong={1}), SUPERCLASSES, "hamming")
    assert better["gain"] > 0 and better["challenger"] < better["champion"]  # fewer errors: a positive gain
    only_shared = paired_gain(rows(50, wrong=set()), rows(60, wrong=set(), offset=40), SUPERCLASSES, "macro_f1")
    assert only_shared["n"] == 10  # records both answered


def compared(low: float, high: float, split: str = "new/test") -> dict:
    """A comparison whose gain has the interval [low, high]."""
    gain = (low + high) / 2
    return {"metric": "macro_f1", "n": 100, "champion": 0.5, "challenger": 0.5 + gain, "gain": gain} | {
        "ci95": [low, high],
        "split": split,
    }


@pytest.mark.parametrize(
    "current, regression, margin, promote, why",
    [
        (None, None, 0.0, True, "no champion yet"),
        (compared(0.01, 0.09), None, 0.0, True, "no regression set"),
        (compared(-0.02, 0.09), None, 0.0, False, "lower bound is below the margin 0.0"),
        (compared(0.01, 0.09), None, 0.02, False, "lower bound is below the margin 0.02"),
        (compared(0.01, 0.09), compared(-0.04, 0.03, "old/test"), 0.0, True, "not worse on the regression set"),
        (compared(0.01, 0.09), compared(-0.09, -0.01, "old/test"), 0.0, False, "significantly worse"),
    ],
)
def test_the_rule(current, regression, margin, promote, why):
    decision = decide(current, regression, margin, "no regression set")
    assert decision["promote"] is promote and why in decision["reason"]
    assert decision["current"] is current and decision["min_margin"] == margin


def test_better_on_its_own_split_but_worse_on_the_shared_records_is_not_promoted(tmp_path):
    """The old rule compared the challenger's figure on the split it was built with against the figure the
    champion got on its own older split; here that would promote (0.80 > 0.50), the shared records say no."""
    store = LocalStore(tmp_path)
    store.put_jsonl(layout.split_key("old", "test"), [{"id": "q0"}])
    champion = {"run_id": "old", "metrics": {"macro_f1": 0.50}, "regression_set": regression_set(store, "old")}
    predictions = {  # (set, row) -> prediction rows in evaluation "new"
        ("new", "champion"): rows(100, wrong=set(range(0, 100, 10))),
        ("new", "finetuned"): rows(100, wrong=set(range(0, 100, 4))),
        ("old", "champion"): rows(40, wrong={1}),
        ("old", "finetuned"): rows(40, wrong={1, 2, 3}),
    }
    for (instruct, row), answers in predictions.items():
        store.put_jsonl(layout.predictions_key("new", instruct, "ptbxl-super", row), answers)
    decision = challenge(store, "new", "new", champion, "macro_f1", 0.0)
    current = decision["current"]
    assert current["challenger"] > champion["metrics"]["macro_f1"] + 0.01  # the old rule's promotion
    assert not decision["promote"] and current["ci95"][1] < 0 and "below the margin" in decision["reason"]
    assert (current["split"], current["n"], decision["regression"]["split"]) == ("new/test", 100, "old/test")
    assert decision["champion_run"] == "old"


def test_a_regression_set_changed_since_promotion_is_said_and_not_used(tmp_path):
    store = LocalStore(tmp_path)
    store.put_jsonl(layout.split_key("old", "test"), [{"id": "q0"}])
    champion = {"run_id": "old", "regression_set": regression_set(store, "old")}
    store.put_jsonl(layout.split_key("old", "test"), [{"id": "q0"}, {"id": "q1"}])  # rebuilt since
    for row, wrong in (("champion", {1, 2}), ("finetuned", set())):
        store.put_jsonl(layout.predictions_key("new", "new", "ptbxl-super", row), rows(100, wrong=wrong))
    decision = challenge(store, "new", "new", champion, "macro_f1", 0.0)
    assert decision["regression"] is None and "the test split of old changed" in decision["reason"]


def _records(store: LocalStore, n: int) -> None:
    write_records(store, "synthetic", [make_record(f"r{i}", patient_id=f"p{i}") for i in range(n)])


def test_slots_started_by_an_event_and_by_the_calendar_never_train_the_same_records(tmp_path):
    store = LocalStore(tmp_path)
    assert not open_slot(store, "weekly-1", "synthetic", 1, False).retrains  # no records yet: nothing to train
    _records(store, 30)
    below = open_slot(store, "new-data-1", "synthetic", 100, False)
    assert not below.retrains and below.reason == "30 new records of synthetic since the last retraining, 100 needed"
    _records(store, 120)  # more arrived: the threshold is reached, counted from the last retraining (none yet)
    event = open_slot(store, "new-data-2", "synthetic", 100, False)
    assert event.retrains and not event.resumed and "120 new records" in event.reason
    # The calendar's slot an hour later finds the same records trained on: it does not train them again.
    calendar = open_slot(store, "weekly-2", "synthetic", 1, False)
    assert not calendar.retrains and calendar.reason.startswith("0 new records")
    assert open_slot(store, "new-data-2", "synthetic", 100, False).resumed  # its retry resumes it, whatever it finds
    _records(store, 125)
    assert not open_slot(store, "weekly-3", "synthetic", 10, False).retrains  # 5 new since the event's slot
    assert open_slot(store, "weekly-3", "synthetic", 10, True).retrains  # forced
    assert open_slot(store, "weekly-4", "synthetic", 1, False).reason.startswith("0 new records")  # forced counts


def test_a_sign_off_decides_and_is_kept_with_the_decision():
    passed = {"promote": True, "reason": "macro_f1 gain +0.1 on 40 records"}
    answer = {"by": "dr. Ada", "at": "2026-12-07T10:00:00+00:00", "comment": "readings look right", "waited_s": 42.0}
    approved = signed_off(passed, answer | {"outcome": "approved"})
    assert approved["promote"] and approved["reason"].endswith("; approved by dr. Ada: readings look right")
    assert approved["sign_off"]["at"] == answer["at"] and approved["sign_off"]["by"] == "dr. Ada"
    rejected = signed_off(passed, answer | {"outcome": "rejected", "comment": ""})
    assert not rejected["promote"] and rejected["reason"].endswith("; rejected by dr. Ada")
    silent = signed_off(passed, {"outcome": "timed out", "by": None, "at": answer["at"], "comment": "", "waited_s": 60})
    assert not silent["promote"] and silent["reason"].endswith("; no sign-off within 60 s: the champion stands")


def test_example_readings_show_where_champion_and_challenger_disagree_first(tmp_path):
    store = LocalStore(tmp_path)
    champion, challenger = rows(6, wrong={1, 2}), rows(6, wrong=set())
    for name, answers in (("champion", champion), ("finetuned", challenger)):
        answers = [r | {"record_id": f"rec{r['id']}", "answer": " ".join(r["parsed"])} for r in answers]
        store.put_jsonl(layout.predictions_key("e", "new", "ptbxl-super", name), answers)
    table = example_readings(store, "e", "new", n=3).splitlines()
    assert table[0] == "| record | reference | champion | challenger |"
    assert table[2] == "| recq1 | MI | NORM | MI |" and table[3] == "| recq2 | STTC | NORM | STTC |"
    assert table[4] == "| recq0 | NORM | NORM | NORM |" and len(table) == 5


def test_an_approval_given_after_a_newer_champion_was_promoted_promotes_nothing():
    decided = {"promote": True, "reason": "gain +0.1; approved by dr. Ada", "champion_run": "weekly-1"}
    assert against_current_champion(decided, {"run_id": "weekly-1"}) == decided  # the champion it was measured on
    moved = against_current_champion(decided, {"run_id": "new-data-2"})
    assert not moved["promote"] and "champion new-data-2 was promoted while it waited" in moved["reason"]
    assert against_current_champion({"promote": True, "reason": "no champion yet"}, None)["promote"]
