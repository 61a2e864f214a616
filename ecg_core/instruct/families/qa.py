"""What every task family shares: the question-answer type and the four ECGInstruct answer styles.

A family turns one record's facts into QAs; each QA carries `labels`, the findings its answer asserts
in the family's vocabulary, and the family's `parse_answer(question, answer)` must give them back from
the text alone (the consistency test runs it on every sample).

Styles: "close" (yes/no), "open" (a phrase or sentence), "fill" (complete a sentence: a value),
"choice" (multiple choice, lettered options, answered with the letter and the option).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

STYLES = ("close", "open", "fill", "choice")
LETTERS = "ABCDEF"
YES, NO = "Yes.", "No."


@dataclass(frozen=True)
class QA:
    topic: str  # what is asked about, e.g. "rhythm", "heart_rate", "superclass"
    style: str  # one of STYLES
    question: str
    answer: str
    labels: tuple[str, ...]  # findings the answer asserts (empty for "no" / "none")
    extra: Mapping[str, str] = field(default_factory=dict)  # keys added to the sample (e.g. a report's original)


def close_ended(topic: str, question: str, finding: str, present: bool) -> QA:
    """A yes/no question about one finding; labels hold the finding when the answer is yes."""
    return QA(topic, "close", question, YES if present else NO, (finding,) if present else ())


def parse_yes_no(answer: str) -> bool | None:
    word = re.match(r"\s*(yes|no)\b", answer, re.IGNORECASE)
    return None if word is None else word.group(1).lower() == "yes"


def multiple_choice(
    topic: str, question: str, correct: str, distractors: Sequence[str], rng: random.Random, n_options: int = 4
) -> QA:
    """Lettered options in a seeded order: the correct one plus up to n_options - 1 distractors."""
    pool = [d for d in dict.fromkeys(distractors) if d != correct]
    options = [correct] + rng.sample(pool, min(n_options - 1, len(pool)))
    rng.shuffle(options)
    lines = "\n".join(f"{LETTERS[k]}. {option}" for k, option in enumerate(options))
    letter = LETTERS[options.index(correct)]
    return QA(
        topic,
        "choice",
        f"{question}\n{lines}\nAnswer with the letter of the correct option.",
        f"{letter}. {correct}",
        (correct,),
    )


def parse_choice(question: str, answer: str) -> str | None:
    """The option text the answer's letter points to in the question."""
    letter = re.match(r"\s*\(?([A-F])\b", answer)
    if letter is None:
        return None
    option = re.search(rf"^{letter.group(1)}\. (.+)$", question, re.MULTILINE)
    return option.group(1).strip() if option else None


def pick(rng: random.Random, phrasings: Sequence[str], **fields) -> str:
    """One phrasing, chosen by the seeded rng, with its fields filled in."""
    return rng.choice(phrasings).format(**fields)


def parse_finding(asked: Mapping, open_vocabulary: Mapping, question: str, answer: str) -> tuple[str, ...]:
    """The finding an answer asserts, for families whose questions are yes/no about one finding (`asked`:
    question -> (topic, finding)), open about a topic (finding None) or multiple choice (not in `asked`)."""
    topic, finding = asked.get(question, (None, None))
    if topic is None:  # a multiple-choice question: its options follow the stem
        option = parse_choice(question, answer)
        return (option,) if option else ()
    if finding is not None:
        return (finding,) if parse_yes_no(answer) else ()
    return named(open_vocabulary[topic], answer)


def named(findings, answer: str) -> tuple[str, ...]:
    """The first finding the answer names as a whole phrase; () for a negative answer ("No ...", "Neither ...")."""
    if re.match(r"\s*(no|neither)\b", answer, re.IGNORECASE):
        return ()
    return next(((f,) for f in findings if re.search(rf"\b{re.escape(f)}\b", answer, re.IGNORECASE)), ())
