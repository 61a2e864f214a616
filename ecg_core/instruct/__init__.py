"""Instruction data in the ECGInstruct/LLaVA format built from canonical records."""

from ecg_core.instruct.build import (
    NO_CLASS_ANSWER,
    TASK_FAMILIES,
    build_samples,
    split_samples,
    statistics,
)
from ecg_core.instruct.reports import report_from_labels

__all__ = [
    "NO_CLASS_ANSWER",
    "TASK_FAMILIES",
    "build_samples",
    "report_from_labels",
    "split_samples",
    "statistics",
]
