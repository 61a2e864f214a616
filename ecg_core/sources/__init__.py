"""One reader per published format; `make_source(name, **options)` builds one by its CLI name."""

from __future__ import annotations

from ecg_core.sources.base import Input, Source
from ecg_core.sources.ptbxl import PTBXLSource
from ecg_core.sources.synthetic import SyntheticSource
from ecg_core.sources.wfdb_source import WFDBSource


def _registry() -> dict[str, type]:
    return {
        "synthetic": SyntheticSource,
        "ptbxl": PTBXLSource,
        "wfdb": WFDBSource,
        "challenge": lambda **options: WFDBSource(name="challenge", **options),
    }


SOURCE_NAMES = tuple(_registry())


def make_source(name: str, **options) -> Source:
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown source {name!r}; available: {', '.join(registry)}")
    return registry[name](**options)


__all__ = ["Input", "SOURCE_NAMES", "Source", "make_source"]
