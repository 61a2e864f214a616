"""What a record says about itself, in the terms questions are asked in: rhythm, rate, regularity, axis,
conduction, hypertrophy, ST-T, Q waves and intervals. A fact the record does not support is None, and
questions about it are not asked (never guessed).

Sources, in order of trust: SCP codes (PTB-XL statements, or their equivalents from other datasets),
PTB-XL's `heart_axis` annotation, and measurements (`extra["measurements"]`: MIMIC machine measurements,
or the values a synthetic record was built with).
"""

from __future__ import annotations

from dataclasses import dataclass

from ecg_core.records import ECGRecord

# Rhythm statements -> the rhythm as a clinician names it; the first present wins (AF over sinus).
RHYTHMS: dict[str, str] = {
    "AFIB": "atrial fibrillation",
    "AFLT": "atrial flutter",
    "SVTAC": "supraventricular tachycardia",
    "PSVT": "supraventricular tachycardia",
    "STACH": "sinus tachycardia",
    "SBRAD": "sinus bradycardia",
    "SARRH": "sinus arrhythmia",
    "SR": "sinus rhythm",
}
RHYTHM_NAMES = tuple(dict.fromkeys(RHYTHMS.values()))
IRREGULAR = {"AFIB", "SARRH", "PVC", "PAC", "PRC(S)", "BIGU", "TRIGU", "SVARR", "2AVB"}
# PTB-XL heart_axis values -> axis category.
PTBXL_AXIS = {
    "MID": "normal",
    "LAD": "left",
    "ALAD": "left",
    "AXL": "left",
    "RAD": "right",
    "ARAD": "right",
    "AXR": "right",
    "SAG": "indeterminate",
}
AXES = ("normal", "left", "right", "extreme", "indeterminate")
BUNDLE_BRANCH = {
    "CLBBB": "complete left",
    "ILBBB": "incomplete left",
    "CRBBB": "complete right",
    "IRBBB": "incomplete right",
}
HYPERTROPHY = {"LVH": "left ventricular", "VCLVH": "left ventricular", "RVH": "right ventricular", "SEHYP": "septal"}
ST_T_CODES = {"STD_", "STE_", "INVT", "NDT", "NST_", "DIG", "LNGQT", "ANEUR", "EL", "LOWT", "NT_", "TAB_"} | {
    f"ISC{s}" for s in ("_", "AL", "IN", "IL", "AS", "LA", "AN")
}
Q_WAVE_CODES = {"QWAVE"}


@dataclass(frozen=True)
class Facts:
    codes: frozenset[str]  # SCP codes of the record (diagnostic, form and rhythm statements)
    superclasses: tuple[str, ...]
    subclasses: tuple[str, ...] | None  # PTB-XL diagnostic subclasses, where the dataset gives them
    rhythm: str | None  # a RHYTHM_NAMES value
    regular: bool | None
    heart_rate_bpm: float | None
    pr_ms: float | None
    qrs_ms: float | None
    qt_ms: float | None
    axis: str | None  # an AXES value
    bundle_branch_block: str | None  # a BUNDLE_BRANCH value, "none", or None when the record has no statements
    hypertrophy: str | None  # a HYPERTROPHY value, "none", or None
    st_t_change: bool | None
    q_waves: bool | None
    report: str = ""  # the record's own report as written (any language), "" when it has none


def record_codes(record: ECGRecord) -> frozenset[str]:
    """SCP codes: the labels themselves, or their PTB-XL equivalents (CODE-15 keeps them in extra)."""
    return frozenset(record.extra.get("scp_codes") or record.labels)


def facts_of(record: ECGRecord) -> Facts:
    codes = record_codes(record)
    measured = record.extra.get("measurements") or {}
    has_statements = bool(codes)
    rhythm = next((name for code, name in RHYTHMS.items() if code in codes), None)
    regular = measured.get("rr_regular")
    if regular is None and rhythm is not None:
        regular = not (codes & IRREGULAR)
    subclasses = record.extra.get("subclasses")
    return Facts(
        codes=codes,
        superclasses=tuple(record.superclasses),
        subclasses=tuple(subclasses) if subclasses is not None else None,
        rhythm=rhythm,
        regular=regular,
        heart_rate_bpm=_number(measured.get("heart_rate_bpm")),
        pr_ms=_number(measured.get("pr_ms")),
        qrs_ms=_number(measured.get("qrs_ms")),
        qt_ms=_number(measured.get("qt_ms")),
        axis=_axis(record.extra.get("heart_axis"), measured.get("qrs_axis")),
        bundle_branch_block=_first(codes, BUNDLE_BRANCH) if has_statements else None,
        hypertrophy=_first(codes, HYPERTROPHY) if has_statements else None,
        st_t_change=bool(codes & ST_T_CODES or "STTC" in record.superclasses) if has_statements else None,
        q_waves=bool(codes & Q_WAVE_CODES) if has_statements else None,
        report=record.report.strip(),
    )


def _first(codes: frozenset[str], table: dict[str, str]) -> str:
    return next((name for code, name in table.items() if code in codes), "none")


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value == value else None


def _axis(annotation: str | None, qrs_axis_deg) -> str | None:
    """PTB-XL's annotation, else the frontal QRS axis: normal -30..90, left -90..-30, right 90..180."""
    if annotation in PTBXL_AXIS:
        return PTBXL_AXIS[annotation]
    degrees = _number(qrs_axis_deg)
    if degrees is None:
        return None
    degrees = (degrees + 180.0) % 360.0 - 180.0
    if -30.0 <= degrees <= 90.0:
        return "normal"
    if -90.0 <= degrees < -30.0:
        return "left"
    return "right" if 90.0 < degrees <= 180.0 else "extreme"
