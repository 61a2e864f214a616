"""ECG printout rendering: signal [12, N] in mV -> real-size paper image plus a per-lead geometry sidecar.

settings (print options) -> layout (panels) -> page (mm geometry) -> paper (grid, palette) -> printout
(drawing) -> artefacts / augment (paper, photo and scan effects) -> geometry (sidecar) -> encode.
"""

from ecg_core.render.artefacts import ARTEFACT_NAMES, ArtefactSpec, artefact_specs, sample_artefacts
from ecg_core.render.encode import FORMATS, encode
from ecg_core.render.print_settings import GAINS_MM_MV, GRIDS, LAYOUTS, PAPER_SIZES_MM, SPEEDS_MM_S, PrintSettings
from ecg_core.render.printout import RenderedECG, render_ecg

__all__ = [
    "ARTEFACT_NAMES",
    "FORMATS",
    "GAINS_MM_MV",
    "GRIDS",
    "LAYOUTS",
    "PAPER_SIZES_MM",
    "SPEEDS_MM_S",
    "ArtefactSpec",
    "PrintSettings",
    "RenderedECG",
    "artefact_specs",
    "encode",
    "render_ecg",
    "sample_artefacts",
]
