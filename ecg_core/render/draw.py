"""Ink on the paper: lead traces, calibration pulses, separators and text, in the page's ink palette index."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import ImageDraw, ImageFont

from ecg_core.render.paper import BACKGROUND, INK

# 0.35 mm pen, never under 2 px, so a trace survives downscaling a whole page to 224 px.
TRACE_WIDTH_MM = 0.35
MIN_TRACE_WIDTH_PX = 2
LABEL_HEIGHT_MM = 3.5
NOTE_HEIGHT_MM = 3.0


def trace_width_px(px_per_mm: float, scale: float = 1.0) -> int:
    return max(MIN_TRACE_WIDTH_PX, round(TRACE_WIDTH_MM * px_per_mm * scale))


@lru_cache(maxsize=32)
def font(height_px: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font: identical glyphs on every machine, no system font lookup."""
    return ImageFont.load_default(size=max(height_px, 6))


def polyline(pen: ImageDraw.ImageDraw, points: np.ndarray, width: int) -> None:
    """Draw a sampled curve through integer pixel points [K, 2]; rows with NaN leave gaps."""
    finite = np.isfinite(points).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([False], finite, [False])).astype(np.int8)))
    for start, end in zip(edges[::2], edges[1::2]):
        run = points[start:end]
        if len(run) == 1:
            run = np.repeat(run, 2, axis=0)  # a lone sample still leaves a dot
        # A flat float32 array is read by Pillow as a buffer: 3x faster than a list of numbers.
        pen.line(run.astype(np.float32).ravel(), fill=INK, width=width)


def calibration_pulse(
    pen: ImageDraw.ImageDraw,
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
        pen.rectangle((xa + lo, min(ya, yb) + lo, xb + hi, max(ya, yb) + hi), fill=INK)


def vertical_tick(pen: ImageDraw.ImageDraw, x_px: int, y0_px: int, y1_px: int, width: int) -> None:
    pen.line([(x_px, y0_px), (x_px, y1_px)], fill=INK, width=width)


def text(pen: ImageDraw.ImageDraw, x_px: int, y_px: int, s: str, height_px: int) -> None:
    """Text whose top-left corner is at (x_px, y_px), outlined in paper colour: a lead label that falls on its
    own trace (lead II's first R wave sits right where its label goes) stays legible, as on a cart's print."""
    halo = max(1, round(height_px / 12))
    pen.text((x_px, y_px), s, fill=INK, font=font(height_px), anchor="la", stroke_width=halo, stroke_fill=BACKGROUND)
