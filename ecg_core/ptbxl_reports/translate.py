"""German -> English translation of PTB-XL ECG reports by the phrase table of phrases.py.

Most PTB-XL reports are the German statements of the recording machine's SCP vocabulary, run together
without punctuation ("sinusrhythmus linkstyp qrs(t) abnorm inferiorer infarkt alter unbest."); some are
free text by a physician in the same terms and their abbreviations. The translation is deterministic:
the normalised report is scanned left to right, at each word the first phrase of the table that matches
is taken (the table lists longer, more specific phrases first), and each phrase opens a new English
sentence, continues the current one (qualifiers, leads, numbers) or qualifies the next phrase
("verdacht auf" -> "suspected ..."). Words the table does not know are kept as written;
`untranslated_words` lists them.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ecg_core.ptbxl_reports.phrases import LOCATIONS, PHRASES

# Umlauts come as "ä", as a capital "Ä" inside lower-case words, as "ae", or as "#" (a lost character:
# "f#r", "#bergang"); all become the "ae/oe/ue" spelling the phrase table is written in.
_SPELLING = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("#", "ue"))
# Text that states no finding is dropped before translation:
# - "Edit: ..." to the end: an annotator's coding note (label codes, Sokolow index), not the report;
# - "4.46" (also "4.4", "4.40"): the version of the interpretation program;
# - "unbestätigter bericht" / "unconfirmed report": the report was not confirmed by a physician. It is
#   also where the 255-character field limit most often cuts a report, so a cut-off beginning goes too.
_EDIT = re.compile(r"\bedit:.*", re.IGNORECASE | re.DOTALL)
_NOT_CONFIRMED = ("unbestaetigter bericht", "unconfirmed report")
_FIELD_LIMIT = 255


def _cut_off(phrase: str) -> str:
    """A pattern for any non-empty beginning of the phrase, longest first."""
    return "|".join(re.escape(phrase[:n]) for n in range(len(phrase), 0, -1))


_CUT_IN_CLOSING = re.compile(r" (?:%s)$" % _cut_off("4.46 unbestaetigter bericht"))
_BOILERPLATE = re.compile(
    r"\b4\.4\d?(?:\s+(?:%s)\s*$|(?=\s|$))|\b(?:%s)\b"
    % ("|".join(_cut_off(p) for p in _NOT_CONFIRMED), "|".join(_NOT_CONFIRMED)),
    re.IGNORECASE,
)


# Words that mark a report as German; words of English and Swedish reports count against them.
_GERMAN_MARKERS = frozenset(
    "sinusrhythmus lagetyp linkstyp rechtstyp steiltyp infarkt ableitungen vorhofflimmern vorhofflattern "
    "extrasystole(n) extrasystolen niederspannung abnorm abnormes abnormales linksschenkelblock "
    "rechtsschenkelblock ischaemie linksbelastung myokardschaden wahrscheinlich moeglich auszuschliessen "
    "pathologisch pathologisches sinustachykardie sinusbradykardie arrhythmie linkshypertrophie verdacht "
    "fuer oder und mit nach nicht ueberdrehter unvollstaendiger vollstaendiger leitungsstoerung "
    "ventrikulaere supraventrikulaere p-sinistrocardiale p-verbreiterung qt-verlaengerung st-senkung st-hebung "
    "ekg normales neg flach grenzbefund llt".split()
)
_ENGLISH_MARKERS = frozenset(
    "rhythm the are is of with and ecg atrial ventricular fibrillation premature contraction(s) deviation "
    "waves leads infarction possible probable old consistent hypertrophy segments depressed inverted "
    "changes requested trace pathology definite otherwise minor non-specific axis".split()
)
_SWEDISH_MARKERS = frozenset(
    "sinusrytm vaenster ospecifik foeraendring eller el-axel avvikande foerlopp extrasystoli(er) "
    "foermaksflimmer/-fladder skaenkelblock belastning ischemi".split()
)

# Leads; inside a list "r", "l", "f" are aVR, aVL, aVF and a bare digit after a V lead is a V lead.
_LEAD = r"(?:v[1-6]|avr|avl|avf|iii|ii|i)"
_ITEM = rf"{_LEAD}(?: ?- ?(?:{_LEAD}|[1-6]))?"
_FIRST_LEAD = rf"(?:{_ITEM}|[lf](?=, ?(?:{_LEAD}|[rlf])(?!\w))|(?<=in )[lf])"
_LEADS = re.compile(rf"{_FIRST_LEAD}(?:(?: ?, ?|/| \+ )(?:{_ITEM}|[rlf])| [lf]|(?:,|/)[1-6])*(?![\w(])")
_NUMBER = re.compile(r"[<>]? ?\d+(?:[.,:/x-]\d+)*(?: ?/ ?min)?\.?(?![\w(])")
_WORD = re.compile(r"[^\s,;:()]+")
_SEPARATORS = re.compile(r"[\s,;:()*!/+.-]*")


def _expand(pattern: str, english: str) -> list[tuple[str, str]]:
    if "{loc}" not in pattern:
        return [(pattern, english)]
    return [(pattern.replace("{loc}", stem), english.replace("{loc}", name)) for stem, name in LOCATIONS.items()]


def _compile(phrases) -> dict[str, tuple[re.Pattern, dict[str, str]]]:
    """One alternation per first character, so a word is only tried against the phrases it can start."""
    buckets: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pattern, english in phrases:
        for entry in _expand(pattern, english):
            if not re.match(r"[a-z0-9]", entry[0]) or entry[0][1:2] in ("?", "*", "{"):
                raise ValueError(f"phrase pattern must begin with a literal character: {entry[0]!r}")
            buckets[entry[0][0]].append(entry)
    tables = {}
    for first, entries in buckets.items():
        alternatives = "|".join(f"(?P<p{i}>{p})".replace(" ", r"\s*") for i, (p, _) in enumerate(entries))
        tables[first] = (re.compile(rf"(?:{alternatives})(?![\w(])"), {f"p{i}": e for i, (_, e) in enumerate(entries)})
    return tables


_TABLES = _compile(PHRASES)


def _spelled(text: str) -> str:
    text = text.lower()
    for umlaut, spelled in _SPELLING:
        text = text.replace(umlaut, spelled)
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Lower case, one umlaut spelling, single spaces, without the boilerplate that states no finding."""
    return " ".join(_BOILERPLATE.sub(" ", _spelled(_EDIT.sub("", text))).split())


