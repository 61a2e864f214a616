"""Question phrasings per task family; a seeded draw picks one, so the model learns the task, not a string."""

from ecg_core.labels import SUPERCLASSES

_CLASS_LIST = ", ".join(SUPERCLASSES)

ABNORMALITY_DETECTION = (
    f"Which of the following diagnostic classes does this ECG show: {_CLASS_LIST}? "
    "Answer with the class codes, separated by commas.",
    f"Classify this 12-lead ECG into the PTB-XL superclasses ({_CLASS_LIST}). "
    "List every class that applies.",
    f"Identify the abnormalities in this ECG image. Options: {_CLASS_LIST}. Give all that apply.",
)

REPORT_GENERATION = (
    "Write a diagnostic report for this 12-lead ECG.",
    "Interpret this ECG and write the report a cardiologist would sign.",
    "Describe the rhythm and the findings of this ECG in a short clinical report.",
)
