"""Artefact catalogue, sampling and the paper/photo augmentation, on small synthetic pages."""

from __future__ import annotations

import numpy as np
import pytest

from ecg_core.render.artefacts import (
    ALL_ON,
    ARTEFACT_NAMES,
    ArtefactSpec,
    artefact_specs,
    ink_style,
    sample_artefacts,
)
from ecg_core.render.augment import augment
from ecg_core.render.variants import RenderConfig

PX_PER_MM = 3.0
WIDTH, HEIGHT = 600, 420
GEOMETRY = ("rotation", "perspective", "crop")
PIXEL_ARTEFACTS = tuple(n for n in ARTEFACT_NAMES if n not in ("faded_ink", "thick_ink", "jpeg"))


def ecg_like_page() -> np.ndarray:
    """Pale pink paper, 1 mm and 5 mm grid lines, a few 2-3 px black lines and dots."""
    page = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    page[:] = (255, 246, 246)
    for spacing_mm, colour in ((1.0, (246, 196, 196)), (5.0, (228, 112, 112))):
        step = spacing_mm * PX_PER_MM
        page[:, np.arange(0, WIDTH - 1, step).round().astype(int)] = colour
        page[np.arange(0, HEIGHT - 1, step).round().astype(int)] = colour
    for y in (90, 210, 330):
        page[y : y + 3, 30:570] = 0
    page[40:300, 200:202] = 0
    for x in range(50, 560, 40):
        page[380:383, x : x + 3] = 0
    return page


def dotted_page() -> tuple[np.ndarray, np.ndarray]:
    """White page with 3x3 black dots; returns it and the dot centres (x, y)."""
    page = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    centres = np.array([(x, y) for x in range(10, WIDTH - 5, 29) for y in range(10, HEIGHT - 5, 31)])
    for x, y in centres:
        page[y - 1 : y + 2, x - 1 : x + 2] = 0
    return page, centres


def all_on(strength: float) -> dict[str, float]:
    return {name: strength for name in ARTEFACT_NAMES}


# --- catalogue and sampling ----------------------------------------------------------------------------


def test_catalogues_cover_every_artefact_and_are_valid():
    realistic = RenderConfig.load("render/default.yaml").artefacts  # the realistic mix lives in the config
    for catalogue in (realistic, ALL_ON):
        assert tuple(catalogue) == ARTEFACT_NAMES
        assert artefact_specs(catalogue) == catalogue
    assert all(spec == ArtefactSpec(1.0, (0.5, 1.0)) for spec in ALL_ON.values())


def test_artefact_specs_parses_yaml_style_config():
    specs = artefact_specs({"blur": {"probability": 0.25, "strength": [0.1, 0.4]}, "folds": ArtefactSpec(1, (0, 1))})
    assert specs == {"folds": ArtefactSpec(1.0, (0.0, 1.0)), "blur": ArtefactSpec(0.25, (0.1, 0.4))}
    assert list(specs) == ["folds", "blur"]  # application order


@pytest.mark.parametrize(
    "config, fragments",
    [
        ({"smudge": {"probability": 0.5, "strength": [0, 1]}}, ["smudge", *ARTEFACT_NAMES]),
        ({"rotation": {"probability": 1.5, "strength": [0, 1]}}, ["rotation", "probability", "1.5"]),
        ({"rotation": {"probability": -0.1, "strength": [0, 1]}}, ["rotation", "-0.1"]),
        ({"noise": {"probability": 0.5, "strength": [0.8, 0.2]}}, ["noise", "0.8", "0.2"]),
        ({"noise": {"probability": 0.5, "strength": [0.2, 1.4]}}, ["noise", "1.4"]),
        ({"noise": {"probability": 0.5, "strength": 0.3}}, ["noise", "0.3"]),
        ({"blur": {"probability": 0.5}}, ["blur", "strength"]),
    ],
)
def test_artefact_specs_errors_name_the_problem(config, fragments):
    with pytest.raises(ValueError) as error:
        artefact_specs(config)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_sample_respects_probability_and_strength_range():
    specs = {
        "folds": ArtefactSpec(0.0, (0.0, 1.0)),
        "blur": ArtefactSpec(1.0, (0.2, 0.3)),
        "noise": ArtefactSpec(0.5, (0.0, 1.0)),
    }
    draws = [sample_artefacts(specs, seed) for seed in range(200)]
    assert not any("folds" in d for d in draws)
    assert all(0.2 <= d["blur"] <= 0.3 for d in draws)
    assert 60 < sum("noise" in d for d in draws) < 140
    assert len({d["blur"] for d in draws}) == 200
    assert sample_artefacts(specs, 7) == sample_artefacts(specs, 7)


