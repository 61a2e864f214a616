"""Render tests: assert on pixels where the geometry says things are, not on reference images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecg_core.records import LEADS
from ecg_core.render import LAYOUTS, PrintSettings, encode, render_ecg
from ecg_core.render.geometry import sidecar_json
from ecg_core.render.paper import PAPER_COLOURS
from tests.fixtures import REALDATA

SECONDS = 10.0


def zeros(fs: float, seconds: float = SECONDS) -> np.ndarray:
    return np.zeros((len(LEADS), round(seconds * fs)), dtype=np.float32)


def spike(signal: np.ndarray, fs: float, lead: str, t: float, mv: float = 1.0) -> np.ndarray:
    signal[LEADS.index(lead), round(t * fs)] = mv
    return signal


def ink(rendered) -> np.ndarray:
    """Boolean [H, W]: dark pixels (traces, text); every paper colour has a channel >= 150."""
    return np.asarray(rendered.image.convert("RGB")).max(axis=2) < 128


def panels(rendered, name: str) -> list[dict]:
    return [p for p in rendered.geometry["leads"] if p["name"] == name]


def mm(rendered, value: float) -> int:
    return round(value * rendered.geometry["px_per_mm"])


def top_of_spike(rendered, panel: dict, t: float, fs: float) -> tuple[int, int]:
    x, y = panel["trace"][round(t * fs) - panel["sample_start"]]
    return int(x), int(y)


@pytest.mark.parametrize("paper_size, size_mm", [("a4", (297.0, 210.0)), ("letter", (279.4, 215.9))])
@pytest.mark.parametrize("dpi", [100.0, 200.0])
def test_page_is_real_size(paper_size, size_mm, dpi):
    r = render_ecg(zeros(500), 500, PrintSettings(paper_size=paper_size, dpi=dpi))
    g = r.geometry
    assert g["px_per_mm"] == pytest.approx(dpi / 25.4)
    assert (g["page_width_mm"], g["page_height_mm"]) == size_mm
    assert (
        r.image.size
        == (round(size_mm[0] * dpi / 25.4), round(size_mm[1] * dpi / 25.4))
        == (g["width_px"], g["height_px"])
    )
    (rhythm,) = [p for p in g["leads"] if p["rhythm"]]
    assert rhythm["x_range"][1] - rhythm["x_range"][0] == mm(r, 250)  # 10 s at 25 mm/s
    json.loads(sidecar_json(g))


@pytest.mark.parametrize("grid", ["red", "green", "blue"])
def test_grid_lines_every_mm_and_5mm(grid):
    r = render_ecg(zeros(500), 500, PrintSettings(grid=grid, dpi=200.0))
    pixels = np.asarray(r.image.convert("RGB"))
    colours = PAPER_COLOURS[grid]
    base = panels(r, "I")[0]["baseline_y"]
    between = [base + mm(r, k + 0.5) for k in range(3, 15)]  # below row 0's flat trace, above row 1's label
    for x_mm in range(30, 260):
        expected = colours.major if x_mm % 5 == 0 else colours.minor
        assert (pixels[between, mm(r, x_mm)] == expected).all(), x_mm
        assert (pixels[between, mm(r, x_mm + 0.5)] == colours.background).all(), x_mm


def test_no_grid_and_monochrome():
    plain = np.asarray(render_ecg(zeros(500), 500, PrintSettings(grid="none")).image.convert("RGB"))
    assert set(map(tuple, plain.reshape(-1, 3))) == {(255, 255, 255), (0, 0, 0)}
    grey = np.asarray(render_ecg(zeros(500), 500, PrintSettings(monochrome=True)).image.convert("RGB"))
    assert (grey[..., 0] == grey[..., 1]).all() and (grey[..., 1] == grey[..., 2]).all()
    assert len(np.unique(grey)) == 4  # paper, 1 mm lines, 5 mm lines, ink


@pytest.mark.parametrize("gain", [5.0, 10.0, 20.0])
@pytest.mark.parametrize("speed", [25.0, 50.0])
def test_calibration_pulse_is_1mv_tall_and_0_2s_wide(gain, speed):
    r = render_ecg(zeros(500), 500, PrintSettings(gain_mm_mv=gain, speed_mm_s=speed, header=False))
    dark = ink(r)
    pen = r.geometry["trace_width_px"]
    for row in range(4):
        panel = next(p for p in r.geometry["leads"] if p["row"] == row)
        base, zone = panel["baseline_y"], slice(0, panel["x_range"][0] - pen)
        top = base - mm(r, gain + 5)
        rows = top + np.flatnonzero(dark[top : base + mm(r, 2), zone].any(axis=1))
        assert rows[-1] - rows[0] + 1 - pen == mm(r, gain)  # line centre to line centre: 1 mV, to the pixel
        plateau = np.flatnonzero(dark[rows[0] + (pen - 1) // 2, zone])
        assert plateau[-1] - plateau[0] + 1 - pen == mm(r, 0.2 * speed)  # 0.2 s of paper


@pytest.mark.parametrize("speed", [25.0, 50.0])
def test_one_second_spans_speed_millimetres(speed):
    fs = 500.0
    signal = spike(spike(zeros(fs), fs, "II", 1.0), fs, "II", 2.0)
    r = render_ecg(signal, fs, PrintSettings(speed_mm_s=speed))
    (rhythm,) = [p for p in panels(r, "II") if p["rhythm"]]
    (x1, y1), (x2, _) = top_of_spike(r, rhythm, 1.0, fs), top_of_spike(r, rhythm, 2.0, fs)
    assert abs((x2 - x1) - speed * r.geometry["px_per_mm"]) <= 1
    assert rhythm["baseline_y"] - y1 == mm(r, 10.0)  # 1 mV at 10 mm/mV
    dark = ink(r)
    assert dark[y1, x1] and dark[y1 - 3 : y1, x1].sum() <= 1  # the spike's tip is drawn, and no higher


@pytest.mark.parametrize(
    "layout, n_rows, n_panels, column_s",
    [("3x4", 3, 12, 2.5), ("3x4+1", 4, 13, 2.5), ("3x4+3", 6, 15, 2.5), ("6x2", 6, 12, 5.0), ("12x1", 12, 12, 10.0)],
)
def test_layouts_show_every_lead_in_its_window(layout, n_rows, n_panels, column_s):
    fs = 500.0
    r = render_ecg(zeros(fs), fs, PrintSettings(layout=layout))
    leads = r.geometry["leads"]
    assert len(leads) == n_panels and {p["row"] for p in leads} == set(range(n_rows))
    assert {p["name"] for p in leads if not p["rhythm"]} == set(LEADS)
    for p in leads:
        span = SECONDS if p["rhythm"] else column_s
        assert p["t_end"] - p["t_start"] == pytest.approx(span)
        assert (p["sample_start"], p["sample_end"]) == (round(p["t_start"] * fs), round(p["t_end"] * fs))
        assert len(p["trace"]) == p["sample_end"] - p["sample_start"]
    if layout == "3x4+3":
        assert [p["name"] for p in leads if p["rhythm"]] == ["II", "V1", "V5"]
    # at 50 mm/s the same page shows half the time
    fast = render_ecg(zeros(fs), fs, PrintSettings(layout=layout, speed_mm_s=50.0))
    assert max(p["t_end"] for p in fast.geometry["leads"]) == 5.0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_spike_appears_only_in_its_lead_where_the_sidecar_says(layout):
    fs = 500.0
    r = render_ecg(spike(zeros(fs), fs, "V2", 6.2, mv=1.5), fs, PrintSettings(layout=layout, header=False))
    dark = ink(r)
    (v2,) = panels(r, "V2")
    assert v2["t_start"] <= 6.2 < v2["t_end"]
    x, y = top_of_spike(r, v2, 6.2, fs)
    assert v2["baseline_y"] - y == mm(r, 15.0)
    assert dark[y, x] and not dark[y - 3, x]
    for p in r.geometry["leads"]:  # every other trace is a flat line on its baseline
        ys = {pt[1] for pt in p["trace"]}
        assert ys == {p["baseline_y"]} or p is v2


def test_other_rhythm_leads_and_invalid_options():
    r = render_ecg(zeros(500), 500, PrintSettings(layout="3x4+1", rhythm_leads=("V5",)))
    assert [p["name"] for p in r.geometry["leads"] if p["rhythm"]] == ["V5"]
    bad = [
        ({"layout": "4x3"}, "layout must be one of 3x4, 3x4+1, 3x4+3, 6x2, 12x1"),
        ({"speed_mm_s": 30.0}, "speed_mm_s must be one of 25.0, 50.0"),
        ({"gain_mm_mv": 15}, "gain_mm_mv must be one of 5.0, 10.0, 20.0"),
        ({"grid": "purple"}, "grid must be one of red, orange, green, blue, grey, none"),
        ({"paper_size": "a3"}, "paper_size must be one of a4, letter"),
        ({"rhythm_leads": ("V7",)}, "rhythm lead must be one of I, II"),
        ({"layout": "3x4+3", "rhythm_leads": ("II",)}, "prints 3 rhythm strip"),
        ({"dpi": 0}, "dpi must be"),
    ]
    for options, message in bad:
        with pytest.raises(ValueError, match=message.replace("+", r"\+")):
            PrintSettings(**options)


def test_deterministic_bytes():
    signal = np.random.default_rng(0).normal(0, 0.3, (12, 5000)).astype(np.float32)
    a, b = (render_ecg(signal, 500, header=["ID 1"]) for _ in range(2))
    assert sidecar_json(a.geometry) == sidecar_json(b.geometry)
    assert encode(a) == encode(b) and encode(a)[0].startswith(b"\x89PNG")


def label_ink(rendered, panel: dict) -> np.ndarray:
    """The dark pixels of a panel's label (drawn 11 mm above its baseline), cropped to their bounding box."""
    rows = slice(panel["baseline_y"] - mm(rendered, 11.5), panel["baseline_y"] - mm(rendered, 6.5))
    box = ink(rendered)[rows, panel["x_range"][0] : panel["x_range"][0] + mm(rendered, 15)]
    ys, xs = np.nonzero(box)
    return box[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] if len(ys) else box[:0, :0]


