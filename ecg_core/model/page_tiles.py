"""How an ECG page becomes Mllama's input image: the tile budget and how the page fills it.

Mllama's processor cuts an image into square tiles (560 px for the 11B, up to 4) on a canvas of rows x cols
tiles. Left alone it picks, for a landscape page (A4 at any dpi, or a 1100 x 600 strip), a 2 x 2 canvas with
the page at most 1120 px wide and padding below: 29% of the canvas black for A4, 47% for the strip. A run
fixes instead:

- `max_tiles` (1, 2 or 4): the largest canvas a page may use;
- `page_fit`: `pad` keeps the page's aspect on the processor's canvas choice within `max_tiles` (black
  padding, as the processor does); `stretch` resizes the page onto the grid of at most `max_tiles` tiles
  whose aspect is nearest the page's (a 1100 x 600 strip -> 2 x 1, 1120 x 560: no padding, 7% squeeze; an
  A4 page -> a square grid, squeezed 1.41x).

Cost: the model is loaded cut to `max_tiles` tile slots (ecg_core/model/tile_slots.py), so a budget of k tiles
costs k tiles: on the 11B's plan 2 tiles take 0.59x the training FLOPs of 4, 1 tile 0.43x.

The run's config (`runs/<run_id>/config.json`) holds both keys; training reads them from there, and so does every
later reader (ecg_core/reading/reader.py), so a model is always shown pages the way it learned them.

Checking a run's settings (the training flow's preflight, before it queues for a GPU) needs none of transformers:
its canvas geometry is imported where a page is drawn, and a checkpoint's tile budget is read from its files.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

PAGE_FITS = ("pad", "stretch")
RESAMPLE = Image.Resampling.BILINEAR  # the 11B processor's own (resample 2)


@dataclass(frozen=True)
class PagePreprocessing:
    max_tiles: int = 4  # tile budget per page: 1, 2 or 4 tiles
    page_fit: str = "pad"  # pad (aspect kept, black padding) or stretch (page resized onto the nearest grid)

    def __post_init__(self):
        if self.page_fit not in PAGE_FITS:
            raise ValueError(f"page_fit {self.page_fit!r}: allowed {', '.join(PAGE_FITS)}")
        if self.max_tiles < 1:
            raise ValueError(f"max_tiles must be >= 1, got {self.max_tiles}")

    def check(self, processor) -> None:
        """The checkpoint's processor must allow the budget (the tiny model has one tile, the 11B four)."""
        allowed = processor.image_processor.max_image_tiles
        if self.max_tiles > allowed:
            raise ValueError(f"max_tiles {self.max_tiles}: this checkpoint's processor takes at most {allowed} tiles")

    def canvas(self, width: int, height: int, tile: int) -> tuple[int, int]:
        """(canvas width, canvas height) in pixels for a page of width x height."""
        from transformers.models.mllama.image_processing_pil_mllama import (
            get_all_supported_aspect_ratios,
            get_optimal_tiled_canvas,
        )

        if self.page_fit == "pad":
            canvas_height, canvas_width = get_optimal_tiled_canvas(height, width, self.max_tiles, tile)
            return int(canvas_width), int(canvas_height)
        grids = get_all_supported_aspect_ratios(self.max_tiles)  # (rows, cols)
        page_aspect = math.log(width / height)
        rows, cols = min(grids, key=lambda g: (abs(math.log(g[1] / g[0]) - page_aspect), -g[0] * g[1]))
        return cols * tile, rows * tile

    def fit(self, page: Image.Image, tile: int) -> Image.Image:
        """The page drawn onto its canvas, so that the processor picks exactly that canvas and resizes nothing."""
        from transformers.models.mllama.image_processing_pil_mllama import get_image_size_fit_to_canvas

        canvas_width, canvas_height = self.canvas(page.width, page.height, tile)
        if self.page_fit == "stretch":
            return page.resize((canvas_width, canvas_height), RESAMPLE)
        height, width = get_image_size_fit_to_canvas(page.height, page.width, canvas_height, canvas_width, tile)
        canvas = Image.new("RGB", (canvas_width, canvas_height))  # black: the processor pads with zeros too
        canvas.paste(page.resize((int(width), int(height)), RESAMPLE), (0, 0))
        return canvas

    def load(self, path: str | Path, processor) -> Image.Image:
        """Open an ECG page as RGB and fit it to its canvas for this checkpoint's tile size."""
        with Image.open(path) as image:
            page = image.convert("RGB")
        return self.fit(page, tile_size(processor))

    def describe(self, tile: int) -> dict:
        """What metrics.json records: the tile side in pixels (`image_size`, the processor's), budget and fit."""
        return {"image_size": tile, "max_tiles": self.max_tiles, "page_fit": self.page_fit}

    @classmethod
    def of_run(cls, run_config: dict) -> PagePreprocessing:
        """The preprocessing a run trained with, from its config.json (runs before the tile budget existed
        stretched pages to an `image_size` square: one tile, stretched)."""
        if "max_tiles" not in run_config:
            return cls(1, "stretch") if run_config.get("image_size") else cls()
        return cls(run_config["max_tiles"], run_config["page_fit"])


def tile_size(processor) -> int:
    return processor.image_processor.size["height"]


def checkpoint_tiles(model_dir: str | Path) -> tuple[int, int]:
    """(tile side in px, most tiles per image) of a checkpoint's image processor, no model loaded.

    Read from its settings where transformers finds them (`processor_config.json`'s `image_processor`, else
    `preprocessor_config.json`): importing transformers' image processing costs a training's flow process seconds
    of CPU. A checkpoint whose files leave either value to the processor class's defaults is asked through
    transformers itself."""
    settings = _image_processor_settings(Path(model_dir))
    if "max_image_tiles" in settings and "height" in settings.get("size", {}):
        return settings["size"]["height"], settings["max_image_tiles"]
    from transformers import AutoImageProcessor

    image_processor = AutoImageProcessor.from_pretrained(model_dir)
    return image_processor.size["height"], image_processor.max_image_tiles


def _image_processor_settings(model_dir: Path) -> dict:
    """The image processor's saved settings, as transformers resolves them: nested in the processor's file first."""
    processor_file, image_processor_file = model_dir / "processor_config.json", model_dir / "preprocessor_config.json"
    if processor_file.is_file() and "image_processor" in (nested := json.loads(processor_file.read_text())):
        return nested["image_processor"]
    return json.loads(image_processor_file.read_text()) if image_processor_file.is_file() else {}
