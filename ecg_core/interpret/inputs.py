"""ECG pages from what people have: PNG/JPEG files (scans, photos), PDF exports (one page each), in folders or
under an s3:// prefix. Each input is decoded whole before it is accepted; what cannot be read is rejected with
the reason (not an image, truncated, too small or too large to be an ECG page, a PDF without pages), and the
other inputs go on.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MIN_SIDE = 64  # px: below this no trace can be read (a 12-lead page needs hundreds of pixels a side)
MAX_SIDE = 10_000  # px: a 300 dpi A4 scan is 3508 px; above this the input is not a page (or a decompression bomb)
PDF_DPI = 200  # PDF pages are drawn at this resolution: 1 mm of ECG paper = 8 px, as a good scan
PDF_MAGIC = b"%PDF"


@dataclass(frozen=True)
class Page:
    name: str  # the input's name, and "#page<k>" for a PDF's pages beyond one
    image: Image.Image  # RGB, upright (EXIF orientation applied)


@dataclass(frozen=True)
class Rejected:
    name: str
    reason: str


def local_inputs(paths: list[str]) -> Iterator[tuple[str, Path]]:
    """(name, file) for every file given or found under a folder given, in a stable order; hidden files skipped."""
    for given in map(Path, paths):
        if given.is_dir():
            for path in sorted(p for p in given.rglob("*") if p.is_file()):
                if not any(part.startswith(".") for part in path.relative_to(given).parts):
                    yield str(path), path
        else:
            yield str(given), given


def decode(name: str, data: bytes) -> list[Page] | Rejected:
    """The pages of one input, or why it has none."""
    if data.startswith(PDF_MAGIC):
        return _pdf_pages(name, data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if reason := _size_problem(*image.size):
                    return Rejected(name, reason)
                image.load()  # decodes everything: a truncated file fails here, not in the model
                page = ImageOps.exif_transpose(image).convert("RGB")
    except UnidentifiedImageError:
        return Rejected(name, "not an image or a PDF (no PNG, JPEG or other image signature)")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return Rejected(name, f"too many pixels to be a page: {error}")
    except (OSError, SyntaxError, ValueError) as error:  # PIL's errors for truncated or corrupt data
        return Rejected(name, f"truncated or corrupt image: {error}")
    return [Page(name, page)]


def _size_problem(width: int, height: int) -> str | None:
    if max(width, height) > MAX_SIDE:
        return f"{width} x {height} px: larger than {MAX_SIDE} px a side, not a page"
    if min(width, height) < MIN_SIDE:
        return f"{width} x {height} px: too small to hold an ECG (at least {MIN_SIDE} px a side)"
    return None


def _pdf_pages(name: str, data: bytes) -> list[Page] | Rejected:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as error:  # PDFium refuses a document without pages too
        return Rejected(name, f"unreadable PDF, or one without pages: {error}")
    try:
        if len(document) == 0:
            return Rejected(name, "the PDF has no pages")
        pages = []
        for k in range(len(document)):
            image = document[k].render(scale=PDF_DPI / 72).to_pil().convert("RGB")
            if reason := _size_problem(*image.size):
                return Rejected(name, f"page {k + 1}: {reason}")
            pages.append(Page(name if len(document) == 1 else f"{name}#page{k + 1}", image))
        return pages
    finally:
        document.close()


def page_file_name(name: str) -> str:
    """A page's file name in the store: its input name made safe, readable and unique."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rsplit("/", 1)[-1]).strip("-.")[:60]
    return f"{stem}-{hashlib.sha1(name.encode()).hexdigest()[:8]}.png"
