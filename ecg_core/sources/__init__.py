"""One reader per published format; `make_source(name, **options)` builds one by its CLI name."""

from __future__ import annotations

from ecg_core.sources.base import Input, Source
from ecg_core.sources.code15 import Code15Source
from ecg_core.sources.mimic import MimicSource
from ecg_core.sources.ptbxl import PTBXLSource
from ecg_core.sources.synthetic import SyntheticSource
from ecg_core.sources.wfdb_source import WFDBSource


def _registry() -> dict[str, type]:
    return {
        "synthetic": SyntheticSource,
        "ptbxl": PTBXLSource,
        "mimic-iv-ecg": MimicSource,
        "code15": Code15Source,
        "wfdb": WFDBSource,
        "challenge": lambda **options: WFDBSource(name="challenge", **options),
    }


SOURCE_NAMES = tuple(_registry())
# Published instruction files go straight to instruct/<name>/, in the split their publication serves
# (ecg_core.sources.instructions); they hold samples, not recordings.
INSTRUCTION_SOURCES = {"ecginstruct": "train", "ecgbench": "test"}


def make_source(name: str, **options) -> Source:
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown source {name!r}; available: {', '.join(registry)}")
    return registry[name](**options)


__all__ = ["INSTRUCTION_SOURCES", "Input", "SOURCE_NAMES", "Source", "make_source"]
