"""Rhythm, morphology and measurement families: well-formed QAs whose answers parse back to their labels,
labels that agree with the record's facts, no question about an unknown fact, seeded phrasing, and
multiple-choice letters that point at the right option."""

from __future__ import annotations

import random
import re

import pytest

from ecg_core.instruct.facts import facts_of
from ecg_core.instruct.families import measurement, morphology, rhythm
from ecg_core.instruct.families.qa import NO, STYLES, YES, parse_choice
from ecg_core.synth import synthesize_records
from tests.factories import make_record

FAMILIES = (rhythm, morphology, measurement)
SEEDS = range(6)
MEASURED = {"heart_rate": "heart_rate_bpm", "pr_interval": "pr_ms", "qrs_duration": "qrs_ms", "qt_interval": "qt_ms"}
LABEL_KEYS = {"heart_rate": "heart_rate", "pr_interval": "pr_ms", "qrs_duration": "qrs_ms", "qt_interval": "qt_ms"}
# What a close rate question asks about, read from its wording.
RATE_WORDS = (
    ("bradycardia", ("bradycardia", "below 60")),
    ("tachycardia", ("tachycardia", "above 100")),
    ("normal rate", ("normal", "between 60 and 100")),
)


@pytest.fixture(scope="module")
def cases():
    synthetic = synthesize_records(28, seed=0, fs=250.0)
    assert len({r.extra["condition"] for r in synthetic}) == 14
    hand_made = [
        make_record("unknown-rhythm", labels={"NORM": 100.0}, superclasses=["NORM"]),
        make_record("bare", labels={}, superclasses=[]),
        make_record(
            "ptbxl",
            labels={"AFLT": 0.0, "CLBBB": 100.0, "LVH": 100.0},
            superclasses=["CD", "HYP"],
            extra={"heart_axis": "LAD"},
        ),
        make_record(
            "measured-only",
            labels={},
            superclasses=[],
            extra={"measurements": {"heart_rate_bpm": 59.6, "qrs_ms": 96.4, "qrs_axis": 100.0}},
        ),
    ]
    return {r.record_id: facts_of(r) for r in synthetic + hand_made}


def _all_qas(cases, family):
    return [
        (facts, qa) for facts in cases.values() for seed in SEEDS for qa in family.questions(facts, random.Random(seed))
    ]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.NAME)
def test_every_qa_is_well_formed_and_parses_back_to_its_labels(cases, family):
    qas = _all_qas(cases, family)
    assert qas
    for _, qa in qas:
        assert qa.style in STYLES and qa.question.strip() and qa.answer.strip()
        assert family.parse_answer(qa.question, qa.answer) == qa.labels, qa
        if qa.style == "close":
            assert qa.answer in (YES, NO)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.NAME)
def test_one_question_per_applicable_topic_and_none_about_unknown_facts(cases, family):
    for facts in cases.values():
        topics = [qa.topic for qa in family.questions(facts, random.Random(0))]
        assert sorted(topics) == sorted(_applicable(family, facts))
    assert family.questions(cases["bare"], random.Random(0)) == []


def _applicable(family, facts) -> list[str]:
    if family is rhythm:
        known = {
            "rhythm": facts.rhythm,
            "af_flutter": facts.rhythm,
            "sinus_rate": facts.rhythm,
            "regularity": facts.regular,
            "rate": facts.heart_rate_bpm,
        }
    elif family is morphology:
        known = {
            "axis": facts.axis,
            "bundle_branch_block": facts.bundle_branch_block,
            "hypertrophy": facts.hypertrophy,
            "st_t_change": facts.st_t_change,
            "q_waves": facts.q_waves,
        }
    else:
        known = {topic: getattr(facts, attribute) for topic, attribute in MEASURED.items()}
    return [topic for topic, value in known.items() if value is not None]


