"""Rhythm: the rhythm itself, its regularity, the rate category, atrial fibrillation or flutter, and sinus
bradycardia or tachycardia. Labels: a RHYTHM_NAMES value, "regular"/"irregular", a RATE_CATEGORIES value,
or for yes/no questions the finding asked about when the answer is yes.
"""

from __future__ import annotations

import random

from ecg_core.instruct.facts import RHYTHM_NAMES, Facts
from ecg_core.instruct.families.qa import QA, close_ended, multiple_choice, parse_finding, pick

NAME = "rhythm"
AF_FLUTTER = ("atrial fibrillation", "atrial flutter")
SINUS_RATES = ("sinus bradycardia", "sinus tachycardia")
REGULARITY = ("regular", "irregular")
RATE_CATEGORIES = ("bradycardia", "normal rate", "tachycardia")
AF_OR_FLUTTER = "atrial fibrillation or flutter"  # the finding a yes to an AF_CLOSE question asserts

RHYTHM_OPEN = (
    "What is the rhythm of this ECG?",
    "Identify the cardiac rhythm shown in this ECG.",
    "Which rhythm does this 12-lead ECG show?",
)
RHYTHM_CLOSE = ("Is the rhythm {finding}?", "Is this {finding}?", "Does the rhythm strip show {finding}?")
AF_OPEN = (
    "Is there atrial fibrillation or atrial flutter? If so, which one?",
    "Does this ECG show atrial fibrillation, atrial flutter, or neither?",
)
AF_CLOSE = (
    "Does this ECG show atrial fibrillation or flutter?",
    "Is there atrial fibrillation or atrial flutter on this ECG?",
)
SINUS_OPEN = (
    "Is this sinus bradycardia, sinus tachycardia, or neither?",
    "Which of sinus bradycardia and sinus tachycardia does this ECG show, if either?",
)
SINUS_CLOSE = ("Does this ECG show {finding}?", "Is there {finding}?")
REGULARITY_OPEN = (
    "Is the rhythm regular or irregular?",
    "Are the RR intervals regular or irregular?",
    "Describe the regularity of the rhythm.",
)
REGULARITY_CLOSE = ("Is the rhythm {finding}?", "Are the RR intervals {finding}?")
RATE_OPEN = (
    "Is the heart rate slow, normal or fast?",
    "Classify the heart rate as bradycardia, normal rate or tachycardia.",
    "How would you describe the ventricular rate?",
)
RATE_ANSWERS = {
    "bradycardia": "Bradycardia: the heart rate is below 60 beats per minute.",
    "normal rate": "Normal rate: the heart rate is 60 to 100 beats per minute.",
    "tachycardia": "Tachycardia: the heart rate is above 100 beats per minute.",
}
RATE_CLOSE = {
    "bradycardia": ("Is there bradycardia?", "Is the heart rate below 60 beats per minute?"),
    "normal rate": ("Is the heart rate normal?", "Is the heart rate between 60 and 100 beats per minute?"),
    "tachycardia": ("Is there tachycardia?", "Is the heart rate above 100 beats per minute?"),
}

# Every open or close question -> (topic, the finding a yes asserts; None for open questions).
ASKED = {
    **{q: ("rhythm", None) for q in RHYTHM_OPEN},
    **{q.format(finding=f): ("rhythm", f) for q in RHYTHM_CLOSE for f in RHYTHM_NAMES},
    **{q: ("af_flutter", None) for q in AF_OPEN},
    **{q: ("af_flutter", AF_OR_FLUTTER) for q in AF_CLOSE},
    **{q: ("sinus_rate", None) for q in SINUS_OPEN},
    **{q.format(finding=f): ("sinus_rate", f) for q in SINUS_CLOSE for f in SINUS_RATES},
    **{q: ("regularity", None) for q in REGULARITY_OPEN},
    **{q.format(finding=f): ("regularity", f) for q in REGULARITY_CLOSE for f in REGULARITY},
    **{q: ("rate", None) for q in RATE_OPEN},
    **{q: ("rate", f) for f, qs in RATE_CLOSE.items() for q in qs},
}
# Topic -> the findings an open answer names.
OPEN_VOCABULARY = {
    "rhythm": RHYTHM_NAMES,
    "af_flutter": AF_FLUTTER,
    "sinus_rate": SINUS_RATES,
    "regularity": REGULARITY,
    "rate": RATE_CATEGORIES,
}


