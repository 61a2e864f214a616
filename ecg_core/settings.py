"""One settings grammar for every stage: a typed dataclass per stage, read from a YAML file, then overridden
key by key (`--set key=value` on the command line, a dict from a deployment). An unknown or mistyped key is
refused before any work, naming the key, the file and the allowed keys.

Values given as text (command-line overrides, and YAML's reading of `1e-3`) are typed by their field:
`lr=1e-3` is a float, `bf16=false` a bool, `save_total_limit=null` None, `blocks=[3,4,23,3]` a list.

A field that is itself settings (the pipeline's `recipe: TrainConfig`) takes what a flow parameter of that class
takes (`Settings.from_parameter`): a settings file (`recipe: tiny-cpu.yaml`), `{config, overrides}`, or its keys;
a dotted key replaces one of its keys and keeps the rest (`--set recipe.max_steps=50`).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from ecg_core.errors import WrongInput

# The settings files the project ships: the `configs` package, installed with the code (a wheel or a checkout).
CONFIGS = Path(str(importlib.resources.files("configs")))


class SettingsError(WrongInput):
    """A settings file or override that cannot be used; the message names the key, the source and the fix."""


def config_path(name: str | Path) -> Path:
    """A settings file given as a path (a user's file wins), else a shipped one by its name (`render/plain.yaml`),
    also written as the docs write it (`configs/paper.yaml`), from any working directory."""
    path = Path(name)
    if path.exists() or path.is_absolute():
        return path
    shipped = CONFIGS / (path.relative_to("configs") if path.parts[0] == "configs" else path)
    if shipped.exists():
        return shipped
    raise SettingsError(f"settings file {name}: not found (as a path, or among the shipped configs/)")


def parse_assignments(pairs: Sequence[str]) -> dict[str, str]:
    """["lr=1e-3", "bf16=false"] -> {"lr": "1e-3", "bf16": "false"} (typed later, by the field they set)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SettingsError(f"--set expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def read_yaml(path: str | Path) -> dict:
    values = yaml.safe_load(config_path(path).read_text()) or {}
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: expected a mapping of keys to values, got {type(values).__name__}")
    return values


def typed_values(values: Mapping[str, Any], hints: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Check every key against `hints` (name -> type) and type every value; refuse with the reason."""
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise SettingsError(f"{source}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(hints))}")
    return {key: coerce(value, hints[key], f"{source}: {key}") for key, value in values.items()}


def coerce(value: Any, annotation: Any, where: str) -> Any:
    """`value` as `annotation` (text parsed as YAML where the field is not text), or a SettingsError."""
    options = typing.get_args(annotation) if is_union(annotation) else (annotation,)
    if value is None or (isinstance(value, str) and type(None) in options and value.lower() in ("null", "none")):
        if type(None) in options or annotation is Any:
            return None
        raise SettingsError(f"{where}: a value is required")
    for option in (o for o in options if o is not type(None)):
        try:
            return _as(value, option)
        except SettingsError as error:  # a nested settings' own refusal says more than "expected ..."
            raise SettingsError(f"{where}: {error}") from None
        except (TypeError, ValueError):
            continue
    raise SettingsError(f"{where} = {value!r}: expected {_describe(annotation)}")


def _as(value: Any, kind: Any) -> Any:
    origin = typing.get_origin(kind) or kind
    if kind is Any:
        return value
    if origin is Literal:
        if value not in typing.get_args(kind):
            raise ValueError(value)
        return value
    if kind is str:
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    if isinstance(value, str):  # command-line text and YAML strings: typed by the field
        value = _number(value) if kind in (int, float) else yaml.safe_load(value) if value.strip() else value
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(value)
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
            raise TypeError(value)
        return kind(value)
    if origin in (list, tuple, Sequence):
        if not isinstance(value, (list, tuple)):
            raise TypeError(value)
        (item,) = typing.get_args(kind)[:1] or (Any,)
        return [_as(v, item) for v in value]
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise TypeError(value)
        key_kind, value_kind = typing.get_args(kind) or (Any, Any)
        return {_as(k, key_kind): coerce(v, value_kind, str(k)) for k, v in value.items()}
    if settings_class(kind):
        return kind.from_parameter(value)
    if dataclasses.is_dataclass(kind) and isinstance(value, Mapping):
        return kind(**value)
    if isinstance(kind, type) and isinstance(value, kind):
        return value
    raise TypeError(value)


def _number(text: str) -> int | float | str:
    """'12' -> 12, '1e-3' -> 0.001 (YAML 1.1 reads exponents without a dot as text); anything else stays text."""
    for kind in (int, float):
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            continue
        if kind is int or abs(value) != float("inf"):
            return value
    return text


def is_union(annotation) -> bool:
    return isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union


def settings_class(annotation) -> type[Settings] | None:
    """The settings class an annotation names (`TrainConfig`, `JudgeConfig | None`), else None."""
    kinds = typing.get_args(annotation) if is_union(annotation) else (annotation,)
    return next((k for k in kinds if isinstance(k, type) and issubclass(k, Settings)), None)


def _describe(annotation) -> str:
    if is_union(annotation):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(annotation)))
    return "null" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


class Settings:
    """Base of every stage's settings dataclass: `load(file, overrides)`, `from_mapping`, `to_dict`.

    A flow parameter typed with one (`recipe: TrainConfig`) is read by this grammar wherever its value comes from:
    a deployment run's JSON gives a settings file (`"tiny-cpu.yaml"`), a file with overrides (`{"config":
    "tiny-cpu.yaml", "overrides": {"max_steps": 100}}`) or the keys themselves over the code defaults (as Prefect
    records a run's parameters); the `ecgflow` command gives the object it read from `--config` and `--set`.
    """

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: Mapping[str, Any] | None = None):
        """Read `path` (YAML; a path or a name under configs/), then apply `overrides` key by key."""
        values = read_yaml(path) if path else {}
        source = " with ".join(filter(None, (str(path or cls.__name__), "overrides" if overrides else "")))
        return cls.from_mapping(values | dict(overrides or {}), source)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str | None = None):
        """The settings of `values` over the code defaults."""
        return cls(**cls._typed(values, source or cls.__name__))

    def updated(self, values: Mapping[str, Any], source: str | None = None):
        """These settings with the keys of `values` replaced, read as `from_mapping` reads them."""
        return dataclasses.replace(self, **self._typed(values, source or type(self).__name__, self))

    @classmethod
    def _typed(cls, values: Mapping[str, Any], source: str, base: Settings | None = None) -> dict[str, Any]:
        """`values` typed by their fields; a dotted key (`recipe.max_steps`) updates one key of a settings field,
        over the value `values` gives it, else `base`'s, else the field's default."""
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        hints = {name: typing.get_type_hints(cls)[name] for name in fields}
        typed = typed_values({k: v for k, v in values.items() if "." not in k}, hints, source)
        nested: dict[str, dict[str, Any]] = {}
        for key in (k for k in values if "." in k):
            name, _, inner = key.partition(".")
            nested.setdefault(name, {})[inner] = values[key]
        for name, keys in nested.items():
            if name not in hints:
                raise SettingsError(f"{source}: unknown key(s) {name}; allowed: {', '.join(sorted(hints))}")
            if not settings_class(hints[name]):
                dotted = ", ".join(f"{name}.{k}" for k in keys)
                fields_with_keys = ", ".join(sorted(n for n, hint in hints.items() if settings_class(hint)))
                raise SettingsError(f"{source}: {dotted}: {name} has no keys; dotted keys go to {fields_with_keys}")
            current = typed[name] if name in typed else getattr(base, name) if base else _default(fields[name])
            where = f"{source}: {name}"
            if current is None:  # an optional settings field left out (`judge`): its class's defaults
                typed[name] = settings_class(hints[name]).from_mapping(keys, where)
            else:
                typed[name] = current.updated(keys, where)
        return typed

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_parameter(cls, value: Any):
        """The settings a flow parameter's value names (see the class docstring); refused as `load` refuses."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls.load(value)
        if isinstance(value, Mapping) and set(value) <= {"config", "overrides"}:
            return cls.load(value.get("config"), value.get("overrides"))
        if isinstance(value, Mapping):
            return cls.from_mapping(value)
        raise SettingsError(
            f"{cls.__name__}: expected a settings file, {{config, overrides}} or its keys, got {value!r}"
        )

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler):
        """How Prefect validates a flow parameter of this type (pydantic): by `from_parameter`."""
        from pydantic_core import core_schema as schema

        a_file = schema.str_schema()
        optional = {"required": False}
        with_overrides = schema.typed_dict_schema(
            {
                "config": schema.typed_dict_field(schema.nullable_schema(a_file), **optional),
                "overrides": schema.typed_dict_field(schema.dict_schema(schema.str_schema()), **optional),
            }
        )
        return schema.no_info_plain_validator_function(
            cls.from_parameter,
            json_schema_input_schema=schema.union_schema([a_file, with_overrides, schema.dict_schema(a_file)]),
        )

    @classmethod
    def field_help(cls) -> dict[str, str]:
        """Each field's help, as declared with it (`knob`): what the CLI shows for it."""
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls) if "help" in f.metadata}


def _default(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def knob(default: Any = dataclasses.MISSING, help: str = "", *, factory: Callable[[], Any] | None = None) -> Any:
    """A settings field with its help declared beside it: `lr: float = knob(2e-4, "peak learning rate")`;
    `factory` for mutable defaults (`knob(factory=dict, help=...)`)."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})
