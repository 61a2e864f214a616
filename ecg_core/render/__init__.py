"""ECG printout rendering: signal [12, N] in mV -> real-size paper-grid image plus per-lead geometry."""

from ecg_core.render.layout import Layout, Panel, standard_3x4
from ecg_core.render.page import Page
from ecg_core.render.paper import STANDARD_PAPER, PaperStyle, paper
from ecg_core.render.printout import RenderedECG, render_ecg, save_png

__all__ = [
    "Layout",
    "Page",
    "Panel",
    "PaperStyle",
    "RenderedECG",
    "STANDARD_PAPER",
    "paper",
    "render_ecg",
    "save_png",
    "standard_3x4",
]
