"""render_ecg: a 12-lead signal -> a real-size printout image plus the geometry of every drawn lead."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ecg_core.records import LEADS
from ecg_core.render import draw
from ecg_core.render.layout import Panel, standard_3x4
from ecg_core.render.page import (
    CALIBRATION_PULSE_S,
    CALIBRATION_ZONE_S,
    MM_PER_INCH,
    ROW_ABOVE_BASELINE_MM,
    ROW_BELOW_BASELINE_MM,
    Page,
)
from ecg_core.render.paper import paper

LABEL_OFFSET_MM = (1.0, -11.0)  # label's top-left corner relative to the panel's start on the baseline
HEADER_TOP_MM = 4.0
NOTE_ABOVE_BOTTOM_MM = 8.0  # the speed/gain line, in the margin below the rhythm strip
SEPARATOR_HALF_MM = 2.5
MISSING = "lead missing"


@dataclass
class RenderedECG:
    image: Image.Image  # RGB
    geometry: dict  # JSON-able; see _panel_geometry for the per-lead entries


def render_ecg(
    signal: np.ndarray,
    fs: float,
    *,
    dpi: float = 100.0,
    speed_mm_s: float = 25.0,
    gain_mm_mv: float = 10.0,
    rhythm_lead: str = "II",
    header: str | None = None,
) -> RenderedECG:
    """Draw the standard 3x4 + rhythm-strip printout of a [12, N] signal in mV sampled at fs Hz.

    Shows the first 10 s; a shorter record leaves the rest blank, NaN samples leave gaps, and a lead
    with no finite sample in the shown window is drawn flat and labelled "lead missing".
    """
    signal = np.asarray(signal)
    if signal.ndim != 2 or signal.shape[0] != len(LEADS) or signal.shape[1] == 0:
        raise ValueError(
            f"signal must be [12, N] (leads {', '.join(LEADS)}) with N > 0, got shape {signal.shape}"
        )
    for name, value in (("fs", fs), ("dpi", dpi), ("speed_mm_s", speed_mm_s), ("gain_mm_mv", gain_mm_mv)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    layout = standard_3x4(rhythm_lead)
    page = Page(layout, float(speed_mm_s), float(gain_mm_mv), dpi / MM_PER_INCH)
    shown = signal[:, : math.ceil(layout.paper_seconds * fs)].astype(np.float64)
    missing = ~np.isfinite(shown).any(axis=1)

    image = paper(*page.size_px, page.px_per_mm)
    pen = ImageDraw.Draw(image)
    width = draw.trace_width_px(page.px_per_mm)
    label_px = page.px(draw.LABEL_HEIGHT_MM)
    for row in range(layout.n_rows):
        _calibration(pen, page, row, width)
    leads = []
    for panel in layout.panels:
        lead = LEADS.index(panel.lead)
        entry = _panel_geometry(page, panel, fs, shown.shape[1], bool(missing[lead]))
        _trace(pen, page, panel, entry, shown[lead], fs, width)
        label = f"{panel.lead} ({MISSING})" if entry["missing"] else panel.lead
        x = page.panel_x_mm(panel, panel.t_start) + LABEL_OFFSET_MM[0]
        y = page.baseline_mm(panel.row) + LABEL_OFFSET_MM[1]
        draw.text(pen, page.px(x), page.px(y), label, label_px)
        if panel.paper_start > 0:
            _separator(pen, page, panel, width)
        leads.append(entry)

    note_px = page.px(draw.NOTE_HEIGHT_MM)
    margin_x = page.px(page.calibration_x_mm)
    note = f"{speed_mm_s:g} mm/s  {gain_mm_mv:g} mm/mV"
    draw.text(pen, margin_x, page.px(page.height_mm - NOTE_ABOVE_BOTTOM_MM), note, note_px)
    if header:
        draw.text(pen, margin_x, page.px(HEADER_TOP_MM), header, note_px)

    geometry = {
        "layout": layout.name,
        "width_px": image.width,
        "height_px": image.height,
        "width_mm": page.width_mm,
        "height_mm": page.height_mm,
        "dpi": float(dpi),
        "px_per_mm": page.px_per_mm,
        "speed_mm_s": page.speed_mm_s,
        "gain_mm_mv": page.gain_mm_mv,
        "trace_width_px": width,
        "fs": float(fs),
        "n_samples": int(signal.shape[1]),
        "leads": leads,
    }
    return RenderedECG(image, geometry)


def save_png(rendered: RenderedECG) -> bytes:
    """PNG bytes; light compression because encoding dominates render time at higher levels."""
    buffer = io.BytesIO()
    rendered.image.save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def _panel_geometry(page: Page, panel: Panel, fs: float, n_shown: int, missing: bool) -> dict:
    """Where a panel is drawn: samples [sample_start, sample_end) of its lead, inside bbox, around baseline_y."""
    sample_start = min(math.ceil(panel.t_start * fs - 1e-9), n_shown)
    sample_end = min(math.ceil(panel.t_end * fs - 1e-9), n_shown)
    baseline = page.baseline_mm(panel.row)
    width, height = page.size_px
    return {
        "name": panel.lead,
        "row": panel.row,
        "rhythm": panel.rhythm,
        "missing": missing,
        "t_start": panel.t_start,
        "t_end": panel.t_end,
        "sample_start": sample_start,
        "sample_end": sample_end,
        "bbox": [
            page.px(page.panel_x_mm(panel, panel.t_start)),
            max(0, page.px(baseline - ROW_ABOVE_BASELINE_MM)),
            page.px(page.panel_x_mm(panel, panel.t_end)),
            min(height, page.px(baseline + ROW_BELOW_BASELINE_MM)),
        ],
        "baseline_y": page.px(baseline),
    }


def _trace(
    pen: ImageDraw.ImageDraw, page: Page, panel: Panel, entry: dict, lead: np.ndarray, fs: float, width: int
) -> None:
    start, end = entry["sample_start"], entry["sample_end"]
    if start >= end:
        return
    if entry["missing"]:
        t = np.array([start, end - 1]) / fs
        mv = np.zeros(2)
    else:
        t = np.arange(start, end) / fs
        mv = lead[start:end]
    x = page.panel_x_mm(panel, t) * page.px_per_mm
    y = (page.baseline_mm(panel.row) - mv * page.gain_mm_mv) * page.px_per_mm
    draw.polyline(pen, x, y, width)


def _calibration(pen: ImageDraw.ImageDraw, page: Page, row: int, width: int) -> None:
    zone_mm = CALIBRATION_ZONE_S * page.speed_mm_s
    pulse_mm = CALIBRATION_PULSE_S * page.speed_mm_s
    x0 = page.calibration_x_mm
    pulse_x0 = page.px(x0 + (zone_mm - pulse_mm) / 2)
    baseline = page.px(page.baseline_mm(row))
    # Width and height rounded once, not per edge, so the pulse measures exactly 0.2 s x 1 mV in pixels.
    draw.calibration_pulse(
        pen,
        page.px(x0),
        page.px(x0 + zone_mm),
        pulse_x0,
        pulse_x0 + page.px(pulse_mm),
        baseline,
        baseline - page.px(page.gain_mm_mv),
        width,
    )


def _separator(pen: ImageDraw.ImageDraw, page: Page, panel: Panel, width: int) -> None:
    x = page.px(page.panel_x_mm(panel, panel.t_start))
    baseline = page.baseline_mm(panel.row)
    draw.vertical_tick(pen, x, page.px(baseline - SEPARATOR_HALF_MM), page.px(baseline + SEPARATOR_HALF_MM), width)
