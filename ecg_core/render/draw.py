"""Ink on the paper: lead traces, calibration pulses, separators and text."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import ImageDraw, ImageFont

INK = (0, 0, 0)
# 0.35 mm pen, never under 2 px, so a trace survives downscaling a whole page to 224 px.
TRACE_WIDTH_MM = 0.35
MIN_TRACE_WIDTH_PX = 2
LABEL_HEIGHT_MM = 3.5
NOTE_HEIGHT_MM = 3.0


def trace_width_px(px_per_mm: float) -> int:
    return max(MIN_TRACE_WIDTH_PX, round(TRACE_WIDTH_MM * px_per_mm))


@lru_cache(maxsize=32)
def font(height_px: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font: identical glyphs on every machine, no system font lookup."""
    return ImageFont.load_default(size=max(height_px, 6))


def polyline(draw: ImageDraw.ImageDraw, x_px: np.ndarray, y_px: np.ndarray, width: int) -> None:
    """Draw the finite runs of a sampled curve; NaN/inf samples leave gaps."""
    finite = np.isfinite(y_px)
    if not finite.any():
        return
    # Keep the coordinates well inside int32 so absurd amplitudes are clipped by Pillow, not overflowed.
    y_px = np.clip(np.where(finite, y_px, 0.0), -1e6, 1e6)
    points = np.stack([np.rint(x_px), np.rint(y_px)], axis=1).astype(np.int64)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], finite, [False])).astype(np.int8)))
    for start, end in zip(edges[::2], edges[1::2]):
        run = points[start:end]
        if len(run) == 1:
            run = np.repeat(run, 2, axis=0)  # a lone sample still leaves a dot
        draw.line(run.ravel().tolist(), fill=INK, width=width)


def calibration_pulse(
    draw: ImageDraw.ImageDraw,
    x0_px: int,
    x1_px: int,
    pulse_x0_px: int,
    pulse_x1_px: int,
    baseline_px: int,
    top_px: int,
    width: int,
) -> None:
    """The 1 mV square pulse: baseline, up to 1 mV, hold, back down, baseline.

    Drawn as axis-aligned bars rather than a wide polyline, whose edges Pillow offsets by direction,
    so both edges and both levels sit exactly on the given pixels.
    """
    lo, hi = -((width - 1) // 2), width // 2
    bars = [
        (x0_px, baseline_px, pulse_x0_px, baseline_px),
        (pulse_x0_px, top_px, pulse_x0_px, baseline_px),
        (pulse_x0_px, top_px, pulse_x1_px, top_px),
        (pulse_x1_px, top_px, pulse_x1_px, baseline_px),
        (pulse_x1_px, baseline_px, x1_px, baseline_px),
    ]
    for xa, ya, xb, yb in bars:
        draw.rectangle((xa + lo, ya + lo, xb + hi, yb + hi), fill=INK)


def vertical_tick(draw: ImageDraw.ImageDraw, x_px: int, y0_px: int, y1_px: int, width: int) -> None:
    draw.line([(x_px, y0_px), (x_px, y1_px)], fill=INK, width=width)


def text(draw: ImageDraw.ImageDraw, x_px: int, y_px: int, s: str, height_px: int) -> None:
    """Text whose top-left corner is at (x_px, y_px)."""
    draw.text((x_px, y_px), s, fill=INK, font=font(height_px), anchor="la")
