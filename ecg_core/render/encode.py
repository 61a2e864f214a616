"""Image encoding: PNG for crisp plain pages, JPEG for photographed ones."""

from __future__ import annotations

import io

from ecg_core.render.print_settings import check_choice
from ecg_core.render.printout import RenderedECG

FORMATS = ("auto", "png", "jpeg")
EXTENSIONS = {"png": ".png", "jpeg": ".jpg"}
DEFAULT_JPEG_QUALITY = 95  # when JPEG is asked for but the jpeg artefact did not set a quality


def image_format(rendered: RenderedECG, requested: str = "auto") -> str:
    """ "auto": PNG for a clean page (still palette mode: crisp, small, lossless), JPEG once artefacts
    touched the pixels, as a photo or scan would be stored (a noisy RGB page as PNG takes 5-10x longer
    to encode and is several times larger); the jpeg artefact sets the quality, otherwise 95."""
    check_choice("image format", requested, FORMATS)
    if requested == "auto":
        return "png" if rendered.image.mode == "P" else "jpeg"
    return requested


def encode(rendered: RenderedECG, requested: str = "auto") -> tuple[bytes, str]:
    """(image bytes, format). PNG at the lightest compression: at 200 dpi a heavier level costs 3x the
    time for about 10% fewer bytes; a palette-mode page encodes one byte per pixel."""
    fmt = image_format(rendered, requested)
    buffer = io.BytesIO()
    if fmt == "png":
        rendered.image.save(buffer, format="PNG", optimize=False, compress_level=1)
    else:
        image = rendered.image if rendered.image.mode == "RGB" else rendered.image.convert("RGB")
        image.save(buffer, format="JPEG", quality=rendered.jpeg_quality or DEFAULT_JPEG_QUALITY)
    return buffer.getvalue(), fmt
