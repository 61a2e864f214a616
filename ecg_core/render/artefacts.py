"""Catalogue of printout/photo artefacts, their configuration and the per-image draw of which ones fire.

Each artefact has a probability of being applied to an image and a strength range: 0 is barely visible,
1 the strongest we model. `augment` (ecg_core.render.augment) applies the drawn strengths to a rendered
page; the ink artefacts are instead handed to the drawing stage through `ink_style`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

# The order in which the artefacts are applied: on the paper, then the camera geometry, then the sensor.
ARTEFACT_NAMES: tuple[str, ...] = (
    "folds",
    "creases",
    "wrinkles",
    "faded_ink",
    "thick_ink",
    "rotation",
    "perspective",
    "crop",
    "lighting",
    "colour",
    "noise",
    "salt_pepper",
    "blur",
    "jpeg",
)

RGB = tuple[int, int, int]

# Faded ink at strength 1: a blue-grey whose brightest channel (140) is still far below the red channel
# of every paper colour (>= 228), so ink stays separable from the grid.
FADED_INK: RGB = (120, 120, 140)
MAX_PEN_FACTOR = 2.5


@dataclass(frozen=True)
class ArtefactSpec:
    probability: float  # chance that the artefact is applied to one image, in [0, 1]
    strength: tuple[float, float]  # drawn uniformly from [lo, hi] when applied, 0 <= lo <= hi <= 1


# Every artefact on at a clearly visible strength: the worst case for speed.
ALL_ON: dict[str, ArtefactSpec] = {name: ArtefactSpec(1.0, (0.5, 1.0)) for name in ARTEFACT_NAMES}


def check_names(names) -> None:
    unknown = sorted(set(names) - set(ARTEFACT_NAMES))
    if unknown:
        raise ValueError(f"unknown artefact(s) {unknown}; allowed: {', '.join(ARTEFACT_NAMES)}")


def artefact_specs(config: Mapping[str, Mapping | ArtefactSpec]) -> dict[str, ArtefactSpec]:
    """Parse and validate {name: {"probability": p, "strength": [lo, hi]}} (as read from YAML) or ArtefactSpecs.

    Artefacts missing from the config are never applied.
    """
    check_names(config)
    specs = {}
    for name in ARTEFACT_NAMES:
        if name in config:
            specs[name] = _parse_spec(name, config[name])
    return specs


def _parse_spec(name: str, entry: Mapping | ArtefactSpec) -> ArtefactSpec:
    if isinstance(entry, ArtefactSpec):
        entry = {"probability": entry.probability, "strength": entry.strength}
    if not isinstance(entry, Mapping) or set(entry) != {"probability", "strength"}:
        raise ValueError(f"artefact {name!r} needs exactly the keys 'probability' and 'strength', got {entry!r}")
    probability, strength = entry["probability"], entry["strength"]
    if not isinstance(probability, (int, float)) or not 0.0 <= probability <= 1.0:
        raise ValueError(f"artefact {name!r}: probability must be in [0, 1], got {probability!r}")
    try:
        lo, hi = (float(v) for v in strength)
    except (TypeError, ValueError):
        raise ValueError(f"artefact {name!r}: strength must be [lo, hi], got {strength!r}") from None
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"artefact {name!r}: strength must satisfy 0 <= lo <= hi <= 1, got {strength!r}")
    return ArtefactSpec(float(probability), (lo, hi))


def sample_artefacts(specs: Mapping[str, ArtefactSpec], seed: int) -> dict[str, float]:
    """{name: strength} of the artefacts that fire for one image, deterministic by seed (a non-negative int).

    Each artefact draws from its own stream, so changing one artefact's spec never changes another's draw.
    """
    check_names(specs)
    fired = {}
    for index, name in enumerate(ARTEFACT_NAMES):
        if name in specs:
            rng = np.random.default_rng([seed, index])
            spec = specs[name]
            fires, strength = rng.random() < spec.probability, rng.uniform(*spec.strength)
            if fires:
                fired[name] = float(strength)
    return fired


def ink_style(strengths: Mapping[str, float]) -> tuple[RGB, float]:
    """(ink RGB colour, pen-width factor) for the drawing stage.

    faded_ink lightens the ink from black toward FADED_INK (reached at strength 1); thick_ink widens the
    pen up to MAX_PEN_FACTOR times. Neither -> ((0, 0, 0), 1.0).
    """
    faded = strengths.get("faded_ink", 0.0)
    colour = tuple(round(faded * channel) for channel in FADED_INK)
    return colour, 1.0 + (MAX_PEN_FACTOR - 1.0) * strengths.get("thick_ink", 0.0)