def test_each_artefact_has_its_own_stream():
    base = {name: ArtefactSpec(0.5, (0.0, 1.0)) for name in ARTEFACT_NAMES}
    changed = base | {"rotation": ArtefactSpec(1.0, (0.9, 1.0)), "jpeg": ArtefactSpec(0.0, (0.0, 1.0))}
    for seed in range(30):
        a, b = sample_artefacts(base, seed), sample_artefacts(changed, seed)
        for name in set(ARTEFACT_NAMES) - {"rotation", "jpeg"}:
            assert a.get(name) == b.get(name)
        assert "rotation" in b and "jpeg" not in b


def test_ink_style():
    assert ink_style({}) == ((0, 0, 0), 1.0)
    assert ink_style({"noise": 1.0}) == ((0, 0, 0), 1.0)
    colour, width = ink_style({"faded_ink": 1.0})
    assert colour == (120, 120, 140) and width == 1.0
    assert max(colour) <= 140  # still far darker than the paper grid's red channel (>= 228)
    assert ink_style({"faded_ink": 0.5})[0] == (60, 60, 70)
    assert ink_style({"thick_ink": 1.0}) == ((0, 0, 0), 2.5)
    assert ink_style({"thick_ink": 0.0})[1] == 1.0


# --- augment -------------------------------------------------------------------------------------------


def test_same_seed_same_output_and_different_seed_differs():
    page = ecg_like_page()
    strengths = all_on(0.8)
    a, b = augment(page, strengths, 3, PX_PER_MM), augment(page, strengths, 3, PX_PER_MM)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.homography, b.homography)
    assert a.jpeg_quality == b.jpeg_quality
    c = augment(page, strengths, 4, PX_PER_MM)
    assert a.image.shape != c.image.shape or not np.array_equal(a.image, c.image)
    assert not np.array_equal(a.homography, c.homography)


def test_page_is_not_modified():
    page = ecg_like_page()
    augment(page, all_on(1.0), 0, PX_PER_MM)
    assert np.array_equal(page, ecg_like_page())


@pytest.mark.parametrize("name", PIXEL_ARTEFACTS)
def test_each_artefact_changes_the_image(name):
    page = ecg_like_page()
    out = augment(page, {name: 1.0}, 1, PX_PER_MM)
    if name == "crop":
        assert out.image.shape[2] == 3 and out.image.shape[:2] != page.shape[:2]
    else:
        assert out.image.shape == page.shape
        difference = np.abs(out.image.astype(int) - page).max(axis=2)
        assert (difference > 2).mean() > 0.005 and difference.max() > 8
    assert out.image.dtype == np.uint8
    assert (out.jpeg_quality is None) and (np.array_equal(out.homography, np.eye(3)) == (name not in GEOMETRY))


@pytest.mark.parametrize("name", PIXEL_ARTEFACTS)
def test_strength_zero_is_nearly_a_no_op(name):
    page = ecg_like_page()
    out = augment(page, {name: 0.0}, 1, PX_PER_MM)
    assert out.image.shape == page.shape
    assert float(np.abs(out.image.astype(int) - page).mean()) < 0.5


def test_artefacts_in_page_space_and_drawing_stage_leave_pixels_alone():
    page = ecg_like_page()
    out = augment(page, {"faded_ink": 1.0, "thick_ink": 1.0}, 0, PX_PER_MM)
    assert np.array_equal(out.image, page) and np.array_equal(out.homography, np.eye(3))
    assert out.jpeg_quality is None
    empty = augment(page, {}, 0, PX_PER_MM)
    assert np.array_equal(empty.image, page) and np.array_equal(empty.homography, np.eye(3))
    assert empty.jpeg_quality is None


def test_jpeg_only_sets_the_quality():
    page = ecg_like_page()
    qualities = [augment(page, {"jpeg": s}, 0, PX_PER_MM) for s in (0.0, 0.5, 1.0)]
    assert [q.jpeg_quality for q in qualities] == [95, 62, 30]
    assert all(np.array_equal(q.image, page) and np.array_equal(q.homography, np.eye(3)) for q in qualities)


def test_no_geometric_artefact_keeps_identity_and_size():
    page = ecg_like_page()
    strengths = {n: 0.9 for n in ARTEFACT_NAMES if n not in GEOMETRY}
    out = augment(page, strengths, 5, PX_PER_MM)
    assert np.array_equal(out.homography, np.eye(3))
    assert out.image.shape == page.shape


@pytest.mark.parametrize("seed", range(6))
def test_homography_maps_page_points_to_output_pixels(seed):
    page, centres = dotted_page()
    out = augment(page, {"rotation": 1.0, "perspective": 1.0, "crop": 1.0}, seed, PX_PER_MM)
    height, width = out.image.shape[:2]
    mapped = np.c_[centres, np.ones(len(centres))] @ out.homography.T
    xy = np.rint(mapped[:, :2] / mapped[:, 2:]).astype(int)
    inside = (xy[:, 0] >= 2) & (xy[:, 0] < width - 2) & (xy[:, 1] >= 2) & (xy[:, 1] < height - 2)
    assert inside.mean() > 0.6
    values = out.image[xy[inside, 1], xy[inside, 0]].max(axis=1)
    assert values.max() < 128, f"dots not found where the homography puts them: {values}"
    # And the white paper between the dots stays white where the homography says it is.
    between = np.c_[centres + (14, 15), np.ones(len(centres))] @ out.homography.T
    bxy = np.rint(between[:, :2] / between[:, 2:]).astype(int)
    ok = (bxy[:, 0] >= 0) & (bxy[:, 0] < width) & (bxy[:, 1] >= 0) & (bxy[:, 1] < height)
    ok &= (centres[:, 0] + 14 < WIDTH - 2) & (centres[:, 1] + 15 < HEIGHT - 2)
    assert out.image[bxy[ok, 1], bxy[ok, 0]].min() > 200


