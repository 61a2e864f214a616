"""Paper and photo artefacts on a rendered ECG page: folds, crumpling, a tilted phone photo, lighting, noise.

Three stages, in ARTEFACT_NAMES order:
- paper (folds, creases, wrinkles): brightness shading fixed to the paper, in page coordinates;
- geometry (rotation, perspective, crop): one homography, one warp;
- camera (lighting, colour, noise, salt_pepper, blur): in output coordinates.
Full-resolution passes are what costs time, so paper shading, lighting and colour, all smooth, form one
coarse gain map (about 1 mm per cell), upsampled once and applied in a single full-resolution multiply.
faded_ink and thick_ink belong to the drawing stage (see artefacts.ink_style); jpeg only sets the quality
the caller encodes with.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ecg_core.render.artefacts import ARTEFACT_NAMES, check_names

PAPER = ("folds", "creases", "wrinkles")
GEOMETRY = ("rotation", "perspective", "crop")
GAINS = (*PAPER, "lighting", "colour")
PIXEL_EFFECTS = (*GAINS, "noise", "salt_pepper", "blur")
GAIN_MM = 1.0  # cell size of the coarse gain map
BACKGROUND_STREAM = len(ARTEFACT_NAMES)  # the desk/scanner colour has a random stream of its own

# Strength-1 magnitudes.
MAX_ROTATION_DEG = 8.0
MAX_CORNER_SHIFT = 0.06  # of the shorter side
MAX_CROP = 0.08  # of the page size, per side
MAX_DARKENING = 0.4
MAX_COLOUR_GAIN = 0.15
MAX_NOISE_SIGMA = 18.0  # grey levels
MAX_SALT_PEPPER = 0.01  # fraction of pixels
MAX_BLUR_MM = 0.25  # Gaussian sigma
JPEG_QUALITY = (95, 30)  # at strength 0 and 1


class _Scratch(threading.local):
    """Per-thread uint8 buffers for full-size temporaries, reused from call to call (each step is done with
    its buffer when it returns). The allocator hands fresh multi-megabyte arrays back to the system, and
    faulting them in again, zeroed, on every call measured at about 10 ms per A4 page at 200 dpi."""

    def __init__(self):
        self.buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        size = math.prod(shape)
        buffer = self.buffers.get(name)
        if buffer is None or buffer.size < size:
            buffer = self.buffers[name] = np.empty(size, np.uint8)
        return buffer[:size].reshape(shape)


_SCRATCH = _Scratch()


@dataclass
class Augmented:
    image: np.ndarray  # [H', W', 3] uint8 RGB; the size differs from the page when crop fired
    homography: np.ndarray  # 3x3 float64: page pixel (x, y, 1) -> output pixel, pixel centres at integers
    jpeg_quality: int | None  # when set, the caller encodes the final image as JPEG at this quality


def augment(page: np.ndarray, strengths: Mapping[str, float], seed: int, px_per_mm: float) -> Augmented:
    """Apply the fired artefacts {name: strength in [0, 1]} to an RGB uint8 page, deterministically by seed.

    Each artefact draws its parameters from its own random stream. When no fired artefact changes pixels
    (only ink or jpeg ones), the page itself is returned, not a copy.
    """
    _check(page, strengths)
    page = np.ascontiguousarray(page)
    rngs = {name: np.random.default_rng([seed, i, 1]) for i, name in enumerate(ARTEFACT_NAMES) if name in strengths}
    height, width = page.shape[:2]
    homography, size = _geometry(strengths, rngs, width, height)

    if any(name in strengths for name in GEOMETRY):
        image = cv2.warpPerspective(page, homography, size, flags=cv2.INTER_LINEAR, borderValue=_background(seed))
    elif any(name in strengths for name in PIXEL_EFFECTS):
        image = page.copy()
    else:
        image = page
    # From here on image is a buffer of our own, changed in place.
    if any(name in strengths for name in GAINS):
        _apply_gain(image, _gain_map(strengths, rngs, homography, (width, height), size, px_per_mm))
    # Blurring in place would make cv2 allocate a copy: the blur reads a scratch buffer instead, which the
    # noise step, when it fires, fills at no extra cost.
    work = _SCRATCH.get("unblurred", image.shape) if "blur" in strengths else image
    if "noise" in strengths:
        _add_noise(image, strengths["noise"], rngs["noise"], work)
    elif work is not image:
        np.copyto(work, image)
    if "salt_pepper" in strengths:
        _salt_pepper(work, strengths["salt_pepper"], rngs["salt_pepper"])
    if "blur" in strengths:
        _blur(work, image, strengths["blur"], px_per_mm)
    quality = None
    if "jpeg" in strengths:
        best, worst = JPEG_QUALITY
        quality = round(best + (worst - best) * strengths["jpeg"])
    return Augmented(image, homography, quality)


def _check(page: np.ndarray, strengths: Mapping[str, float]) -> None:
    if not (isinstance(page, np.ndarray) and page.ndim == 3 and page.shape[2] == 3 and page.dtype == np.uint8):
        raise ValueError(f"page must be an H x W x 3 uint8 array, got {getattr(page, 'shape', type(page))}")
    check_names(strengths)
    for name, strength in strengths.items():
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength of {name!r} must be in [0, 1], got {strength!r}")


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


# --- geometry -----------------------------------------------------------------------------------------


def _geometry(strengths, rngs, width: int, height: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The page -> output homography (rotation, then perspective, then crop) and the output (width, height)."""
    homography, size = np.eye(3), (width, height)
    if "rotation" in strengths:
        homography = _rotation(strengths["rotation"], rngs["rotation"], width, height) @ homography
    if "perspective" in strengths:
        homography = _perspective(strengths["perspective"], rngs["perspective"], width, height) @ homography
    if "crop" in strengths:
        shift, size = _crop(strengths["crop"], rngs["crop"], width, height)
        homography = shift @ homography
    return homography, size