def report_language(text: str) -> str:
    """ "de", "en" or "sv" by the marker words it holds (German wins ties: its reports are the majority)."""
    words = normalise(text).replace(".", " ").split()
    german, english, swedish = (
        sum(w in markers for w in words) for markers in (_GERMAN_MARKERS, _ENGLISH_MARKERS, _SWEDISH_MARKERS)
    )
    if german and german >= english + swedish:
        return "de"
    return "sv" if swedish > english else "en"


def is_german(text: str) -> bool:
    return report_language(text) == "de"


def _format_leads(text: str) -> str:
    """ "ii,iii,avf" -> "II, III, aVF"; "v4,5,6" -> "V4, V5, V6"; "v1-3" -> "V1-V3"; "iii,f" -> "III, aVF"."""
    text = re.sub(r"\s", "", text)
    text = re.sub(r"(v[1-6](?:-v?[1-6])?)((?:[,/][1-6])+)", lambda m: m[1] + re.sub(r"([1-6])", r"v\1", m[2]), text)
    text = re.sub(r"(v[1-6])-([1-6])", r"\1-v\2", text)
    items = re.split(r"[,/+]", text)
    return ", ".join({"r": "aVR", "l": "aVL", "f": "aVF"}.get(i) or i.upper().replace("AV", "aV") for i in items)


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The report as (English, known) pieces in order; English keeps the table's "+" marks and an unknown
    word is kept as written."""
    pieces = []
    pos = _SEPARATORS.match(text).end()
    while pos < len(text):
        table, english = _TABLES.get(text[pos], (None, None))
        if table and (m := table.match(text, pos)):
            pieces.append((english[m.lastgroup], True))
        elif m := _LEADS.match(text, pos):
            pieces.append(("+" + _format_leads(m[0]), True))
        elif m := _NUMBER.match(text, pos):
            pieces.append(("+" + m[0], True))
        else:
            m = _WORD.match(text, pos)
            pieces.append(("+" + m[0], False))
        pos = _SEPARATORS.match(text, m.end()).end()
    return pieces


def _without_last_statement(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    start = 0
    for i, (english, _) in enumerate(pieces):
        if not english.startswith("+") and not (i and pieces[i - 1][0].endswith("+")):
            start = i
    return pieces[:start]


def _sentences(pieces: list[tuple[str, bool]]) -> list[str]:
    sentences: list[str] = []
    joined = False  # the last piece asked to be continued
    for english, _ in pieces:
        continues = english.startswith("+") or joined
        joined = english.endswith("+")
        english = english.strip("+")
        if continues and sentences:
            sentences[-1] += english if english.startswith(",") else " " + english
        else:
            sentences.append(english.lstrip(", "))
    return sentences


def _finish(sentence: str) -> str:
    sentence = sentence.strip().rstrip(",;:")
    sentence = sentence[:1].upper() + sentence[1:]
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def _normalise_english(text: str) -> str:
    text = re.sub(r"\becg\b", "ECG", " ".join(_BOILERPLATE.sub(" ", _EDIT.sub("", text)).split()), flags=re.IGNORECASE)
    if not text:
        return ""
    *sentences, last = re.split(r"(?<=[.!?]) (?=[a-z])", text)
    return " ".join([s[:1].upper() + s[1:] for s in sentences] + [_finish(last)])


def _german_pieces(text: str) -> list[tuple[str, bool]]:
    body = _EDIT.sub("", text).rstrip()
    if len(body) < _FIELD_LIMIT:
        return _pieces(normalise(body))
    # Cut by the field limit: the last word is cut off, and unless the cut fell in the closing boilerplate
    # so is the statement it belongs to, which is dropped rather than guessed.
    spelled = _spelled(body)
    pieces = _pieces(normalise(spelled.rsplit(" ", 1)[0]))
    return pieces if _CUT_IN_CLOSING.search(spelled) else _without_last_statement(pieces)


def translate_report(text: str) -> str:
    """A German report as English sentences; an English (or other) report normalised only."""
    if not is_german(text):
        return _normalise_english(text)
    return " ".join(_finish(s) for s in _sentences(_german_pieces(text)))


def untranslated_words(text: str) -> list[str]:
    """The words of a German report the phrase table does not know (kept as written in its translation)."""
    if not is_german(text):
        return []
    return [english.lstrip("+") for english, known in _german_pieces(text) if not known and re.search("[a-z]", english)]
