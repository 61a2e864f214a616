"""New ECG images in: real scans and photos, PDF pages, and every kind of bad input rejected with its reason."""

from __future__ import annotations

import io
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

from ecg_core.interpret.inputs import Rejected, decode, local_inputs, page_file_name
from tests.fixtures import REALDATA


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return out.getvalue()


def pdf(pages: int) -> bytes:
    document = pypdfium2.PdfDocument.new()
    for _ in range(pages):
        document.new_page(842, 595)  # A4 landscape, in points
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["ecg00003.png", "ecg00013.jpg", "ecg00016.jpg", "ecg00024.jpg"])
def test_real_scans_and_photos_are_pages(name):
    data = (REALDATA / "images" / name).read_bytes()
    [page] = decode(name, data)
    assert (
        page.name == name
        and page.image.mode == "RGB"
        and page.image.size == Image.open(REALDATA / "images" / name).size
    )


def test_each_page_of_a_pdf_is_read_at_200_dpi():
    pages = decode("cart.pdf", pdf(2))
    assert [p.name for p in pages] == ["cart.pdf#page1", "cart.pdf#page2"]
    assert pages[0].image.size == (round(842 * 200 / 72), round(595 * 200 / 72))
    assert [p.name for p in decode("one.pdf", pdf(1))] == ["one.pdf"]


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"patient notes, not a picture", "not an image or a PDF"),
        ((REALDATA / "images/ecg00013.jpg").read_bytes()[:5000], "truncated or corrupt image"),
        (png(10, 10), "10 x 10 px: too small to hold an ECG"),
        (png(20_000, 100), "20000 x 100 px: larger than 10000 px a side"),
        (pdf(0), "unreadable PDF, or one without pages"),
        (b"%PDF-1.7 garbage", "unreadable PDF"),
    ],
)
def test_bad_inputs_are_rejected_with_the_reason(data, reason):
    rejected = decode("input", data)
    assert isinstance(rejected, Rejected) and rejected.name == "input" and rejected.reason.startswith(reason)


def test_folders_are_walked_in_order_without_hidden_files_and_page_names_stay_unique(tmp_path):
    for name in ("b.png", "a.jpg", ".DS_Store", "sub/c.pdf", ".git/x"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    names = [name for name, _ in local_inputs([str(tmp_path)])]
    assert [Path(n).relative_to(tmp_path).as_posix() for n in names] == ["a.jpg", "b.png", "sub/c.pdf"]
    assert page_file_name("scans/a b.png") != page_file_name("photos/a b.png")
    assert page_file_name("scans/a b.png").startswith("a-b.png-") and page_file_name("x.pdf#page2").endswith(".png")