def _rotation(strength: float, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    angle = math.radians(_sign(rng) * MAX_ROTATION_DEG * strength)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return np.array([[cos, -sin, cx - cos * cx + sin * cy], [sin, cos, cy - sin * cx - cos * cy], [0.0, 0.0, 1.0]])


def _perspective(strength: float, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A phone held at a slight angle: each paper corner moves in or out by up to MAX_CORNER_SHIFT."""
    corners = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]])
    moved = corners + rng.uniform(-1.0, 1.0, (4, 2)) * MAX_CORNER_SHIFT * strength * min(width, height)
    return cv2.getPerspectiveTransform(corners.astype(np.float32), moved.astype(np.float32))


def _crop(strength: float, rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Each side moves in (crop) or out (pad) independently; returns the shift and the output size."""
    left, top, right, bottom = np.rint(
        rng.uniform(-1.0, 1.0, 4) * MAX_CROP * strength * np.array([width, height, width, height])
    )
    shift = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top], [0.0, 0.0, 1.0]])
    return shift, (int(width - left - right), int(height - top - bottom))


def _background(seed: int) -> tuple[float, float, float]:
    """Desk or scanner lid around the paper: a dark-to-mid grey, or a beige."""
    rng = np.random.default_rng([seed, BACKGROUND_STREAM, 1])
    level = rng.uniform(40.0, 150.0)
    tint = (1.0, 0.92, 0.78) if rng.random() < 0.5 else (1.0, 1.0, 1.0)
    return tuple(float(level * t) for t in tint)


# --- gain: paper shading, lighting, colour -------------------------------------------------------------


def _gain_map(strengths, rngs, homography, page_size, out_size, px_per_mm: float) -> np.ndarray:
    """[h, w, 3] float32 gain on a coarse grid over the output image."""
    factor = max(1, round(GAIN_MM * px_per_mm))
    out_shape = (math.ceil(out_size[1] / factor), math.ceil(out_size[0] / factor))
    gain = np.ones(out_shape, np.float32)
    paper = [name for name in PAPER if name in strengths]
    if paper:
        page_shape = (math.ceil(page_size[1] / factor), math.ceil(page_size[0] / factor))
        shading = np.ones(page_shape, np.float32)
        for name in paper:
            shading += PAPER_EFFECTS[name](page_shape, strengths[name], rngs[name], px_per_mm / factor)
        if out_size == page_size and np.array_equal(homography, np.eye(3)):
            gain = shading
        else:
            coarse = _coarse(out_shape, out_size) @ homography @ np.linalg.inv(_coarse(page_shape, page_size))
            gain = cv2.warpPerspective(shading, coarse, out_shape[::-1], flags=cv2.INTER_LINEAR, borderValue=1.0)
    if "lighting" in strengths:
        gain *= _lighting(out_shape, strengths["lighting"], rngs["lighting"])
    channels = _colour(strengths["colour"], rngs["colour"]) if "colour" in strengths else (1.0, 1.0, 1.0)
    return cv2.merge([gain * channel for channel in channels])  # numpy broadcasting over 3 is much slower


