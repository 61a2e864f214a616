"""One reader per published format; `make_source(name, **options)` builds one by its CLI name."""

from __future__ import annotations

import functools
import inspect
import typing

from ecg_core.settings import typed_values
from ecg_core.sources.code15 import Code15Source
from ecg_core.sources.mimic import MimicSource
from ecg_core.sources.ptbxl import PTBXLSource
from ecg_core.sources.reader import Input, Source
from ecg_core.sources.synthetic import SyntheticSource
from ecg_core.sources.wfdb_source import WFDBSource


def _registry() -> dict[str, type]:
    return {
        "synthetic": SyntheticSource,
        "ptbxl": PTBXLSource,
        "mimic-iv-ecg": MimicSource,
        "code15": Code15Source,
        "wfdb": WFDBSource,
        "challenge": functools.partial(WFDBSource, name="challenge"),
    }


SOURCE_NAMES = tuple(_registry())
# Published instruction files go straight to instruct/<name>/, in the split their publication serves
# (ecg_core.sources.instructions); they hold samples, not recordings.
INSTRUCTION_SOURCES = {"ecginstruct": "train", "ecgbench": "test"}


def source_options(name: str) -> dict[str, inspect.Parameter]:
    """The reading options a source takes: its constructor's parameters (the CLI's ingest flags come from here)."""
    reader = _registry()[name]
    hints = typing.get_type_hints((reader.func if isinstance(reader, functools.partial) else reader).__init__)
    return {
        key: param.replace(annotation=hints.get(key, param.annotation))
        for key, param in inspect.signature(reader).parameters.items()
        if key != "name"
    }


def source_settings(name: str, path: str | None, options: dict) -> dict:
    """`options` typed for source `name`, or a ValueError naming what is wrong and what is allowed."""
    if name in INSTRUCTION_SOURCES:
        if options:
            raise ValueError(f"ingest {name}: an instruction file takes no reading options (got {', '.join(options)})")
    elif name not in SOURCE_NAMES:
        raise ValueError(f"unknown source {name!r}; available: {', '.join(SOURCE_NAMES + tuple(INSTRUCTION_SOURCES))}")
    if path is None and name != "synthetic":
        raise ValueError(f"ingest {name}: give the dataset folder or file (path)")
    if name in INSTRUCTION_SOURCES:
        return {}
    hints = {key: param.annotation for key, param in source_options(name).items()}
    return typed_values(options, hints, f"ingest {name} options")


def make_source(name: str, **options) -> Source:
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown source {name!r}; available: {', '.join(registry)}")
    return registry[name](**options)


__all__ = ["INSTRUCTION_SOURCES", "Input", "SOURCE_NAMES", "Source", "make_source", "source_options", "source_settings"]