def test_hand_made_records_ask_what_they_know(cases):
    topics = lambda family, name: {qa.topic for qa in family.questions(cases[name], random.Random(0))}  # noqa: E731
    assert topics(rhythm, "unknown-rhythm") == set() and topics(measurement, "unknown-rhythm") == set()
    assert topics(rhythm, "ptbxl") == {"rhythm", "af_flutter", "sinus_rate", "regularity"}  # no rate measured
    assert topics(morphology, "ptbxl") == {"axis", "bundle_branch_block", "hypertrophy", "st_t_change", "q_waves"}
    assert topics(measurement, "ptbxl") == set()
    assert topics(rhythm, "measured-only") == {"rate"} and topics(morphology, "measured-only") == {"axis"}
    assert topics(measurement, "measured-only") == {"heart_rate", "qrs_duration"}


def _mentioned(question: str, names) -> str:
    """The one name the question asks about (whole phrase, any case)."""
    found = [n for n in names if re.search(rf"\b{re.escape(n)}\b", question, re.IGNORECASE)]
    assert len(found) == 1, (question, found)
    return found[0]


def _yes_no_labels(qa, finding: str, present: bool) -> None:
    assert qa.answer == (YES if present else NO), qa
    assert qa.labels == ((finding,) if present else ()), qa


def test_rhythm_labels_agree_with_the_facts(cases):
    for facts, qa in _all_qas(cases, rhythm):
        if qa.topic == "rhythm" and qa.style == "close":
            asked = _mentioned(qa.question, rhythm.RHYTHM_NAMES)
            # "Is this sinus rhythm?" is never asked of sinus tachycardia, bradycardia or arrhythmia.
            assert not (asked == "sinus rhythm" and facts.rhythm.startswith("sinus ") and facts.rhythm != asked)
            _yes_no_labels(qa, asked, asked == facts.rhythm)
        elif qa.topic == "rhythm":
            assert qa.labels == (facts.rhythm,)
        elif qa.topic == "af_flutter":
            present = facts.rhythm in ("atrial fibrillation", "atrial flutter")
            if qa.style == "close":
                _yes_no_labels(qa, "atrial fibrillation or flutter", present)
            else:
                assert qa.labels == ((facts.rhythm,) if present else ())
        elif qa.topic == "sinus_rate":
            if qa.style == "close":
                asked = _mentioned(qa.question, ("sinus bradycardia", "sinus tachycardia"))
                _yes_no_labels(qa, asked, asked == facts.rhythm)
            else:
                assert qa.labels == (
                    (facts.rhythm,) if facts.rhythm in ("sinus bradycardia", "sinus tachycardia") else ()
                )
        elif qa.topic == "regularity":
            actual = "regular" if facts.regular else "irregular"
            if qa.style == "close":
                asked = _mentioned(qa.question, ("regular", "irregular"))
                _yes_no_labels(qa, asked, asked == actual)
            else:
                assert qa.labels == (actual,)
        else:
            bpm = round(facts.heart_rate_bpm)
            actual = "bradycardia" if bpm < 60 else "tachycardia" if bpm > 100 else "normal rate"
            if qa.style == "close":
                asked = next(c for c, words in RATE_WORDS if any(w in qa.question.lower() for w in words))
                _yes_no_labels(qa, asked, asked == actual)
            else:
                assert qa.labels == (actual,)


def test_open_rhythm_answers_name_the_rhythm(cases):
    rhythms = {qa.answer for _, qa in _all_qas(cases, rhythm) if qa.topic == "rhythm" and qa.style == "open"}
    assert {"Sinus rhythm.", "Atrial fibrillation.", "Sinus bradycardia.", "Sinus tachycardia."} <= rhythms
    flutter = {
        (qa.topic, qa.style): qa.answer
        for seed in SEEDS
        for qa in rhythm.questions(cases["ptbxl"], random.Random(seed))
    }
    assert flutter[("af_flutter", "open")] == "Atrial flutter." and flutter[("af_flutter", "close")] == YES