def shows(band: np.ndarray, glyphs: np.ndarray) -> bool:
    """Whether `glyphs` appear in `band` exactly, not merged with any other ink."""
    h, w = glyphs.shape
    return any(
        np.array_equal(band[i : i + h, j : j + w], glyphs)
        for i in range(band.shape[0] - h + 1)
        for j in range(band.shape[1] - w + 1)
    )


@pytest.mark.parametrize("layout", ["3x4+1", "3x4+3"])
def test_every_label_stays_legible_where_a_qrs_rises_through_it(layout):
    """Lead II's first beat sits where its label goes, in the grid cell and the rhythm strip: the label moves
    clear of the trace instead of vanishing into the spike."""
    settings = PrintSettings(layout=layout, grid="none")
    flat = render_ecg(zeros(500), 500, settings)
    spiky = render_ecg(spike(zeros(500), 500, "II", 0.06, mv=2.0), 500, settings)
    strips = [p for p in spiky.geometry["leads"] if p["rhythm"]]
    assert [p["name"] for p in strips] == list(settings.strips)
    for clean, panel in zip(panels(flat, "II"), panels(spiky, "II"), strict=True):
        glyphs = label_ink(flat, clean)
        assert glyphs.any()
        rows = slice(panel["baseline_y"] - mm(spiky, 11.5), panel["baseline_y"] - mm(spiky, 6.5))
        band = ink(spiky)[rows, panel["x_range"][0] : panel["x_range"][0] + mm(spiky, 15)]
        assert shows(band, glyphs), f"label of {panel['name']} (rhythm={panel['rhythm']}) hidden by its trace"


