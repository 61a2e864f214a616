"""Answer text -> label set, matching whole words only.

Substring matching (as some published scorers do) reads "ST" inside "STTC" or "MI" inside "MIXED";
we match label codes as whole tokens and full class names as whole phrases. An answer with no label
and no explicit "none" is *unparsed* (None): it is counted as such, never guessed.
"""

from __future__ import annotations

import re

from ecg_core.labels import SUPERCLASS_NAMES, SUPERCLASSES

_NONE_WORDS = re.compile(r"\b(none|no abnormalit(y|ies)|no diagnostic class(es)?)\b", re.IGNORECASE)


def parse_labels(
    text: str,
    vocabulary: tuple[str, ...] = SUPERCLASSES,
    names: dict[str, str] = SUPERCLASS_NAMES,
) -> frozenset[str] | None:
    tokens = set(re.findall(r"[A-Za-z0-9_]+", text))
    found = {code for code in vocabulary if code in tokens}
    lowered = f" {' '.join(re.findall(r'[a-z0-9]+', text.lower()))} "
    found |= {code for code, name in names.items() if code in vocabulary and f" {' '.join(re.findall(r'[a-z0-9]+', name))} " in lowered}
    if found:
        return frozenset(found)
    if _NONE_WORDS.search(text):
        return frozenset()
    return None