def _coarse(shape: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Full-resolution pixel -> coarse-grid pixel, as cv2.resize maps pixel centres."""
    sx, sy = shape[1] / size[0], shape[0] / size[1]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])


def _apply_gain(image: np.ndarray, gain: np.ndarray) -> None:
    # The gain travels as uint8 (cv2's fast resize and multiply); scaling it to fill 0..255 keeps the
    # quantisation step at or below one grey level of 255.
    scale = 255.0 / max(1.0, float(gain.max()))
    coarse = cv2.convertScaleAbs(gain, alpha=scale)  # gains are positive: this is a rounding cast
    full = _SCRATCH.get("image", image.shape)
    cv2.resize(coarse, (image.shape[1], image.shape[0]), dst=full, interpolation=cv2.INTER_LINEAR)
    cv2.multiply(image, full, dst=image, scale=1.0 / scale)


def _folds(shape, strength: float, rng: np.random.Generator, px_per_mm: float) -> np.ndarray:
    """1-3 folds across the page at halves or thirds: a dark centre line between a shadow and a highlight."""
    # (vertical, horizontal) folds: 0 none, 1 in half, 2 in thirds; at most three lines.
    patterns = [(v, h) for v in range(3) for h in range(3) if 0 < v + h <= 3]
    vertical, horizontal = patterns[rng.integers(len(patterns))]
    shading = np.zeros(shape, np.float32)
    # A horizontal fold is a vertical fold of the transposed view.
    for count, view in ((vertical, shading), (horizontal, shading.T)):
        for k in range(1, count + 1):
            _add_fold(view, k / (count + 1), strength, rng, px_per_mm)
    return shading


def _add_fold(shading: np.ndarray, fraction: float, strength: float, rng: np.random.Generator, px_per_mm: float):
    """Add a near-vertical fold near `fraction` of the width; only the band it visibly shades is computed."""
    height, width = shading.shape
    position = width * (fraction + rng.normal(0.0, 0.015))
    tilt = rng.normal(0.0, 0.01)  # columns per row
    half_width_mm = rng.uniform(1.5, 4.0)
    side = _sign(rng)  # which side faces the light
    reach = 4 * half_width_mm * px_per_mm + abs(tilt) * height / 2  # the profile is ~0 beyond 4 half-widths
    lo, hi = max(0, int(position - reach)), min(width, int(position + reach) + 2)
    if lo >= hi:
        return
    columns = np.arange(lo, hi, dtype=np.float32)[None, :]
    rows = np.arange(height, dtype=np.float32)[:, None] - height / 2
    distance_mm = (columns - position - tilt * rows) / px_per_mm
    u = distance_mm / half_width_mm
    slope = (0.18 * side) * u * np.exp(0.5 - 0.5 * u * u)  # extremes +-0.18 at one half-width
    centre = 0.12 * np.exp(-((distance_mm / 0.8) ** 2))
    shading[:, lo:hi] += strength * (slope - centre)


def _creases(shape, strength: float, rng: np.random.Generator, px_per_mm: float) -> np.ndarray:
    """2-10 short creases: thin dark/light line pairs at random places and angles."""
    height, width = shape
    canvas = np.zeros(shape, np.float32)
    for _ in range(rng.integers(2, 3 + round(8 * strength))):
        centre = rng.uniform((0.0, 0.0), (width, height))
        angle = rng.uniform(0.0, math.pi)
        direction = np.array([math.cos(angle), math.sin(angle)])
        half = direction * rng.uniform(10.0, 50.0) * px_per_mm
        normal = direction[::-1] * (1.0, -1.0) * 0.5  # half a cell across the crease
        amplitude = 0.3 * strength * rng.uniform(0.5, 1.0) * _sign(rng)  # before the blur halves it
        for offset, value in ((normal, -amplitude), (-normal, amplitude)):
            start, end = (np.rint(centre + offset + s * half).astype(int) for s in (-1, 1))
            cv2.line(canvas, tuple(start.tolist()), tuple(end.tolist()), value, 1)
    return cv2.GaussianBlur(canvas, (5, 5), 0.8)


def _wrinkles(shape, strength: float, rng: np.random.Generator, px_per_mm: float) -> np.ndarray:
    """Crumpled paper: broad smooth bumps (~60 mm) plus finer texture (~12 mm), up to +-15% at strength 1."""
    broad = _smooth_field(shape, 60.0 * px_per_mm, rng)
    fine = _smooth_field(shape, 12.0 * px_per_mm, rng)
    return strength * (0.11 * broad + 0.04 * fine)


def _smooth_field(shape, cell_px: float, rng: np.random.Generator) -> np.ndarray:
    """Random field smooth over cell_px, scaled to [-1, 1], upsampled from a coarse normal grid."""
    height, width = shape
    grid = rng.standard_normal((2 + math.ceil(height / cell_px), 2 + math.ceil(width / cell_px)))
    # Cubic is smooth but slow: cubic to a quarter of the size, linear from there.
    quarter = (max(1, width // 4), max(1, height // 4))
    field = cv2.resize(cv2.resize(grid.astype(np.float32), quarter, interpolation=cv2.INTER_CUBIC), (width, height))
    return field / max(float(np.abs(field).max()), 1e-6)


PAPER_EFFECTS = {"folds": _folds, "creases": _creases, "wrinkles": _wrinkles}


def _lighting(shape, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Uneven light: a linear ramp mixed with a radial fall-off from a light centre, darkening up to 40%."""
    height, width = shape
    x = (np.arange(width, dtype=np.float32)[None, :] + 0.5) / width
    y = (np.arange(height, dtype=np.float32)[:, None] + 0.5) / height
    angle = rng.uniform(0.0, 2 * math.pi)
    ramp = _unit_range(math.cos(angle) * x + math.sin(angle) * y)
    cx, cy = rng.uniform(-0.2, 1.2), rng.uniform(-0.2, 1.2)  # may lie off the image
    radial = _unit_range((x - cx) ** 2 + (y - cy) ** 2)
    mix = rng.random()
    return 1.0 - MAX_DARKENING * strength * (mix * ramp + (1.0 - mix) * radial)


def _unit_range(values: np.ndarray) -> np.ndarray:
    low, high = values.min(), values.max()
    return (values - low) / max(high - low, 1e-6)


def _colour(strength: float, rng: np.random.Generator) -> tuple[float, float, float]:
    """Colour temperature as RGB gains: warm (more red/yellow, less blue) or cool (the reverse)."""
    shift = MAX_COLOUR_GAIN * strength * rng.uniform(0.5, 1.0) * _sign(rng)
    return 1.0 + shift, 1.0 + 0.4 * shift, 1.0 - shift


# --- sensor and lens -----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _normal_quantiles() -> np.ndarray:
    """The 256 quantiles of N(0, 1): uniform random bytes become normal noise through a lookup table."""
    z = np.linspace(-4.0, 4.0, 4001)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in z]))
    return np.interp((np.arange(256) + 0.5) / 256, cdf, z)


