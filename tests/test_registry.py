"""Promotion logic: better by the margin -> promoted, otherwise the champion stays."""

import pytest

from ecg_core.registry import decide


def champion(**metrics):
    return {"run_id": "old", "metrics": {"macro_f1": 0.70, "hamming": 0.12} | metrics}


@pytest.mark.parametrize(
    "candidate, promote",
    [
        ({"macro_f1": 0.72}, True),  # better by 0.02 >= 0.01
        ({"macro_f1": 0.705}, False),  # better, but by less than the margin
        ({"macro_f1": 0.60}, False),  # worse
        ({"macro_f1": None}, False),  # no figure: never promoted on faith
    ],
)
def test_macro_f1_must_beat_the_champion_by_the_margin(candidate, promote):
    assert decide(candidate, champion(), "macro_f1", 0.01)["promote"] is promote


def test_lower_is_better_for_hamming_and_the_first_run_always_wins():
    assert decide({"hamming": 0.10}, champion(), "hamming", 0.01)["promote"] is True
    assert decide({"hamming": 0.115}, champion(), "hamming", 0.01)["promote"] is False
    first = decide({"macro_f1": 0.1}, None)
    assert first["promote"] is True and first["reason"] == "no champion yet"
