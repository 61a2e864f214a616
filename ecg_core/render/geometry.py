"""The geometry sidecar's per-lead entries, in the pixel coordinates of the final image.

Each lead entry holds what the page shows (name, row, record time window, sample range), `baseline_y`
and `x_range` on the unwarped page, and in image pixels: `trace`, one [x, y] per sample from
sample_start to sample_end (a float array [K, 2] of whole pixels, NaN for a NaN sample; null in the
JSON), and `bbox` [x0, y0, x1, y1] around the drawn trace.
A point p of the page lands at `homography` @ p in the image, so rotation, perspective and crop keep
the trace coordinates exact; points may fall outside the image when a crop cut them off.
"""

from __future__ import annotations

import numpy as np
import orjson


def page_to_image(points: np.ndarray, homography: np.ndarray) -> np.ndarray:
    """Map [K, 2] page pixel points through a 3x3 homography (NaN rows stay NaN)."""
    if np.array_equal(homography, np.eye(3)):
        return points
    mapped = np.column_stack([points, np.ones(len(points))]) @ homography.T
    return mapped[:, :2] / mapped[:, 2:]


def lead_geometry(
    entry: dict, points: np.ndarray, homography: np.ndarray, image_size: tuple[int, int], pen_px: int
) -> dict:
    """A panel's page entry plus its trace and bounding box in image pixels."""
    if len(points):
        outline = points
    else:  # an empty panel (record shorter than the page): its baseline segment stands in for the trace
        outline = np.array([[x, entry["baseline_y"]] for x in entry["x_range"]], dtype=np.float64)
    mapped = page_to_image(outline, homography)
    trace = np.rint(mapped) if len(points) else np.empty((0, 2))
    return {**entry, "bbox": _bbox(mapped, pen_px / 2, image_size), "trace": trace}


def _bbox(points: np.ndarray, half_pen: float, image_size: tuple[int, int]) -> list[int] | None:
    """Box around the finite points widened by half the pen, clipped to the image; None if none is visible."""
    finite = points[np.isfinite(points).all(axis=1)]
    if not len(finite):
        return None
    width, height = image_size
    x0, y0 = np.maximum(np.floor(finite.min(axis=0) - half_pen), 0)
    x1, y1 = np.minimum(np.ceil(finite.max(axis=0) + half_pen), [width - 1, height - 1])
    return [int(x0), int(y0), int(x1), int(y1)] if x0 <= x1 and y0 <= y1 else None


def sidecar_json(geometry: dict) -> bytes:
    """The sidecar file: traces as [[x, y], ...] of ints, null where a sample was NaN. orjson writes
    the int arrays directly, about 10x faster than json on the 20,000-60,000 points of a page."""
    leads = [{**lead, "trace": _pixels(lead["trace"])} for lead in geometry["leads"]]
    return orjson.dumps({**geometry, "leads": leads}, option=orjson.OPT_SERIALIZE_NUMPY)


def _pixels(points: np.ndarray) -> np.ndarray | list:
    finite = np.isfinite(points).all(axis=1)
    if finite.all():
        return points.astype(np.int32)
    pixels = np.where(finite[:, None], points, 0).astype(np.int64).tolist()
    return [p if ok else None for p, ok in zip(pixels, finite.tolist())]
