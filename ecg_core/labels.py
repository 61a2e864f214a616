"""Label vocabularies: PTB-XL SCP statements and their diagnostic superclasses."""

from __future__ import annotations

from dataclasses import dataclass

# The 5 PTB-XL diagnostic superclasses, in the order the benchmark (and ECGBench) lists them.
SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")

SUPERCLASS_NAMES = {
    "NORM": "normal ECG",
    "MI": "myocardial infarction",
    "STTC": "ST/T change",
    "CD": "conduction disturbance",
    "HYP": "hypertrophy",
}


@dataclass(frozen=True)
class SCPStatement:
    code: str
    description: str  # English description as in PTB-XL scp_statements.csv
    kind: str  # "diagnostic", "form" or "rhythm"
    superclass: str | None  # diagnostic_class in scp_statements.csv; None for form/rhythm statements


# The SCP statements the pipeline emits itself (synthetic source, template reports), copied from
# PTB-XL's scp_statements.csv. The ingest readers bring the full 71-statement table.
SCP_STATEMENTS: dict[str, SCPStatement] = {
    s.code: s
    for s in [
        SCPStatement("NORM", "normal ECG", "diagnostic", "NORM"),
        SCPStatement("IMI", "inferior myocardial infarction", "diagnostic", "MI"),
        SCPStatement("AMI", "anterior myocardial infarction", "diagnostic", "MI"),
        SCPStatement("ASMI", "anteroseptal myocardial infarction", "diagnostic", "MI"),
        SCPStatement("ISC_", "non-specific ischemic", "diagnostic", "STTC"),
        SCPStatement("NST_", "non-specific ST changes", "diagnostic", "STTC"),
        SCPStatement("NDT", "non-diagnostic T abnormalities", "diagnostic", "STTC"),
        SCPStatement("1AVB", "first degree AV block", "diagnostic", "CD"),
        SCPStatement("CLBBB", "complete left bundle branch block", "diagnostic", "CD"),
        SCPStatement("CRBBB", "complete right bundle branch block", "diagnostic", "CD"),
        SCPStatement("LVH", "left ventricular hypertrophy", "diagnostic", "HYP"),
        SCPStatement("STD_", "non-specific ST depression", "form", None),
        SCPStatement("INVT", "inverted T-waves", "form", None),
        SCPStatement("SR", "sinus rhythm", "rhythm", None),
        SCPStatement("SBRAD", "sinus bradycardia", "rhythm", None),
        SCPStatement("STACH", "sinus tachycardia", "rhythm", None),
        SCPStatement("AFIB", "atrial fibrillation", "rhythm", None),
    ]
}


def superclasses_of(scp_codes: dict[str, float], min_likelihood: float = 0.0) -> list[str]:
    """Superclasses implied by SCP codes, in SUPERCLASSES order.

    As in the PTB-XL benchmark, a diagnostic statement counts whatever its likelihood unless a threshold
    is given; codes outside the known vocabulary are ignored here (ingest reports them).
    """
    present = {
        SCP_STATEMENTS[c].superclass
        for c, likelihood in scp_codes.items()
        if c in SCP_STATEMENTS and SCP_STATEMENTS[c].superclass and likelihood >= min_likelihood
    }
    return [s for s in SUPERCLASSES if s in present]
