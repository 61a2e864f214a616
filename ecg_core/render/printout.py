"""render_ecg: a 12-lead signal -> a real-size printout image plus the geometry of every drawn lead.

The page is drawn in palette mode (one byte per pixel: paper, grid lines, ink), which is what makes a
plain 200 dpi page cheap to draw and to encode; artefacts, when any fire, work on the RGB page and
report the homography they applied, and the geometry is carried through it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ecg_core.records import LEADS
from ecg_core.render import draw
from ecg_core.render.artefacts import ink_style
from ecg_core.render.augment import augment
from ecg_core.render.geometry import lead_geometry
from ecg_core.render.page import (
    CALIBRATION_LEAD_MM,
    CALIBRATION_PULSE_S,
    HEADER_TOP_MM,
    LINE_SPACING_MM,
    NOTE_ABOVE_BOTTOM_MM,
    Page,
)
from ecg_core.render.panels import Panel
from ecg_core.render.paper import grid_page, palette
from ecg_core.render.print_settings import PrintSettings

LABEL_ABOVE_BASELINE_MM = 11.0  # at most; less on crowded layouts
SEPARATOR_HALF_MM = 2.5
MISSING = "lead missing"
INK_ARTEFACTS = ("faded_ink", "thick_ink")  # applied while drawing, not afterwards


@dataclass
class RenderedECG:
    image: Image.Image  # palette mode for a plain page, RGB once artefacts were applied
    geometry: dict  # JSON-able sidecar; see ecg_core.render.geometry
    jpeg_quality: int | None = None  # set when the jpeg artefact fired


def render_ecg(
    signal: np.ndarray,
    fs: float,
    settings: PrintSettings = PrintSettings(),
    *,
    header: Sequence[str] = (),
    artefacts: Mapping[str, float] | None = None,
    seed: int = 0,
) -> RenderedECG:
    """Draw a [12, N] signal in mV sampled at fs Hz as a printout, then apply the fired `artefacts`
    ({name: strength}, see ecg_core.render.artefacts) with `seed`.

    Shows the first 10 s (5 s at 50 mm/s); a shorter record leaves the rest blank, NaN samples leave
    gaps, and a lead with no finite sample in the shown window is drawn flat and labelled "lead missing".
    """
    signal = np.asarray(signal)
    if signal.ndim != 2 or signal.shape[0] != len(LEADS) or signal.shape[1] == 0:
        raise ValueError(f"signal must be [12, N] (leads {', '.join(LEADS)}) with N > 0, got shape {signal.shape}")
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a positive number, got {fs!r}")
    artefacts = dict(artefacts or {})
    page = Page(settings)
    shown = signal[:, : math.ceil(page.layout.paper_seconds * fs)].astype(np.float64)
    ink, pen_scale = ink_style(artefacts)

    image = grid_page(*page.size_px, page.px_per_mm)
    image.putpalette(palette(settings.grid, ink, settings.monochrome))
    pen = ImageDraw.Draw(image)
    width = draw.trace_width_px(page.px_per_mm, pen_scale)
    leads = [_draw_panel(pen, page, panel, shown, fs, width) for panel in page.layout.panels]
    _draw_furniture(pen, page, width, header if settings.header else ())

    geometry = {
        "layout": page.layout.name,
        "rhythm_leads": list(settings.strips),
        "paper_size": settings.paper_size,
        "grid": settings.grid,
        "monochrome": settings.monochrome,
        "page_width_mm": page.width_mm,
        "page_height_mm": page.height_mm,
        "page_width_px": image.width,
        "page_height_px": image.height,
        "dpi": float(settings.dpi),
        "px_per_mm": page.px_per_mm,
        "speed_mm_s": page.speed_mm_s,
        "gain_mm_mv": page.gain_mm_mv,
        "paper_seconds": page.layout.paper_seconds,
        "trace_width_px": width,
        "fs": float(fs),
        "n_samples": int(signal.shape[1]),
        "seed": int(seed),
        "artefacts": {name: round(float(s), 4) for name, s in artefacts.items()},
    }
    homography = np.eye(3)
    jpeg_quality = None
    if set(artefacts) - set(INK_ARTEFACTS):
        augmented = augment(np.asarray(image.convert("RGB")), artefacts, seed, page.px_per_mm)
        image, homography, jpeg_quality = (
            Image.fromarray(augmented.image, "RGB"),
            augmented.homography,
            augmented.jpeg_quality,
        )
    geometry["width_px"], geometry["height_px"] = image.size
    geometry["homography"] = np.round(homography, 9).tolist()
    geometry["leads"] = [lead_geometry(entry, points, homography, image.size, width) for entry, points in leads]
    return RenderedECG(image, geometry, jpeg_quality)


def _draw_panel(pen: ImageDraw.ImageDraw, page: Page, panel: Panel, shown: np.ndarray, fs: float, width: int):
    """Draw one panel's trace, label and separator; returns its page-coordinate entry and trace points."""
    lead = shown[LEADS.index(panel.lead)]
    n_shown = shown.shape[1]
    start = min(math.ceil(panel.t_start * fs - 1e-9), n_shown)
    end = min(math.ceil(panel.t_end * fs - 1e-9), n_shown)
    missing = not np.isfinite(lead).any()
    mv = np.zeros(end - start) if missing else lead[start:end]
    baseline = page.baseline_mm(panel.row)
    x = page.panel_x_mm(panel, np.arange(start, end) / fs) * page.px_per_mm
    # Clipped well inside int32, so absurd amplitudes run off the page instead of overflowing.
    y = np.clip((baseline - mv * page.gain_mm_mv) * page.px_per_mm, -1e6, 1e6)
    points = np.rint(np.stack([x, y], axis=1))
    points[np.isnan(y)] = np.nan  # a gap is a gap in both coordinates
    draw.polyline(pen, points, width)

    label_height = min(draw.LABEL_HEIGHT_MM, 0.25 * page.row_pitch_mm)
    label_top = baseline - min(LABEL_ABOVE_BASELINE_MM, 0.5 * page.row_pitch_mm)
    x0_mm = page.panel_x_mm(panel, panel.t_start)
    label = f"{panel.lead} ({MISSING})" if missing else panel.lead
    label_px = page.px(label_height)
    label_x = _clear_of_trace(
        points,
        page.px(x0_mm + 1.0),
        page.px(label_top + label_height),
        draw.font(label_px).getlength(label) + page.px(0.5),
        page.px(page.panel_x_mm(panel, (panel.t_start + panel.t_end) / 2)),
    )
    draw.text(pen, label_x, page.px(label_top), label, label_px)
    if panel.paper_start > 0:
        draw.vertical_tick(
            pen, page.px(x0_mm), page.px(baseline - SEPARATOR_HALF_MM), page.px(baseline + SEPARATOR_HALF_MM), width
        )
    entry = {
        "name": panel.lead,
        "row": panel.row,
        "rhythm": panel.rhythm,
        "missing": missing,
        "t_start": panel.t_start,
        "t_end": panel.t_end,
        "sample_start": start,
        "sample_end": end,
        "baseline_y": page.px(baseline),
        "x_range": [page.px(x0_mm), page.px(page.panel_x_mm(panel, panel.t_end))],
    }
    return entry, points


