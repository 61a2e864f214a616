"""InstructConfig: what `ecgflow instruct` builds (configs/instruct/default.yaml documents every key)."""

from __future__ import annotations

from dataclasses import dataclass

from ecg_core.instruct.families import FAMILIES
from ecg_core.settings import Settings, SettingsError, knob


@dataclass(frozen=True)
class InstructConfig(Settings):
    seed: int = knob(0, "phrasing, answer styles, option order and the mixing draw")
    families: list[str] = knob(factory=lambda: list(FAMILIES), help="task families to build")
    topics: list[str] | None = knob(None, "keep only these question topics (superclass, report, ...); None = all")
    styles: list[str] | None = knob(None, "keep only these answer styles (close, open, fill, choice); None = all")
    per_family: dict[str, int | None] = knob(factory=dict, help="cap on training samples per family")
    per_source: dict[str, int | None] = knob(factory=dict, help="cap per source dataset (data-source ablation)")
    report_measurements: bool = knob(
        True, "template reports end with heart rate and PR/QRS/QT; off: rhythm and statements only"
    )
    export_hf: bool = knob(True, "also write a Hugging Face `datasets` copy with the image column")

    def __post_init__(self):
        unknown = sorted(set(self.families) - set(FAMILIES))
        if unknown:
            raise SettingsError(f"unknown task famil(ies) {', '.join(unknown)}; allowed: {', '.join(FAMILIES)}")
