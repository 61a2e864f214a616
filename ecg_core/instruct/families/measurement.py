"""Measurement: heart rate, PR, QRS and QT where the record knows them, in whole beats per minute or ms.
Labels: "<key>=<value>" (e.g. "heart_rate=72", "qrs_ms=96"), or "heart_rate_range=<range>" for the
multiple-choice rate question.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace

from ecg_core.instruct.facts import Facts
from ecg_core.instruct.families.qa import QA, multiple_choice, parse_choice, pick

NAME = "measurement"
# Topic -> (Facts attribute, label key, name in questions, unit).
MEASURES = {
    "heart_rate": ("heart_rate_bpm", "heart_rate", "heart rate", "beats per minute"),
    "pr_interval": ("pr_ms", "pr_ms", "PR interval", "ms"),
    "qrs_duration": ("qrs_ms", "qrs_ms", "QRS duration", "ms"),
    "qt_interval": ("qt_ms", "qt_ms", "QT interval", "ms"),
}
# Heart-rate ranges for the multiple-choice question: (exclusive upper bound, name).
RATE_RANGES = (
    (50, "under 50"),
    (70, "50-69"),
    (90, "70-89"),
    (110, "90-109"),
    (130, "110-129"),
    (math.inf, "130 or more"),
)
RATE_UNIT = " beats per minute"

FILL = (
    "Complete the sentence: The {name} is ___ {unit}.",
    "Fill in the blank: The {name} on this ECG is ___ {unit}.",
    "The {name} is ___ {unit}. What number fills the blank?",
)
OPEN = ("What is the {name}?", "What is the {name} on this ECG?", "Measure the {name} on this ECG.")
RANGE_QUESTIONS = ("In which range is the heart rate?", "Which range contains the heart rate of this ECG?")

# Every fill or open question -> its topic.
ASKED = {q.format(name=name, unit=unit): topic for topic, (_, _, name, unit) in MEASURES.items() for q in FILL + OPEN}


def questions(facts: Facts, rng: random.Random) -> list[QA]:
    qas = []
    for topic, (attribute, _, _, _) in MEASURES.items():
        value = getattr(facts, attribute)
        if value is not None:
            qas.append(_measure(topic, round(value), rng))
    return qas


def _measure(topic: str, value: int, rng: random.Random) -> QA:
    _, key, name, unit = MEASURES[topic]
    style = rng.choice(("fill", "open", "choice") if topic == "heart_rate" else ("fill", "open"))
    if style == "choice":
        correct = next(r for upper, r in RATE_RANGES if value < upper)
        qa = multiple_choice(
            topic, pick(rng, RANGE_QUESTIONS), correct + RATE_UNIT, [r + RATE_UNIT for _, r in RATE_RANGES], rng
        )
        return replace(qa, labels=(f"heart_rate_range={correct}",))
    if style == "fill":
        return QA(topic, "fill", pick(rng, FILL, name=name, unit=unit), str(value), (f"{key}={value}",))
    return QA(topic, "open", pick(rng, OPEN, name=name, unit=unit), f"{value} {unit}.", (f"{key}={value}",))


def parse_answer(question: str, answer: str) -> tuple[str, ...]:
    topic = ASKED.get(question)
    if topic is None:  # the multiple-choice rate question: its options follow the stem
        option = parse_choice(question, answer)
        return (f"heart_rate_range={option.removesuffix(RATE_UNIT)}",) if option else ()
    number = re.search(r"-?\d+(?:\.\d+)?", answer)
    return (f"{MEASURES[topic][1]}={round(float(number.group()))}",) if number else ()
