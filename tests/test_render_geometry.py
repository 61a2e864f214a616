"""The geometry sidecar stays true after artefacts: every listed trace pixel is on ink, for random print
settings and random rotation / perspective / crop, and with every artefact on."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ecg_core.render import GAINS_MM_MV, GRIDS, LAYOUTS, PAPER_SIZES_MM, SPEEDS_MM_S, PrintSettings, encode, render_ecg
from ecg_core.render.artefacts import ALL_ON, sample_artefacts
from ecg_core.synth import synthesize_records

GEOMETRIC = ("rotation", "perspective", "crop")


@pytest.fixture(scope="module")
def record():
    return synthesize_records(1, seed=3, fs=500.0)[0]


def random_settings(rng: np.random.Generator) -> PrintSettings:
    pick = lambda values: values[rng.integers(len(values))]  # noqa: E731
    return PrintSettings(
        layout=pick(LAYOUTS),
        speed_mm_s=pick(SPEEDS_MM_S),
        gain_mm_mv=pick(GAINS_MM_MV),
        paper_size=pick(list(PAPER_SIZES_MM)),
        grid=pick(GRIDS),
        dpi=float(pick([100, 150, 200])),
    )


def trace_points(rendered) -> np.ndarray:
    """All finite trace points [K, 2] that fall inside the image."""
    points = np.concatenate([lead["trace"] for lead in rendered.geometry["leads"]])
    points = points[np.isfinite(points).all(axis=1)].astype(int)
    w, h = rendered.image.size
    return points[(points[:, 0] >= 1) & (points[:, 0] < w - 1) & (points[:, 1] >= 1) & (points[:, 1] < h - 1)]


def darkest_around(grey: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Minimum of each point's 3x3 neighbourhood: a trace pixel may land half a pixel off after a warp."""
    x, y = points[:, 0], points[:, 1]
    return np.min([grey[y + dy, x + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)


@pytest.mark.parametrize("seed", range(6))
def test_trace_pixels_fall_on_ink_after_rotation_perspective_and_crop(record, seed):
    rng = np.random.default_rng(seed)
    artefacts = {name: float(rng.uniform(0.5, 1.0)) for name in GEOMETRIC}
    r = render_ecg(record.signal, record.fs, random_settings(rng), artefacts=artefacts, seed=seed)
    assert not np.allclose(r.geometry["homography"], np.eye(3))
    grey = np.asarray(r.image.convert("L"))
    points = trace_points(r)
    assert len(points) > 1000
    on_ink = darkest_around(grey, points) < 100
    assert on_ink.mean() > 0.99
    # the same points moved 3 mm down mostly miss the trace: the check can fail
    shifted = points + [0, round(3 * r.geometry["px_per_mm"])]
    shifted = shifted[shifted[:, 1] < grey.shape[0] - 1]
    assert (darkest_around(grey, shifted) < 100).mean() < 0.5


@pytest.mark.parametrize("seed", range(3))
def test_trace_pixels_stand_out_with_every_artefact_on(record, seed):
    artefacts = sample_artefacts(ALL_ON, seed)
    r = render_ecg(record.signal, record.fs, PrintSettings(), artefacts=artefacts, seed=seed)
    data, fmt = encode(r)
    assert fmt == "jpeg"  # the jpeg artefact makes the image a JPEG
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)
    points = trace_points(r)
    # Local contrast, not a fixed threshold: lighting, faded ink, noise and blur move every level,
    # but the trace stays clearly darker than the paper around it.
    x, y = points[:, 0], points[:, 1]
    k = 12
    padded = np.pad(grey, k, mode="edge")
    around = np.median([padded[y + k + dy, x + k + dx] for dy in (-k, 0, k) for dx in (-k, k)], axis=0)
    assert (darkest_around(grey, points) < 0.8 * around).mean() > 0.95


def test_same_seed_same_bytes_other_seed_other_image(record):
    artefacts = sample_artefacts(ALL_ON, 7)
    a, b = (render_ecg(record.signal, record.fs, artefacts=artefacts, seed=7) for _ in range(2))
    c = render_ecg(record.signal, record.fs, artefacts=artefacts, seed=8)
    assert encode(a) == encode(b)
    assert a.geometry["homography"] == b.geometry["homography"] != c.geometry["homography"]
    assert encode(a) != encode(c)


def test_ink_artefacts_change_the_pen_not_the_geometry(record):
    plain = render_ecg(record.signal, record.fs)
    thick = render_ecg(record.signal, record.fs, artefacts={"thick_ink": 1.0})
    faded = render_ecg(record.signal, record.fs, artefacts={"faded_ink": 1.0})
    assert thick.geometry["trace_width_px"] > plain.geometry["trace_width_px"]
    assert np.array_equal(thick.geometry["leads"][0]["trace"], plain.geometry["leads"][0]["trace"])
    assert thick.image.mode == faded.image.mode == "P"  # still a palette page: no photo artefact ran
    x, y = plain.geometry["leads"][0]["trace"][100].astype(int)
    assert faded.image.convert("RGB").getpixel((x, y)) > plain.image.convert("RGB").getpixel((x, y))