def _clear_of_trace(points: np.ndarray, x_px: int, bottom_px: int, width_px: float, limit_px: int) -> int:
    """The first x from `x_px` where a label `width_px` wide no longer sits on its trace (a QRS rising through
    the label's line), searched up to `limit_px`; `x_px` when there is no such place."""
    above = points[points[:, 1] < bottom_px, 0]  # NaN rows (gaps) compare False and drop out
    above = np.sort(above[above >= x_px - width_px])
    x = x_px
    while x <= limit_px:
        blocking = above[(above >= x - 1) & (above <= x + width_px)]
        if blocking.size == 0:
            return int(x)
        x = blocking.max() + 2
    return x_px


def _draw_furniture(pen: ImageDraw.ImageDraw, page: Page, width: int, header: Sequence[str]) -> None:
    """Calibration pulses, the speed/gain line and the optional header."""
    pulse_mm = CALIBRATION_PULSE_S * page.speed_mm_s
    x0 = page.calibration_x_mm
    pulse_x0 = page.px(x0 + CALIBRATION_LEAD_MM)
    for row in range(page.layout.n_rows):
        baseline = page.px(page.baseline_mm(row))
        # Width and height rounded once, not per edge, so the pulse measures exactly 0.2 s x 1 mV in pixels.
        draw.calibration_pulse(
            pen,
            page.px(x0),
            page.px(x0 + page.calibration_zone_mm),
            pulse_x0,
            pulse_x0 + page.px(pulse_mm),
            baseline,
            baseline - page.px(page.gain_mm_mv),
            width,
        )
    note_px = page.px(draw.NOTE_HEIGHT_MM)
    note = f"{page.speed_mm_s:g} mm/s   {page.gain_mm_mv:g} mm/mV   {page.layout.name}"
    draw.text(pen, page.px(x0), page.px(page.height_mm - NOTE_ABOVE_BOTTOM_MM), note, note_px)
    for k, line in enumerate(header):
        draw.text(pen, page.px(x0), page.px(HEADER_TOP_MM + k * LINE_SPACING_MM), line, note_px)
