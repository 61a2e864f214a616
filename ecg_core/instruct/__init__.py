"""Instruction data in the ECGInstruct/LLaVA format built from canonical records and their rendered images."""

from ecg_core.instruct.build import build_samples, deduplicate, is_detection_sample, mix, split_samples, statistics
from ecg_core.instruct.families import FAMILIES
from ecg_core.instruct.families.abnormality import NO_CLASS_ANSWER
from ecg_core.instruct.families.qa import STYLES

__all__ = [
    "FAMILIES",
    "NO_CLASS_ANSWER",
    "STYLES",
    "build_samples",
    "deduplicate",
    "is_detection_sample",
    "mix",
    "split_samples",
    "statistics",
]