def test_outside_the_paper_is_background():
    page = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    for seed in range(5):
        out = augment(page, {"rotation": 1.0}, seed, PX_PER_MM)
        corners = out.image[[0, 0, -1, -1], [0, -1, 0, -1]]
        assert corners.max() <= 150 and corners.min() >= 30  # a dark-to-mid grey or beige desk
        assert out.image[HEIGHT // 2, WIDTH // 2].min() == 255


def test_crop_pads_or_crops_each_side():
    page = ecg_like_page()
    sizes = {augment(page, {"crop": 1.0}, seed, PX_PER_MM).image.shape[:2] for seed in range(20)}
    heights, widths = zip(*sizes)
    assert min(widths) < WIDTH < max(widths) and min(heights) < HEIGHT < max(heights)
    assert all(abs(w - WIDTH) <= 0.16 * WIDTH + 1 and abs(h - HEIGHT) <= 0.16 * HEIGHT + 1 for h, w in sizes)


def test_parameters_do_not_depend_on_which_other_artefacts_fired():
    page = ecg_like_page()
    alone = augment(page, {"crop": 0.7}, 11, PX_PER_MM)
    with_others = augment(page, {"crop": 0.7, "noise": 0.5, "folds": 0.3, "blur": 0.2}, 11, PX_PER_MM)
    assert np.array_equal(alone.homography, with_others.homography)
    assert alone.image.shape == with_others.image.shape


def test_lighting_darkens_and_colour_tints():
    page = np.full((HEIGHT, WIDTH, 3), 200, np.uint8)
    lit = augment(page, {"lighting": 1.0}, 2, PX_PER_MM).image.astype(float)
    assert lit.max() <= 200 and lit.min() < 200 * 0.75 and lit.mean() < 190
    tinted = augment(page, {"colour": 1.0}, 2, PX_PER_MM).image.astype(float)
    red, blue = tinted[..., 0].mean(), tinted[..., 2].mean()
    assert abs(red - blue) > 20 and np.ptp(tinted[..., 0]) <= 1  # uniform, warm or cool


def test_noise_strength_sets_its_spread():
    page = np.full((HEIGHT, WIDTH, 3), 200, np.uint8)
    spreads = [augment(page, {"noise": s}, 0, PX_PER_MM).image.astype(float).std() for s in (0.3, 1.0)]
    assert 2 < spreads[0] < spreads[1] < 20


def test_folds_shade_along_straight_lines():
    page = np.full((HEIGHT, WIDTH, 3), 200, np.uint8)
    for seed in range(4):
        deviation = np.abs(augment(page, {"folds": 1.0}, seed, PX_PER_MM).image[..., 0].astype(float) - 200)
        assert (deviation > 3).mean() < 0.3  # narrow bands
        # Fold lines run nearly parallel to an edge: some column or row is shaded all along.
        assert max(deviation.mean(axis=0).max(), deviation.mean(axis=1).max()) > 8


def test_salt_and_pepper_sets_a_fraction_of_pixels_to_black_or_white():
    page = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    out = augment(page, {"salt_pepper": 1.0}, 0, PX_PER_MM).image
    changed = (out != 128).any(axis=2)
    assert 0.005 < changed.mean() <= 0.01
    assert set(np.unique(out[changed])) <= {0, 255}


def test_blur_softens_edges():
    page = ecg_like_page()
    out = augment(page, {"blur": 1.0}, 0, PX_PER_MM).image.astype(int)
    assert np.abs(np.diff(out, axis=1)).mean() < 0.8 * np.abs(np.diff(page.astype(int), axis=1)).mean()


@pytest.mark.parametrize(
    "page", [np.zeros((20, 30), np.uint8), np.zeros((20, 30, 3), np.float32), np.zeros((20, 30, 4), np.uint8)]
)
def test_bad_page_raises(page):
    with pytest.raises(ValueError, match="H x W x 3 uint8"):
        augment(page, {}, 0, PX_PER_MM)


def test_bad_strengths_raise():
    page = ecg_like_page()
    with pytest.raises(ValueError) as error:
        augment(page, {"smudge": 0.5}, 0, PX_PER_MM)
    assert all(name in str(error.value) for name in ARTEFACT_NAMES)
    with pytest.raises(ValueError, match="blur"):
        augment(page, {"blur": 1.5}, 0, PX_PER_MM)
