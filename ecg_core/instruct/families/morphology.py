"""Morphology: electrical axis, bundle branch block, hypertrophy, ST-T changes and Q waves. Labels: an
AXIS_NAMES value, a block or hypertrophy by name (e.g. "complete left bundle branch block"), or for yes/no
questions the finding asked about when the answer is yes.
"""

from __future__ import annotations

import random

from ecg_core.instruct.facts import BUNDLE_BRANCH, HYPERTROPHY, Facts
from ecg_core.instruct.families.qa import QA, close_ended, multiple_choice, parse_finding, pick

NAME = "morphology"
AXIS_NAMES = {
    "normal": "normal axis",
    "left": "left axis deviation",
    "right": "right axis deviation",
    "extreme": "extreme axis deviation",
    "indeterminate": "indeterminate axis",
}
BLOCKS = tuple(dict.fromkeys(f"{kind} bundle branch block" for kind in BUNDLE_BRANCH.values()))
HYPERTROPHIES = tuple(dict.fromkeys(f"{kind} hypertrophy" for kind in HYPERTROPHY.values()))
# The finding a yes to each close-only question asserts.
BLOCK, HYPERTROPHY_FINDING, ST_T, Q_WAVES = "bundle branch block", "hypertrophy", "ST-T changes", "Q waves"

AXIS_QUESTIONS = (
    "What is the electrical axis of this ECG?",
    "Describe the frontal plane QRS axis.",
    "How would you classify the cardiac axis on this ECG?",
)
BLOCK_OPEN = (
    "Which bundle branch block does this ECG show, if any?",
    "Is there a bundle branch block? If so, name it.",
)
BLOCK_CLOSE = ("Is there a bundle branch block?", "Does this ECG show a bundle branch block?")
HYPERTROPHY_OPEN = (
    "Which hypertrophy, if any, does this ECG show?",
    "Is there hypertrophy? If so, which kind?",
)
HYPERTROPHY_CLOSE = ("Is there evidence of hypertrophy?", "Does this ECG show ventricular or septal hypertrophy?")
ST_T_CLOSE = (
    "Are there ST-T changes?",
    "Does this ECG show ST segment or T wave abnormalities?",
    "Are ST-T abnormalities present on this ECG?",
)
Q_WAVE_CLOSE = ("Are there pathological Q waves?", "Does this ECG show pathological Q waves?")

# Every open or close question -> (topic, the finding a yes asserts; None for open questions).
ASKED = {
    **{q: ("axis", None) for q in AXIS_QUESTIONS},
    **{q: ("bundle_branch_block", None) for q in BLOCK_OPEN},
    **{q: ("bundle_branch_block", BLOCK) for q in BLOCK_CLOSE},
    **{q: ("hypertrophy", None) for q in HYPERTROPHY_OPEN},
    **{q: ("hypertrophy", HYPERTROPHY_FINDING) for q in HYPERTROPHY_CLOSE},
    **{q: ("st_t_change", ST_T) for q in ST_T_CLOSE},
    **{q: ("q_waves", Q_WAVES) for q in Q_WAVE_CLOSE},
}
# Topic -> the findings an open answer names.
OPEN_VOCABULARY = {"axis": tuple(AXIS_NAMES.values()), "bundle_branch_block": BLOCKS, "hypertrophy": HYPERTROPHIES}


def questions(facts: Facts, rng: random.Random) -> list[QA]:
    qas = []
    if facts.axis is not None:
        qas.append(_axis(AXIS_NAMES[facts.axis], rng))
    if facts.bundle_branch_block is not None:
        qas.append(_kind("bundle_branch_block", facts.bundle_branch_block, BLOCK, BLOCK_OPEN, BLOCK_CLOSE, rng))
    if facts.hypertrophy is not None:
        qas.append(
            _kind("hypertrophy", facts.hypertrophy, HYPERTROPHY_FINDING, HYPERTROPHY_OPEN, HYPERTROPHY_CLOSE, rng)
        )
    if facts.st_t_change is not None:
        qas.append(close_ended("st_t_change", pick(rng, ST_T_CLOSE), ST_T, facts.st_t_change))
    if facts.q_waves is not None:
        qas.append(close_ended("q_waves", pick(rng, Q_WAVE_CLOSE), Q_WAVES, facts.q_waves))
    return qas


def _axis(axis: str, rng: random.Random) -> QA:
    if rng.choice(("open", "choice")) == "choice":
        return multiple_choice("axis", pick(rng, AXIS_QUESTIONS), axis, tuple(AXIS_NAMES.values()), rng)
    return QA("axis", "open", pick(rng, AXIS_QUESTIONS), f"{axis.capitalize()}.", (axis,))


def _kind(topic: str, kind: str, finding: str, open_questions, close_questions, rng: random.Random) -> QA:
    """A finding that comes in kinds (a block, a hypertrophy): is it there, or which one ("none": No ...)."""
    if rng.choice(("open", "close")) == "close":
        return close_ended(topic, pick(rng, close_questions), finding, kind != "none")
    if kind == "none":
        return QA(topic, "open", pick(rng, open_questions), f"No {finding}.", ())
    name = f"{kind} {finding}"
    return QA(topic, "open", pick(rng, open_questions), f"{name.capitalize()}.", (name,))


def parse_answer(question: str, answer: str) -> tuple[str, ...]:
    return parse_finding(ASKED, OPEN_VOCABULARY, question, answer)
