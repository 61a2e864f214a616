"""Render configs: how many image variants per record, and how each variant's print options and
artefacts are drawn, deterministically from (seed, record id, variant number)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from ecg_core.render.artefacts import ArtefactSpec, artefact_specs, sample_artefacts
from ecg_core.render.encode import FORMATS
from ecg_core.render.print_settings import PrintSettings, check_choice
from ecg_core.settings import Settings, knob

# Print options a config may vary per variant (PrintSettings fields; dpi is one value per config).
VARIED_OPTIONS = ("layout", "rhythm_leads", "speed_mm_s", "gain_mm_mv", "paper_size", "grid", "monochrome", "header")


@dataclass(frozen=True)
class RenderConfig(Settings):
    # Defaults draw one clean page per record; configs/render/default.yaml is the realistic mix.
    variants: int = knob(1, "images per record")
    seed: int = 0
    dpi: float = 200.0
    format: str = knob("auto", "auto: PNG for a clean page, JPEG once artefacts touched the pixels")
    plain_first: bool = knob(True, "variant 0 is the clean default printout, whatever the options below")
    options: Mapping[str, tuple] = knob(factory=dict, help="option -> values drawn uniformly per variant")
    artefacts: Mapping[str, ArtefactSpec] = knob(factory=dict, help="name -> probability and strength")

    def __post_init__(self):
        if not (isinstance(self.variants, int) and self.variants >= 1):
            raise ValueError(f"variants must be a whole number >= 1; got {self.variants!r}")
        check_choice("format", self.format, FORMATS)
        options = {}
        for name, values in dict(self.options).items():
            check_choice("print option", name, VARIED_OPTIONS)
            values = _value_list(values)
            if not values:
                raise ValueError(f"print option {name}: give at least one value")
            for value in values:  # every listed value must make valid settings
                PrintSettings(dpi=self.dpi, **{name: value})
            options[name] = values
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "artefacts", artefact_specs(self.artefacts))

    def to_dict(self) -> dict:
        return asdict(self) | {
            "options": {k: list(v) for k, v in self.options.items()},
            "artefacts": {k: asdict(v) for k, v in self.artefacts.items()},
        }

    def fingerprint(self) -> str:
        """Short hash of everything that changes the images: finished batches are kept only for the same one."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def _value_list(values) -> tuple:
    """A YAML list (or one bare value) as a tuple; inner lists (rhythm leads) become tuples too."""
    values = values if isinstance(values, (list, tuple)) else [values]
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


@dataclass(frozen=True)
class Variant:
    settings: PrintSettings
    artefacts: dict[str, float]  # fired artefacts and their strengths
    seed: int


def variant_seed(seed: int, record_id: str, variant: int) -> int:
    """Independent of record order and of which other records are rendered."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{record_id}:{variant}".encode()).digest()[:8], "big") >> 1


def sample_variant(config: RenderConfig, record_id: str, variant: int) -> Variant:
    seed = variant_seed(config.seed, record_id, variant)
    if variant == 0 and config.plain_first:
        return Variant(PrintSettings(dpi=config.dpi), {}, seed)
    rng = np.random.default_rng(seed)
    chosen = {name: values[rng.integers(len(values))] for name, values in config.options.items()}
    return Variant(PrintSettings(dpi=config.dpi, **chosen), sample_artefacts(config.artefacts, seed), seed)