def test_morphology_labels_agree_with_the_facts(cases):
    for facts, qa in _all_qas(cases, morphology):
        if qa.topic == "axis":
            assert qa.labels == (morphology.AXIS_NAMES[facts.axis],)
        elif qa.topic in ("bundle_branch_block", "hypertrophy"):
            kind = getattr(facts, qa.topic)
            finding = qa.topic.replace("_", " ")
            if qa.style == "close":
                _yes_no_labels(qa, finding, kind != "none")
            else:
                assert qa.labels == (() if kind == "none" else (f"{kind} {finding}",))
                assert qa.answer == (f"No {finding}." if kind == "none" else f"{kind} {finding}.".capitalize())
        elif qa.topic == "st_t_change":
            _yes_no_labels(qa, "ST-T changes", facts.st_t_change)
        else:
            _yes_no_labels(qa, "Q waves", facts.q_waves)
    ptbxl = {qa.topic: qa for qa in morphology.questions(cases["ptbxl"], random.Random(0))}
    assert ptbxl["axis"].labels == ("left axis deviation",)


def test_ptbxl_codes_name_the_block_and_the_hypertrophy(cases):
    answers = {
        (qa.topic, qa.style): qa.answer
        for seed in SEEDS
        for qa in morphology.questions(cases["ptbxl"], random.Random(seed))
    }
    assert answers[("bundle_branch_block", "open")] == "Complete left bundle branch block."
    assert answers[("hypertrophy", "open")] == "Left ventricular hypertrophy."
    assert answers[("bundle_branch_block", "close")] == answers[("hypertrophy", "close")] == YES


def test_measurement_labels_are_the_rounded_facts(cases):
    for facts, qa in _all_qas(cases, measurement):
        value = round(getattr(facts, MEASURED[qa.topic]))
        if qa.style == "choice":
            low, high = _range(qa.labels[0].removeprefix("heart_rate_range="))
            assert qa.topic == "heart_rate" and low <= value <= high, qa
        else:
            assert qa.labels == (f"{LABEL_KEYS[qa.topic]}={value}",)
            assert qa.answer == (
                str(value)
                if qa.style == "fill"
                else f"{value} {'beats per minute' if qa.topic == 'heart_rate' else 'ms'}."
            )
    measured = {qa.labels for _, qa in _all_qas({"m": cases["measured-only"]}, measurement) if qa.style != "choice"}
    assert measured == {("heart_rate=60",), ("qrs_ms=96",)}


def _range(name: str) -> tuple[int, float]:
    if name.startswith("under "):
        return 0, int(name.split()[1]) - 1
    if name.endswith(" or more"):
        return int(name.split()[0]), float("inf")
    low, high = name.split("-")
    return int(low), int(high)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.NAME)
def test_multiple_choice_letters_point_at_the_correct_option(cases, family):
    choices = [qa for _, qa in _all_qas(cases, family) if qa.style == "choice"]
    assert choices
    for qa in choices:
        letter, option = re.fullmatch(r"([A-F])\. (.+)", qa.answer).groups()
        options = re.findall(r"^([A-F])\. (.+)$", qa.question, re.MULTILINE)
        assert len(options) >= 2 and len({o for _, o in options}) == len(options)
        assert (letter, option) in options and parse_choice(qa.question, qa.answer) == option


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.NAME)
def test_same_seed_same_qas_and_seeds_vary_the_phrasing_and_style(cases, family):
    for facts in cases.values():
        assert family.questions(facts, random.Random(7)) == family.questions(facts, random.Random(7))
    facts = cases["ptbxl"] if family is not measurement else cases["measured-only"]
    runs = [family.questions(facts, random.Random(seed)) for seed in range(20)]
    assert len({tuple(qa.question for qa in qas) for qas in runs}) > 1
    assert len({(qa.topic, qa.style) for qas in runs for qa in qas}) > len(runs[0])  # topics get more than one style
    styles = {qa.style for _, qa in _all_qas(cases, family)}
    assert styles == ({"fill", "open", "choice"} if family is measurement else {"open", "choice", "close"})
