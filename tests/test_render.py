"""Render tests: assert on pixels where the geometry says things are, not on reference images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecg_core.records import LEADS
from ecg_core.render import STANDARD_PAPER, paper, render_ecg, save_png

SECONDS = 10.0


def zeros(fs: float, seconds: float = SECONDS) -> np.ndarray:
    return np.zeros((len(LEADS), round(seconds * fs)), dtype=np.float32)


def spike(signal: np.ndarray, fs: float, lead: str, t: float, mv: float = 1.0) -> np.ndarray:
    signal[LEADS.index(lead), round(t * fs)] = mv
    return signal


def ink(rendered) -> np.ndarray:
    """Boolean [H, W]: dark pixels (traces, text); every paper colour has red >= 228."""
    return np.asarray(rendered.image).max(axis=2) < 128


def panels(rendered, name: str) -> list[dict]:
    return [p for p in rendered.geometry["leads"] if p["name"] == name]


def x_of(rendered, panel: dict, t: float) -> int:
    g = rendered.geometry
    return panel["bbox"][0] + round((t - panel["t_start"]) * g["speed_mm_s"] * g["px_per_mm"])


def mm(rendered, value: float) -> int:
    return round(value * rendered.geometry["px_per_mm"])


def trace_band(rendered, panel: dict) -> tuple[slice, slice]:
    """Rows 3-6 mm above the baseline across the panel: only a trace going up reaches there
    (labels start 7 mm up, separators stop 2.5 mm up)."""
    base = panel["baseline_y"]
    x0, _, x1, _ = panel["bbox"]
    return slice(base - mm(rendered, 6.0), base - mm(rendered, 3.0)), slice(x0 + 2, x1 - 2)


@pytest.mark.parametrize("dpi", [100.0, 200.0])
def test_image_is_real_size(dpi):
    r = render_ecg(zeros(500), 500, dpi=dpi)
    g = r.geometry
    px_per_mm = dpi / 25.4
    assert g["px_per_mm"] == pytest.approx(px_per_mm)
    assert (g["width_mm"], g["height_mm"]) == (280.0, 200.0)  # 250 mm of traces + calibration zone + margins
    assert r.image.size == (round(280 * px_per_mm), round(200 * px_per_mm)) == (g["width_px"], g["height_px"])
    assert r.image.mode == "RGB"
    rhythm = [p for p in g["leads"] if p["rhythm"]]
    assert len(rhythm) == 1 and rhythm[0]["bbox"][2] - rhythm[0]["bbox"][0] == round(250 * px_per_mm)
    json.dumps(g)


@pytest.mark.parametrize("dpi", [100.0, 200.0])
def test_grid_lines_every_mm_and_5mm(dpi):
    r = render_ecg(zeros(500), 500, dpi=dpi)
    pixels = np.asarray(r.image)
    base = panels(r, "I")[0]["baseline_y"]
    # A band between rows 0 and 1 holds nothing but paper for a zero signal.
    row_mid = [base + mm(r, k + 0.5) for k in range(5, 20)]
    for x_mm in range(25, 270):
        column = pixels[row_mid, mm(r, x_mm)]
        expected = STANDARD_PAPER.major if x_mm % 5 == 0 else STANDARD_PAPER.minor
        assert (column == expected).all(), x_mm
        assert (pixels[row_mid, mm(r, x_mm + 0.5)] == STANDARD_PAPER.background).all(), x_mm
    for y_mm in range(45, 60):
        expected = STANDARD_PAPER.major if y_mm % 5 == 0 else STANDARD_PAPER.minor
        assert tuple(pixels[mm(r, y_mm), mm(r, 100.5)]) == expected, y_mm


def test_paper_is_cached_but_handed_out_as_copies():
    first = paper(100, 80, 100 / 25.4)
    first.putpixel((2, 2), (0, 0, 0))
    assert paper(100, 80, 100 / 25.4).getpixel((2, 2)) != (0, 0, 0)


@pytest.mark.parametrize("dpi", [100.0, 200.0])
def test_calibration_pulse_is_1mv_tall_and_0_2s_wide(dpi):
    r = render_ecg(zeros(500), 500, dpi=dpi)
    dark = ink(r)
    pen = r.geometry["trace_width_px"]
    zone = slice(mm(r, 10), r.geometry["leads"][0]["bbox"][0])  # left margin up to the first column
    for row in range(4):
        base = next(p for p in r.geometry["leads"] if p["row"] == row)["baseline_y"]
        top = base - mm(r, 15)
        rows = top + np.flatnonzero(dark[top : base + mm(r, 3), zone].any(axis=1))
        assert rows[-1] - rows[0] + 1 - pen == mm(r, 10)  # line centre to line centre: 1 mV at 10 mm/mV
        assert base - pen <= rows[-1] <= base + pen
        plateau = np.flatnonzero(dark[rows[0] + (pen - 1) // 2, zone])  # the top line's centre row
        assert plateau[-1] - plateau[0] + 1 - pen == mm(r, 5)  # 0.2 s at 25 mm/s


@pytest.mark.parametrize("fs", [100.0, 257.0, 500.0, 1000.0])
def test_spike_in_v1_only_appears_where_geometry_says(fs):
    r = render_ecg(spike(zeros(fs), fs, "V1", 6.0), fs)
    dark = ink(r)
    (v1,) = panels(r, "V1")
    assert (v1["t_start"], v1["t_end"]) == (5.0, 7.5)
    x, y_peak = x_of(r, v1, 6.0), v1["baseline_y"] - mm(r, 10.0)  # 1 mV * 10 mm/mV above the baseline
    assert dark[y_peak - 1 : y_peak + 2, x - 1 : x + 2].any()
    assert not dark[y_peak - 4 : y_peak - 1, x - 2 : x + 3].any()  # and no higher
    rows, cols = trace_band(r, v1)
    hit = np.flatnonzero(dark[rows, cols].any(axis=0)) + cols.start
    assert hit.size and np.abs(hit - x).max() <= r.geometry["trace_width_px"] + 1  # only the spike rises
    for other in r.geometry["leads"]:
        if other is not v1:
            assert not dark[trace_band(r, other)].any(), other["name"]


def test_rhythm_strip_shows_10s_of_lead_ii():
    fs = 500.0
    signal = spike(spike(zeros(fs), fs, "II", 1.0), fs, "II", 8.0)
    r = render_ecg(signal, fs)
    dark = ink(r)
    column_ii, rhythm = panels(r, "II")
    assert rhythm["rhythm"] and not column_ii["rhythm"]
    assert (rhythm["t_start"], rhythm["t_end"], rhythm["sample_start"], rhythm["sample_end"]) == (0.0, 10.0, 0, 5000)
    assert (column_ii["sample_start"], column_ii["sample_end"]) == (0, 1250)

    def peaks(panel):
        rows, cols = trace_band(r, panel)
        hit = np.flatnonzero(dark[rows, cols].any(axis=0)) + cols.start
        return sorted({round((x - panel["bbox"][0]) / (25 * r.geometry["px_per_mm"]), 1) for x in hit})

    assert peaks(rhythm) == [1.0, 8.0]
    assert peaks(column_ii) == [1.0]  # 8 s is outside the 0-2.5 s column


def test_other_rhythm_lead():
    r = render_ecg(spike(zeros(500), 500, "V5", 9.0), 500, rhythm_lead="V5")
    rhythm = [p for p in r.geometry["leads"] if p["rhythm"]][0]
    assert rhythm["name"] == "V5" and r.geometry["layout"] == "3x4+V5"
    assert ink(r)[trace_band(r, rhythm)].any()
    with pytest.raises(ValueError, match="rhythm_lead"):
        render_ecg(zeros(500), 500, rhythm_lead="V7")


def test_deterministic():
    signal = np.random.default_rng(0).normal(0, 0.3, (12, 5000)).astype(np.float32)
    a, b = render_ecg(signal, 500, header="id 1"), render_ecg(signal, 500, header="id 1")
    assert a.geometry == b.geometry
    assert save_png(a) == save_png(b)
    assert save_png(a).startswith(b"\x89PNG")


def test_all_nan_lead_is_flat_and_labelled_missing():
    signal = zeros(500)
    signal[LEADS.index("V3")] = np.nan
    signal[LEADS.index("V5"), 100:300] = np.nan  # a partial gap is just left blank
    r = render_ecg(signal, 500)
    dark = ink(r)
    (v3,) = panels(r, "V3")
    assert v3["missing"] and not any(p["missing"] for p in r.geometry["leads"] if p is not v3)
    x0, _, x1, _ = v3["bbox"]
    base = v3["baseline_y"]
    assert dark[base - 1 : base + 2, x0 + 2 : x1 - 2].any(axis=0).all()  # flat line across the panel

    def label_width(panel):
        rows = slice(panel["baseline_y"] - mm(r, 11.5), panel["baseline_y"] - mm(r, 6.5))
        cols = np.flatnonzero(dark[rows, panel["bbox"][0] : panel["bbox"][2]].any(axis=0))
        return cols[-1] - cols[0]

    assert label_width(v3) > 3 * label_width(panels(r, "V2")[0])  # "V3 (lead missing)" vs "V2"


def test_short_signal_leaves_the_rest_blank_and_long_signal_shows_first_10s():
    fs = 500.0
    r = render_ecg(spike(zeros(fs, 4.0), fs, "II", 3.0), fs)
    dark = ink(r)
    for p in r.geometry["leads"]:
        if p["t_start"] >= 5.0:
            assert p["sample_start"] == p["sample_end"] == 2000
            x0, _, x1, _ = p["bbox"]
            assert not dark[p["baseline_y"] - 1 : p["baseline_y"] + 2, x0 + 3 : x1 - 3].any()
    rhythm = [p for p in r.geometry["leads"] if p["rhythm"]][0]
    assert rhythm["sample_end"] == 2000 and dark[trace_band(r, rhythm)].any()

    long = render_ecg(spike(zeros(fs, 30.0), fs, "II", 15.0), fs)
    assert not any(ink(long)[trace_band(long, p)].any() for p in long.geometry["leads"])
    assert long.geometry["n_samples"] == 15000


@pytest.mark.parametrize("shape", [(11, 5000), (13, 5000), (5000,), (12, 0), (1, 12, 5000)])
def test_wrong_shape_raises(shape):
    with pytest.raises(ValueError, match=r"\[12, N\]"):
        render_ecg(np.zeros(shape), 500)


@pytest.mark.parametrize("fs", [0.0, -1.0, float("nan")])
def test_bad_sampling_rate_raises(fs):
    with pytest.raises(ValueError, match="fs"):
        render_ecg(zeros(500), fs)


def test_extreme_amplitudes_are_clipped_to_the_page():
    signal = zeros(500)
    signal[0, 10] = 1e9
    signal[1, 10] = -np.inf
    r = render_ecg(signal, 500)
    assert r.image.size == (r.geometry["width_px"], r.geometry["height_px"])
