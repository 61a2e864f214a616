"""Report generation: the record's own report in English, else one written from its labels and measurements.

PTB-XL reports in German (most of them: machine statements from the SCP vocabulary) are translated
with the phrase table of ecg_core.ptbxl_reports and the original kept beside the sample; English
PTB-XL and MIMIC machine reports are used as written, normalised; records without a report (or with a
Swedish one) get a template report (rhythm first, then diagnostic and form statements, then rate and
intervals where known).
"""

from __future__ import annotations

import random

from ecg_core.instruct.facts import Facts
from ecg_core.instruct.families.qa import QA, pick
from ecg_core.labels import SCP_STATEMENTS
from ecg_core.ptbxl_reports.translate import report_language, translate_report

NAME = "report_generation"
QUESTIONS = (
    "Write a diagnostic report for this 12-lead ECG.",
    "Interpret this ECG and write the report a cardiologist would sign.",
    "Describe the rhythm and the findings of this ECG in a short clinical report.",
)
KIND_ORDER = {"rhythm": 0, "diagnostic": 1, "form": 2}


class OutsideVocabulary(ValueError):
    """A label the report vocabulary does not know: the record is skipped, never reported without it."""


def report_from_labels(scp_codes) -> str:
    """An English report from SCP codes, e.g. "Sinus rhythm. Complete left bundle branch block."."""
    unknown = sorted(c for c in scp_codes if c not in SCP_STATEMENTS)
    if unknown:
        raise OutsideVocabulary(f"labels outside the report vocabulary: {', '.join(unknown)}")
    statements = sorted((SCP_STATEMENTS[c] for c in scp_codes), key=lambda s: (KIND_ORDER[s.kind], s.code))
    return " ".join(_sentence(s.description) for s in statements)


def measurement_sentence(facts: Facts) -> str:
    parts = [
        f"{name} {round(value)} ms"
        for name, value in (("PR", facts.pr_ms), ("QRS", facts.qrs_ms), ("QT", facts.qt_ms))
        if value is not None
    ]
    rate = f"Heart rate {round(facts.heart_rate_bpm)} bpm" if facts.heart_rate_bpm is not None else ""
    return " ".join(_sentence(s) for s in ([rate] if rate else []) + ([", ".join(parts)] if parts else []))


def report_of(facts: Facts) -> tuple[str, str, str | None]:
    """(English report, where it came from, the original when it is not used as written).

    German reports are translated; English ones are normalised (annotators' "Edit:" notes and the
    unconfirmed-report boilerplate dropped); Swedish ones (about 100 in PTB-XL) have no phrase table,
    so the report is written from the record's labels instead and the original kept."""
    language = report_language(facts.report) if facts.report else ""
    if language == "de":
        return translate_report(facts.report), "translated", facts.report
    if language == "en":
        return translate_report(facts.report), "original", None
    template = " ".join(s for s in (report_from_labels(facts.codes), measurement_sentence(facts)) if s)
    return template, "template", facts.report or None


def questions(facts: Facts, rng: random.Random) -> list[QA]:
    report, origin, original = report_of(facts)
    if not report:
        return []
    extra = {"report_source": origin} | ({"report_original": original} if original else {})
    return [QA("report", "open", pick(rng, QUESTIONS), report, tuple(sorted(facts.codes)), extra)]


def parse_answer(question: str, answer: str) -> tuple[str, ...]:
    """SCP codes whose statement appears as a sentence of the report (exact for template reports)."""
    sentences = {s.strip().lower() for s in answer.split(".")}
    return tuple(sorted(code for code, s in SCP_STATEMENTS.items() if s.description.lower() in sentences))


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + "."