def test_missing_lead_is_flat_and_labelled_and_gaps_stay_gaps():
    signal = zeros(500)
    signal[LEADS.index("V3")] = np.nan
    signal[LEADS.index("V5"), 3800:3900] = np.nan  # a partial gap (V5 shows 7.5-10 s) is left blank
    r = render_ecg(signal, 500, PrintSettings(layout="3x4"))
    dark = ink(r)
    (v3,) = panels(r, "V3")
    assert v3["missing"] and not any(p["missing"] for p in r.geometry["leads"] if p is not v3)
    x0, x1 = v3["x_range"]
    assert dark[v3["baseline_y"], x0 + 2 : x1 - 2].all()  # flat line across the panel

    def label_width(panel):
        rows = slice(panel["baseline_y"] - mm(r, 11.5), panel["baseline_y"] - mm(r, 6.5))
        cols = np.flatnonzero(dark[rows, panel["x_range"][0] : panel["x_range"][1]].any(axis=0))
        return cols[-1] - cols[0]

    assert label_width(v3) > 3 * label_width(panels(r, "V2")[0])  # "V3 (lead missing)" vs "V2"
    (v5,) = panels(r, "V5")
    sidecar = json.loads(sidecar_json(r.geometry))
    v5_trace = next(p for p in sidecar["leads"] if p["name"] == "V5")["trace"]
    assert [k for k, point in enumerate(v5_trace) if point is None] == list(range(50, 150))
    gap_x = [x for x, _ in v5["trace"][50:150]]  # where the gap would be, NaN; its neighbours are ink
    assert np.isnan(gap_x).all()
    left, right = (int(v) for v in v5["trace"][49]), (int(v) for v in v5["trace"][150])
    xl, y = left
    xr, _ = right
    assert dark[y, xl] and dark[y, xr] and not dark[y, xl + 4 : xr - 4].any()


