"""ECG paper: the 1 mm / 5 mm grid, drawn once per size as palette indices and reused; colours come from
the palette, so every paper colour (and the ink) costs nothing extra to draw."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

RGB = tuple[int, int, int]
BACKGROUND, MINOR, MAJOR, INK = 0, 1, 2, 3  # palette indices of the page image
MAJOR_WIDTH_MM = 0.2  # 5 mm lines are drawn heavier; 1 mm lines are always 1 px


@dataclass(frozen=True)
class PaperColours:
    background: RGB
    minor: RGB  # 1 mm lines
    major: RGB  # 5 mm lines


# Colours of common printed and thermal ECG papers; every grid line stays lighter than any ink we draw
# (the darkest grid channel maximum is 150, faded ink's is at most 140).
PAPER_COLOURS = {
    "red": PaperColours((255, 246, 246), (246, 196, 196), (228, 112, 112)),
    "orange": PaperColours((255, 250, 240), (250, 216, 176), (240, 150, 72)),
    "green": PaperColours((246, 255, 246), (192, 232, 192), (104, 184, 104)),
    "blue": PaperColours((246, 249, 255), (192, 212, 242), (104, 144, 214)),
    "grey": PaperColours((255, 255, 255), (218, 218, 218), (150, 150, 150)),
    "none": PaperColours((255, 255, 255), (255, 255, 255), (255, 255, 255)),
}


def palette(grid: str, ink: RGB = (0, 0, 0), monochrome: bool = False) -> list[int]:
    """Flat 256-entry RGB palette for a page image; monochrome turns each colour into its luma grey."""
    colours = PAPER_COLOURS[grid]
    entries = np.array([colours.background, colours.minor, colours.major, ink], dtype=np.float64)
    if monochrome:
        entries[:] = np.rint(entries @ [0.299, 0.587, 0.114])[:, None]
    flat = np.zeros((256, 3), dtype=np.uint8)
    flat[: len(entries)] = entries
    return flat.ravel().tolist()


def grid_line_px(length_px: int, spacing_mm: float, px_per_mm: float, width_px: int = 1) -> np.ndarray:
    """Pixel indices covered by grid lines every spacing_mm from the page edge (origin at pixel 0)."""
    centres = np.rint(np.arange(0.0, length_px / px_per_mm + spacing_mm, spacing_mm) * px_per_mm).astype(int)
    covered = (centres[:, None] + np.arange(width_px) - (width_px - 1) // 2).ravel()
    return np.unique(covered[(covered >= 0) & (covered < length_px)])


def grid_page(width_px: int, height_px: int, px_per_mm: float) -> Image.Image:
    """A fresh palette-mode copy of the cached grid, safe to draw on (palette not yet set)."""
    return _cached_grid(width_px, height_px, px_per_mm).copy()


@lru_cache(maxsize=16)
def _cached_grid(width_px: int, height_px: int, px_per_mm: float) -> Image.Image:
    indices = np.full((height_px, width_px), BACKGROUND, dtype=np.uint8)
    major_width = max(1, round(MAJOR_WIDTH_MM * px_per_mm))
    for spacing_mm, index, width in ((1.0, MINOR, 1), (5.0, MAJOR, major_width)):
        indices[:, grid_line_px(width_px, spacing_mm, px_per_mm, width)] = index
        indices[grid_line_px(height_px, spacing_mm, px_per_mm, width), :] = index
    return Image.fromarray(indices, "P")
