"""Abnormality detection: which classes of a label set the ECG shows (multi-label).

Label sets: the 5 PTB-XL superclasses (the paper's task and its evaluation), the 23 PTB-XL diagnostic
subclasses (PTB-XL records), and the CODE-15 and CPSC-2018 abnormality sets (any record with SCP
statements: their classes are SCP codes under other names).
"""

from __future__ import annotations

import random
import re

from ecg_core.answers import parse_labels
from ecg_core.instruct.facts import Facts
from ecg_core.instruct.families.qa import QA, close_ended, pick
from ecg_core.labels import CODE15, CPSC, SUBCLASSES, SUPERCLASS_NAMES, SUPERCLASSES

NAME = "abnormality_detection"
NO_CLASS_ANSWER = "none"  # the answer when no class of the set applies


SUPERCLASS_LIST = ", ".join(SUPERCLASSES)
SUPERCLASS_QUESTIONS = (
    f"Which of the following diagnostic classes does this ECG show: {SUPERCLASS_LIST}? "
    "Answer with the class codes, separated by commas.",
    f"Classify this 12-lead ECG into the PTB-XL superclasses ({SUPERCLASS_LIST}). List every class that applies.",
    f"Identify the abnormalities in this ECG image. Options: {SUPERCLASS_LIST}. Give all that apply.",
)
CLOSE_QUESTIONS = (
    "Does this ECG show {name} ({code})?",
    "Is there evidence of {name} ({code}) in this ECG?",
)
SET_QUESTIONS = (
    "Which of these {set_name} classes does this ECG show: {classes}? Answer with the class names, separated by commas, or none.",
    "Classify this ECG with the {set_name} labels ({classes}). List all that apply, or none.",
)
# Topic -> (label-set name in questions, class vocabulary).
LABEL_SETS = {
    "subclass": ("PTB-XL diagnostic subclass", SUBCLASSES),
    "code15": ("CODE-15", tuple(CODE15)),
    "cpsc": ("CPSC-2018", tuple(CPSC)),
}


def questions(facts: Facts, rng: random.Random) -> list[QA]:
    answer = ", ".join(facts.superclasses) or NO_CLASS_ANSWER
    qas = [QA("superclass", "open", pick(rng, SUPERCLASS_QUESTIONS), answer, facts.superclasses)]
    code = rng.choice(SUPERCLASSES)
    question = pick(rng, CLOSE_QUESTIONS, name=SUPERCLASS_NAMES[code], code=code)
    qas.append(close_ended("superclass", question, code, code in facts.superclasses))
    if facts.subclasses is not None:
        qas.append(_set_question("subclass", tuple(facts.subclasses), rng))
    if facts.codes:
        for topic, table in (("code15", CODE15), ("cpsc", CPSC)):
            qas.append(_set_question(topic, tuple(c for c, codes in table.items() if codes & facts.codes), rng))
    return qas


def _set_question(topic: str, present: tuple[str, ...], rng: random.Random) -> QA:
    set_name, classes = LABEL_SETS[topic]
    present = tuple(c for c in classes if c in present)
    question = pick(rng, SET_QUESTIONS, set_name=set_name, classes=", ".join(classes))
    return QA(topic, "open", question, ", ".join(present) or NO_CLASS_ANSWER, present)


def parse_answer(question: str, answer: str) -> tuple[str, ...]:
    """Whole-word classes of the set the question names, in the set's order."""
    for topic, (set_name, classes) in LABEL_SETS.items():
        if f" {set_name} " in question:
            words = set(re.split(r"[\s,.;]+", answer))
            return tuple(c for c in classes if c in words)
    if question.startswith(tuple(q.split("{")[0] for q in CLOSE_QUESTIONS)):
        code = re.search(r"\(([A-Z]+)\)", question).group(1)
        return (code,) if answer.lower().startswith("yes") else ()
    parsed = parse_labels(answer)
    return tuple(c for c in SUPERCLASSES if parsed and c in parsed)