def _add_noise(image: np.ndarray, strength: float, rng: np.random.Generator, dst: np.ndarray) -> None:
    """dst = image + luminance sensor noise in 2x2-pixel grains (drawing random numbers is the slow part)."""
    height, width = image.shape[:2]
    bits = rng.integers(0, 256, ((height + 1) // 2, (width + 1) // 2), dtype=np.uint8)
    table = np.clip(np.rint(128.0 + MAX_NOISE_SIGMA * strength * _normal_quantiles()), 0, 255).astype(np.uint8)
    grains, noise = _SCRATCH.get("grey", (height, width)), _SCRATCH.get("image", image.shape)
    cv2.resize(cv2.LUT(bits, table), (width, height), dst=grains, interpolation=cv2.INTER_NEAREST)
    cv2.cvtColor(grains, cv2.COLOR_GRAY2RGB, dst=noise)
    cv2.addWeighted(image, 1.0, noise, 1.0, -128.0, dst=dst)


def _salt_pepper(image: np.ndarray, strength: float, rng: np.random.Generator) -> None:
    """Dust and dead pixels: a fraction of pixels set to black or white."""
    pixels = image.reshape(-1, 3)
    count = round(MAX_SALT_PEPPER * strength * len(pixels))
    where = rng.integers(0, len(pixels), count)
    values = rng.integers(0, 2, count, dtype=np.uint8) * np.uint8(255)
    for channel in range(3):  # one channel at a time: numpy scatters 1-D far faster than whole rows
        pixels[:, channel][where] = values


def _blur(image: np.ndarray, dst: np.ndarray, strength: float, px_per_mm: float) -> None:
    """Out of focus: Gaussian blur, the kernel cut at about 1.5 sigma (small kernels keep it fast)."""
    sigma = MAX_BLUR_MM * px_per_mm * strength
    size = 2 * max(1, round(1.5 * sigma)) + 1
    cv2.GaussianBlur(image, (size, size), max(sigma, 1e-3), dst=dst)
