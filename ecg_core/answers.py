"""Answer text -> label set: whole words, synonyms, negation, multiple-choice letters; never a guess.

Substring matching (as some published scorers do) reads "ST" inside "STTC" or "MI" inside "MIXED";
here label codes match as whole, upper-case tokens ("mi" in "minimal" is no code) and clinical phrases as
whole phrases, case-insensitive: "left bundle branch block" -> CD, "normal ECG" -> NORM. A finding in
the scope of a negation ("no signs of MI", "without ST changes": up to the end of the clause) or a
hedge ("voltage criteria for LVH") does not count. An answer that names one option letter of a multiple-choice question means that option. An
answer with no label and no explicit "none" is *unparsed* (None): counted as such, never guessed.
"""

from __future__ import annotations

import functools
import re

from ecg_core.labels import SUPERCLASSES

# Phrases (lower case, whole words; "\s+" between words) that assert a superclass, beside its code.
SUPERCLASS_SYNONYMS: dict[str, tuple[str, ...]] = {
    # PTB-XL codes "otherwise normal ECG" as NORM, so it counts here too.
    "NORM": (r"normal (?:ecg|ekg|electrocardiogram)", r"within normal limits", r"no definite pathology"),
    "MI": (r"(?:myocardial )?infarct(?:ion|s)?", r"(?:ami|imi|asmi|almi|ilmi|lmi|pmi|ipmi|iplmi)"),
    "STTC": (
        r"st(?:/| |-| ?& ?| and )?t[- ]?(?:wave )?(?:change|changes|abnormality|abnormalities)",
        r"st[- ]?(?:segment )?(?:depression|elevation|changes?)",
        r"t[- ]?wave (?:inversion|abnormalit(?:y|ies)|changes?)",
        r"inverted t[- ]?waves?",
        r"ischemi[ac]|ischaemi[ac]",
        r"repolari[sz]ation (?:abnormality|disturbance)",
        r"(?:long|prolonged) qt",
    ),
    "CD": (
        r"conduction (?:disturbance|defect|delay|abnormality)",
        r"(?:bundle[- ]branch|fascicular|av|atrioventricular) block",
        r"(?:[lr]bbb|clbbb|crbbb|ilbbb|irbbb|lafb|lpfb|ivcd|wpw|1avb|2avb|3avb)",
        r"wolff[- ]parkinson[- ]white",
        r"(?:prolonged|long) pr(?: interval)?",
        r"first[- ]degree (?:av )?block",
        r"pre-?excitation",
    ),
    "HYP": (
        r"(?:ventricular|atrial|septal) hypertrophy",
        r"hypertrophy",
        r"(?:lvh|rvh|lao/lae|rao/rae)",
        r"(?:left|right) (?:atrial|ventricular) (?:enlargement|overload)",
    ),
}
NONE_ANSWER = re.compile(r"\b(?:none|no abnormalit(?:y|ies)|no diagnostic class(?:es)?)\b", re.IGNORECASE)
# A negation opens a scope that runs to the end of its clause.
NEGATION = re.compile(r"\b(?:no|not|without|absent|negative for|free of|rules? out|ruled out)\b", re.IGNORECASE)
# Statements that name a finding without asserting it: PTB-XL does not code "voltage criteria for LVH" as HYP.
HEDGES = re.compile(r"voltage criteria for (?:left |right )?(?:ventricular )?hypertrophy|\bvclvh\b", re.IGNORECASE)
CLAUSE_END = re.compile(r"[.;:!?]|,\s*(?:but|however)\b|\bbut\b")
OPTION = re.compile(r"\(?\b([A-F])\)?[.):]\s*([^\n()]+?)(?=\s*(?:\(?\b[A-F]\)?[.):]|$|\n))")


def _patterns(vocabulary: tuple[str, ...], synonyms: dict[str, tuple[str, ...]]) -> dict[str, re.Pattern]:
    """Whole-token codes (case kept) or whole-phrase synonyms (any case), one pattern per code."""
    return {
        code: re.compile(
            rf"(?<![\w/-])(?:{re.escape(code)}(?![\w/-])|(?i:{'|'.join(synonyms.get(code, ()) or ('(?!)',))})(?![\w-]))"
        )
        for code in vocabulary
    }


@functools.cache
def vocabulary_patterns(vocabulary: tuple[str, ...]) -> dict[str, re.Pattern]:
    """The patterns of a label set: the superclasses with their clinical phrases, any other set by its codes."""
    return _patterns(vocabulary, SUPERCLASS_SYNONYMS if vocabulary == SUPERCLASSES else {})


def negated_spans(text: str) -> list[tuple[int, int]]:
    """Character spans under a negation (from the negating word to the end of its clause) or a hedge."""
    spans = [m.span() for m in HEDGES.finditer(text)]
    for match in NEGATION.finditer(text):
        end = CLAUSE_END.search(text, match.end())
        spans.append((match.start(), end.start() if end else len(text)))
    return spans


def options_of(question: str) -> dict[str, str]:
    """Lettered options of a multiple-choice question: {"A": "NORM", "B": "MI", ...}."""
    return {letter: option.strip(" ,;") for letter, option in OPTION.findall(question)}


def parse_labels(
    text: str,
    vocabulary: tuple[str, ...] = SUPERCLASSES,
    question: str | None = None,
) -> frozenset[str] | None:
    """The labels of `vocabulary` the answer asserts; frozenset() for an explicit "none"; None if unparsed."""
    patterns = vocabulary_patterns(vocabulary)
    options = options_of(question) if question else {}
    letter = re.fullmatch(r"\s*\(?([A-F])\)?(?:[.):]|\s|$).*", text, re.DOTALL)
    if options and letter and letter[1] in options:
        text = options[letter[1]]  # "B" or "B) MI": the option itself is the answer
    negated = negated_spans(text)
    found = {
        code
        for code, pattern in patterns.items()
        if any(not any(a <= m.start() < b for a, b in negated) for m in pattern.finditer(text))
    }
    if found:
        return frozenset(found)
    if NONE_ANSWER.search(text) or (negated and any(p.search(text) for p in patterns.values())):
        return frozenset()  # "none", or every finding it names is negated ("no signs of infarction")
    return None


def normalised(text: str) -> str:
    """Lower case, words only: "Atrial fibrillation." and "atrial  fibrillation" read the same."""
    return " ".join(re.findall(r"[\w%/+-]+", text.lower()))


def chosen_option(question: str, answer: str) -> str | None:
    """The option an answer to a multiple-choice question picks (its text, normalised): by its letter, else by
    naming exactly one option. A question without lettered options (ECG-QA's open ones) takes the answer as it
    is. None: no option can be read from the answer."""
    options = options_of(question)
    if not options:
        return normalised(answer) or None
    letter = re.match(r"\s*\(?([A-F])\)?(?:[.):,]|\s|$)", answer)
    if letter and letter[1] in options:
        return normalised(options[letter[1]])
    named = {normalised(o) for o in options.values() if re.search(rf"\b{re.escape(o)}\b", answer, re.IGNORECASE)}
    return named.pop() if len(named) == 1 else None
