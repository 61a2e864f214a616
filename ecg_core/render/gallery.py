"""Galleries for people to look at: one record drawn in every layout, paper and artefact, and contact
sheets of thumbnails with captions."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ecg_core.render.artefacts import ALL_ON, ARTEFACT_NAMES, sample_artefacts
from ecg_core.render.draw import font
from ecg_core.render.encode import EXTENSIONS, encode
from ecg_core.render.geometry import sidecar_json
from ecg_core.render.print_settings import GRIDS, LAYOUTS, PrintSettings
from ecg_core.render.printout import render_ecg

SHOWCASE_STRENGTH = 0.8  # each artefact alone, clearly visible but not extreme


def showcase() -> list[tuple[str, PrintSettings, dict[str, float], int]]:
    """(name, settings, artefacts, seed) for every layout, speed, gain, paper and artefact."""
    items = [(f"layout {name}", PrintSettings(layout=name), {}, 0) for name in LAYOUTS]
    items += [("speed 50 mm/s", PrintSettings(speed_mm_s=50.0), {}, 0)]
    items += [(f"gain {g:g} mm/mV", PrintSettings(gain_mm_mv=g), {}, 0) for g in (5.0, 20.0)]
    items += [(f"grid {grid}", PrintSettings(grid=grid), {}, 0) for grid in GRIDS if grid != "red"]
    items += [
        ("monochrome", PrintSettings(monochrome=True), {}, 0),
        ("letter paper", PrintSettings(paper_size="letter"), {}, 0),
    ]
    items += [(f"artefact {name}", PrintSettings(), {name: SHOWCASE_STRENGTH}, 1) for name in ARTEFACT_NAMES]
    items += [
        (f"all artefacts, seed {seed}", PrintSettings(), sample_artefacts(ALL_ON, seed), seed) for seed in range(3)
    ]
    return items


def write_gallery(signal: np.ndarray, fs: float, out_dir: str | Path, header: Sequence[str] = ()) -> list[Path]:
    """Render the showcase into out_dir: images, sidecars, contact_sheet.jpg and index.html."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written, cards = [], []
    for k, (name, settings, artefacts, seed) in enumerate(showcase()):
        rendered = render_ecg(signal, fs, settings, header=header, artefacts=artefacts, seed=seed)
        data, fmt = encode(rendered)
        stem = f"{k:02d}-" + "".join(c if c.isalnum() else "-" for c in name).strip("-")
        path = out / (stem + EXTENSIONS[fmt])
        path.write_bytes(data)
        (out / f"{stem}.json").write_bytes(sidecar_json(rendered.geometry))
        caption = name + (": " + json.dumps(rendered.geometry["artefacts"]) if artefacts else "")
        written.append(path)
        cards.append((data, caption, path.name))
    contact_sheet([(d, c) for d, c, _ in cards]).save(out / "contact_sheet.jpg", quality=85)
    (out / "index.html").write_text(_index_html(cards))
    return written


def contact_sheet(
    items: Sequence[tuple[bytes | Image.Image, str]], columns: int = 3, thumb_width: int = 560
) -> Image.Image:
    """Thumbnails in a grid, each with its caption underneath."""
    thumbs = []
    for item, caption in items:
        image = Image.open(io.BytesIO(item)) if isinstance(item, bytes) else item
        image = image.convert("RGB")
        image.thumbnail((thumb_width, thumb_width))
        thumbs.append((image, caption))
    caption_px, pad = 18, 8
    cell_w = thumb_width + pad
    cell_h = max(t.height for t, _ in thumbs) + caption_px + pad
    rows = -(-len(thumbs) // columns)
    sheet = Image.new("RGB", (columns * cell_w + pad, rows * cell_h + pad), (255, 255, 255))
    pen = ImageDraw.Draw(sheet)
    for k, (thumb, caption) in enumerate(thumbs):
        x, y = pad + (k % columns) * cell_w, pad + (k // columns) * cell_h
        sheet.paste(thumb, (x, y))
        pen.text((x, y + thumb.height + 2), caption[:90], fill=(0, 0, 0), font=font(caption_px - 4))
    return sheet


def _index_html(cards: Sequence[tuple[bytes, str, str]]) -> str:
    figures = "\n".join(
        f'<figure><a href="{html.escape(name)}"><img src="{html.escape(name)}" width="560"></a>'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for _, caption, name in cards
    )
    return (
        "<!doctype html><meta charset=utf-8><title>ECG printout gallery</title>"
        "<style>body{font-family:sans-serif}figure{display:inline-block;margin:8px;vertical-align:top;width:560px}</style>"
        f"<h1>ECG printout gallery</h1>\n{figures}\n"
    )