def test_short_signal_leaves_the_rest_blank_and_long_signal_shows_the_first_page():
    fs = 500.0
    r = render_ecg(spike(zeros(fs, 4.0), fs, "II", 3.0), fs)
    for p in r.geometry["leads"]:
        if p["t_start"] >= 5.0:
            assert p["sample_start"] == p["sample_end"] == 2000 and len(p["trace"]) == 0
    long = render_ecg(spike(zeros(fs, 30.0), fs, "II", 15.0), fs)
    assert all({pt[1] for pt in p["trace"]} == {p["baseline_y"]} for p in long.geometry["leads"])
    assert long.geometry["n_samples"] == 15000


@pytest.mark.parametrize("shape", [(11, 5000), (13, 5000), (5000,), (12, 0), (1, 12, 5000)])
def test_wrong_shape_raises(shape):
    with pytest.raises(ValueError, match=r"\[12, N\]"):
        render_ecg(np.zeros(shape), 500)


@pytest.mark.parametrize("fs", [0.0, -1.0, float("nan")])
def test_bad_sampling_rate_raises(fs):
    with pytest.raises(ValueError, match="fs"):
        render_ecg(zeros(500), fs)


def test_extreme_amplitudes_run_off_the_page():
    signal = zeros(500)
    signal[0, 10] = 1e9
    signal[1, 10] = -np.inf
    r = render_ecg(signal, 500)
    assert r.image.size == (r.geometry["width_px"], r.geometry["height_px"])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_real_records_render_in_every_layout(layout):
    from ecg_core.sources.reader import Input
    from ecg_core.sources.wfdb_source import WFDBSource

    header = REALDATA / "wfdb_dat" / "E07500.hea"
    (record,) = WFDBSource().read(Input(key="E07500", files=(header, header.with_suffix(".dat"))))
    r = render_ecg(record.signal, record.fs, PrintSettings(layout=layout, dpi=100.0))
    dark = ink(r)
    for p in r.geometry["leads"]:
        points = np.array(p["trace"], dtype=int)
        on_ink = dark[points[:, 1].clip(0, r.image.height - 1), points[:, 0].clip(0, r.image.width - 1)]
        assert on_ink.mean() > 0.99, p["name"]
