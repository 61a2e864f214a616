"""The paper's ablations as named training variants, and the rows of their comparison table.

A variant is a set of recipe keys that differ from the base recipe (LoRA rank, tuning mode), or a
training split drawn from one source only (the data-source ablation). Every variant is scored on the
same test split, so the rows compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from ecg_core.settings import Settings, knob
from ecg_core.train.config import TrainConfig

SOURCE_PREFIX = "only-"
COLUMNS = (
    "variant",
    "tuning",
    "lora_r",
    "tiles",
    "vision",
    "train_samples",
    "macro_f1",
    "auc",
    "hamming",
    "n_unparsed",
    "trainable_parameters",
    "train_wall_s",
    "samples_per_s",
    "note",
)


@dataclass(frozen=True)
class AblationConfig(Settings):
    """configs/ablation.yaml documents every key; these defaults are the paper's rank sweep, partial tuning and the
    cost levers on the tiny recipe."""

    recipe: TrainConfig = knob(
        help="the recipe every variant starts from: a file in configs/ (or a path), {config, overrides} or its keys",
        factory=lambda: TrainConfig.load("tiny-cpu.yaml"),
    )
    variants: dict[str, dict] = knob(
        help="variant name -> the recipe keys it changes",
        factory=lambda: (
            {f"lora-r{r}": {"lora_r": r, "lora_alpha": 2 * r} for r in (16, 32, 64, 128)}
            | {"partial": {"tuning": "partial"}, "tiles-4-pad": {"max_tiles": 4, "page_fit": "pad"}}
            | {f"tiles-{n}-stretch": {"max_tiles": n, "page_fit": "stretch"} for n in (2, 1)}
            | {"vision-frozen": {"freeze_vision": True}}
            | {"tiles-2-vision-frozen": {"max_tiles": 2, "page_fit": "stretch", "freeze_vision": True}}
        ),
    )
    source_ablation: bool = knob(True, "one more variant per source of the training split, trained on it alone")

    def __post_init__(self):
        self.recipes  # every variant's recipe read now: a typo in the last must not wait for the others' training

    @cached_property
    def recipes(self) -> dict[str, TrainConfig]:
        """Each configured variant's recipe, read once."""
        return {name: self.recipe.updated(keys, f"variants.{name}") for name, keys in self.variants.items()}


def ablation_variants(variants: Mapping[str, Mapping], sources: list[str], source_ablation: bool) -> dict[str, dict]:
    """The configured variants, plus one `only-<source>` variant per source when the set mixes several
    (with one source, "only that source" is the full set again)."""
    out = {name: dict(keys or {}) for name, keys in variants.items()}
    if source_ablation and len(sources) > 1:
        out |= {f"{SOURCE_PREFIX}{source}": {"sources": [source]} for source in sources}
    return out


def ablation_row(variant: str, recipe: Mapping, detection: Mapping, train_summary: Mapping, train_samples: int) -> dict:
    """One table row: what was trained (recipe: the resolved config.json of the run), how it scored, what it cost."""
    return {
        "variant": variant,
        "tuning": recipe["tuning"],
        "lora_r": recipe["lora_r"] if recipe["tuning"] == "lora" else None,
        "tiles": f"{recipe['max_tiles']} {recipe['page_fit']}",
        "vision": "trained" if recipe["tuning"] == "lora" and not recipe["freeze_vision"] else "frozen",
        "train_samples": train_samples,
        "macro_f1": detection["macro_f1"],
        "auc": detection["auc"],
        "hamming": detection["hamming"],
        "n_unparsed": detection["n_unparsed"],
        "trainable_parameters": train_summary["trainable_parameters"],
        "train_wall_s": round(train_summary["train_runtime"], 1),
        "samples_per_s": round(train_summary["train_samples_per_second"], 2),
        "note": "",
    }


def beyond_the_checkpoint(recipe: TrainConfig, checkpoint_slots: int) -> str | None:
    """Why a variant's recipe cannot train on a checkpoint of `checkpoint_slots` tile slots (its tile budget is
    larger: a 4-tile variant on the 1-tile tiny model), or None."""
    tiles = recipe.max_tiles
    return (
        f"max_tiles {tiles}, the checkpoint has {checkpoint_slots} tile slot(s)" if tiles > checkpoint_slots else None
    )


def set_aside_row(variant: str, reason: str) -> dict:
    """The table row of a variant that did not train, with the reason."""
    return dict.fromkeys(COLUMNS) | {"variant": variant, "note": f"not run: {reason}"}


def ablation_markdown(rows: list[dict]) -> str:
    def cell(value) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) and value < 1 else str(value)

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"
