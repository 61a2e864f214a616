"""Published ECGBench figures of other models, shown beside our measured rows and never mixed with them.

Each figure is copied from the paper/README named in its source; none is measured here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    model: str  # e.g. "PULSE-7B"
    task: str  # our task name: ptbxl-super, ptbxl-report, code15, ecg-qa, cpsc2018, csn, g12ec, mmmu-ecg, ecg-arena
    metric: str  # auc, macro_f1, hamming, accuracy, report_score, arena_score: in ECGBench's units (percent, 0-100)
    value: float
    source: str  # short citation: paper + table, or repo/path@commit


SOURCES = {  # key -> full citation (title, arXiv id / URL)
    "pulse": "Liu, Bai, Yue, Zhang. Teach Multimodal LLMs to Comprehend Electrocardiographic Images. "
    "arXiv:2410.19008v1 (2024), Table 3 (in-domain) and Table 4 (out-of-domain); the same tables are on the "
    "project page, github.com/AIMedLab/PULSE branch gh-pages, index.html@6fdfba0f3541daba78a338d11aa35ee9a6899d79 "
    "(https://aimedlab.github.io/PULSE/).",
    "gem": "Lan, Wu, He, Zhao, Hong, Feng. GEM: Empowering MLLM for Grounded ECG Understanding with Time Series and "
    "Images. arXiv:2503.06073v2 (NeurIPS 2025), Table 2 (abnormality detection) and Table 3 (report, ECG-QA); "
    "code github.com/lanxiang1017/GEM.",
}

_PULSE_IND = "arXiv:2410.19008v1 Table 3; aimedlab.github.io/PULSE index.html@6fdfba0"
_PULSE_OOD = "arXiv:2410.19008v1 Table 4; aimedlab.github.io/PULSE index.html@6fdfba0"
_GEM_DET = "arXiv:2503.06073v2 Table 2"
_GEM_REP = "arXiv:2503.06073v2 Table 3"

# One row per (task, metric), in ECGBench's column order; values per model in the order of _MODELS.
_MODELS = ("PULSE-7B", "GPT-4o", "GEM (SFT PULSE)", "GEM (SFT LLaVA)")
_TABLE: tuple[tuple[str, str, tuple[float | None, ...], tuple[str, str]], ...] = (
    ("ptbxl-super", "auc", (82.4, 55.6, 83.4, 81.8), (_PULSE_IND, _GEM_DET)),
    ("ptbxl-super", "macro_f1", (74.8, 28.3, 75.8, 73.6), (_PULSE_IND, _GEM_DET)),
    ("ptbxl-super", "hamming", (11.0, 26.2, 11.0, 11.6), (_PULSE_IND, _GEM_DET)),
    ("ptbxl-report", "report_score", (61.3, 50.2, 67.1, 65.0), (_PULSE_IND, _GEM_REP)),
    ("code15", "auc", (90.7, 59.9, 91.5, 90.5), (_PULSE_IND, _GEM_DET)),
    ("code15", "macro_f1", (85.4, 24.9, 86.4, 84.8), (_PULSE_IND, _GEM_DET)),
    ("code15", "hamming", (5.0, 15.7, None, None), (_PULSE_IND, _GEM_DET)),  # GEM's cell unreadable in our copy
    ("ecg-qa", "accuracy", (73.8, 35.2, 73.6, 71.0), (_PULSE_IND, _GEM_REP)),
    ("cpsc2018", "auc", (76.9, 50.9, 79.1, 74.1), (_PULSE_OOD, _GEM_DET)),
    ("cpsc2018", "macro_f1", (57.6, 10.6, None, None), (_PULSE_OOD, _GEM_DET)),  # GEM's cell unreadable in our copy
    ("cpsc2018", "hamming", (8.6, 18.2, 8.1, 9.0), (_PULSE_OOD, _GEM_DET)),
    ("csn", "accuracy", (85.2, 57.5, 86.2, 92.6), (_PULSE_OOD, _GEM_DET)),
    ("g12ec", "accuracy", (78.2, 49.2, 80.5, 81.8), (_PULSE_OOD, _GEM_DET)),
    ("mmmu-ecg", "accuracy", (58.0, 43.5, None, None), (_PULSE_OOD, _GEM_DET)),  # not in the GEM paper
    ("ecg-arena", "arena_score", (38.9, 33.5, None, None), (_PULSE_OOD, _GEM_DET)),  # not in the GEM paper
)

PUBLISHED: tuple[Published, ...] = tuple(
    Published(model, task, metric, value, pulse_src if i < 2 else gem_src)
    for task, metric, values, (pulse_src, gem_src) in _TABLE
    for i, (model, value) in enumerate(zip(_MODELS, values))
    if value is not None
)