def rate_category(bpm: float) -> str:
    """Of the rate as reported (whole beats per minute), so it agrees with the measurement family."""
    bpm = round(bpm)
    return "bradycardia" if bpm < 60 else "tachycardia" if bpm > 100 else "normal rate"


def questions(facts: Facts, rng: random.Random) -> list[QA]:
    qas = []
    if facts.rhythm is not None:
        qas += [_rhythm(facts.rhythm, rng), _af_flutter(facts.rhythm, rng), _sinus_rate(facts.rhythm, rng)]
    if facts.regular is not None:
        qas.append(_regularity(facts.regular, rng))
    if facts.heart_rate_bpm is not None:
        qas.append(_rate(rate_category(facts.heart_rate_bpm), rng))
    return qas


def _rhythm(rhythm: str, rng: random.Random) -> QA:
    style = rng.choice(("open", "choice", "close"))
    if style == "open":
        return QA("rhythm", "open", pick(rng, RHYTHM_OPEN), f"{rhythm.capitalize()}.", (rhythm,))
    if style == "choice":
        return multiple_choice("rhythm", pick(rng, RHYTHM_OPEN), rhythm, RHYTHM_NAMES, rng)
    # "Is this sinus rhythm?" of a sinus tachycardia has no single right answer: never asked.
    candidates = [n for n in RHYTHM_NAMES if n == rhythm or not (n == "sinus rhythm" and rhythm.startswith("sinus "))]
    asked = _asked(rhythm, candidates, rng)
    return close_ended("rhythm", pick(rng, RHYTHM_CLOSE, finding=asked), asked, asked == rhythm)


def _af_flutter(rhythm: str, rng: random.Random) -> QA:
    present = rhythm in AF_FLUTTER
    if rng.choice(("open", "close")) == "close":
        return close_ended("af_flutter", pick(rng, AF_CLOSE), AF_OR_FLUTTER, present)
    answer = f"{rhythm.capitalize()}." if present else "No atrial fibrillation or flutter."
    return QA("af_flutter", "open", pick(rng, AF_OPEN), answer, (rhythm,) if present else ())


def _sinus_rate(rhythm: str, rng: random.Random) -> QA:
    if rng.choice(("open", "close")) == "close":
        asked = _asked(rhythm, SINUS_RATES, rng)
        return close_ended("sinus_rate", pick(rng, SINUS_CLOSE, finding=asked), asked, asked == rhythm)
    present = rhythm in SINUS_RATES
    answer = f"{rhythm.capitalize()}." if present else "Neither sinus bradycardia nor sinus tachycardia."
    return QA("sinus_rate", "open", pick(rng, SINUS_OPEN), answer, (rhythm,) if present else ())


def _regularity(regular: bool, rng: random.Random) -> QA:
    actual = "regular" if regular else "irregular"
    if rng.choice(("open", "close")) == "open":
        return QA("regularity", "open", pick(rng, REGULARITY_OPEN), f"{actual.capitalize()}.", (actual,))
    asked = _asked(actual, REGULARITY, rng)
    return close_ended("regularity", pick(rng, REGULARITY_CLOSE, finding=asked), asked, asked == actual)


def _rate(category: str, rng: random.Random) -> QA:
    if rng.choice(("open", "close")) == "open":
        return QA("rate", "open", pick(rng, RATE_OPEN), RATE_ANSWERS[category], (category,))
    asked = _asked(category, RATE_CATEGORIES, rng)
    return close_ended("rate", pick(rng, RATE_CLOSE[asked]), asked, asked == category)


def _asked(actual: str, findings, rng: random.Random) -> str:
    """The finding a yes/no question asks about: the actual one half the time, so yes and no are balanced
    (any of them when the actual one is not among them)."""
    if actual not in findings:
        return rng.choice(findings)
    return actual if rng.random() < 0.5 else rng.choice([f for f in findings if f != actual])


def parse_answer(question: str, answer: str) -> tuple[str, ...]:
    return parse_finding(ASKED, OPEN_VOCABULARY, question, answer)
