"""ECG paper: the 1 mm / 5 mm grid background, drawn once per size and style and reused."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class PaperStyle:
    background: RGB
    minor: RGB  # 1 mm lines
    major: RGB  # 5 mm lines
    major_width_mm: float  # minor lines are always 1 px


# Pale pink paper with light-red 1 mm and red 5 mm lines, as on most printed/thermal ECG paper.
STANDARD_PAPER = PaperStyle(
    background=(255, 246, 246), minor=(246, 196, 196), major=(228, 112, 112), major_width_mm=0.2
)


def grid_line_px(length_px: int, spacing_mm: float, px_per_mm: float, width_px: int = 1) -> np.ndarray:
    """Pixel indices covered by grid lines every spacing_mm from the page edge (origin at pixel 0)."""
    centres = np.rint(np.arange(0.0, length_px / px_per_mm + spacing_mm, spacing_mm) * px_per_mm).astype(int)
    covered = (centres[:, None] + np.arange(width_px) - (width_px - 1) // 2).ravel()
    return np.unique(covered[(covered >= 0) & (covered < length_px)])


def paper(width_px: int, height_px: int, px_per_mm: float, style: PaperStyle = STANDARD_PAPER) -> Image.Image:
    """A fresh copy of the cached grid background, safe to draw on."""
    return _cached_paper(width_px, height_px, px_per_mm, style).copy()


@lru_cache(maxsize=16)
def _cached_paper(width_px: int, height_px: int, px_per_mm: float, style: PaperStyle) -> Image.Image:
    pixels = np.empty((height_px, width_px, 3), dtype=np.uint8)
    pixels[:] = style.background
    major_width = max(1, round(style.major_width_mm * px_per_mm))
    for spacing_mm, colour, width in ((1.0, style.minor, 1), (5.0, style.major, major_width)):
        pixels[:, grid_line_px(width_px, spacing_mm, px_per_mm, width)] = colour
        pixels[grid_line_px(height_px, spacing_mm, px_per_mm, width), :] = colour
    return Image.fromarray(pixels, "RGB")
