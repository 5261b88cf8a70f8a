"""Typed, frozen configuration loaded from YAML.

Every configurable part of apisr (degradation, curation, training) describes its
settings as frozen dataclasses whose defaults are the paper's values. This module
turns a YAML mapping into such a dataclass and rejects anything it does not
understand with a message that names the offending key, e.g.
``degradation.stage1.noise_prob: expected a number, got 'high'``.

Range checks that go beyond types live in each dataclass's ``__post_init__``;
raise :class:`ConfigError` there and the loader prefixes the key path.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""


def packaged_config(filename: str) -> Path | None:
    """A config file shipped in the package (``apisr/configs/FILENAME``), or None."""
    path = Path(str(resources.files("apisr") / "configs" / filename))
    return path if path.is_file() else None


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, checking every key and type."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(
            f"unknown key {where}{unknown[0]!s} (known keys: {', '.join(sorted(fields))})"
        )
    values = {}
    for name, value in data.items():
        values[name] = _convert(hints[name], value, _join(path, name))
    try:
        return cls(**values)
    except ConfigError as err:
        raise ConfigError(f"{path or cls.__name__}: {err}") from None
    except TypeError as err:  # a required field without default is missing
        raise ConfigError(f"{path or cls.__name__}: {err}") from None


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but ``1e-3`` is a number as in YAML 1.2 (YAML 1.1 wants ``1.0e-3``
    and would hand a learning rate written the common way over as the string '1e-3')."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str) -> Any:
    """YAML text to plain data, safely (no Python objects), numbers read as YAML 1.2 reads them."""
    return yaml.load(text, Loader=_Loader)


def read_yaml(file: str | Path) -> Any:
    """A YAML file's plain data (:func:`parse_yaml`); a missing or malformed file is a ConfigError naming it."""
    try:
        return parse_yaml(Path(file).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{file}: cannot read config: {err}") from None


def load_yaml(cls: type[T], file: str | Path) -> T:
    """Read a YAML file into dataclass ``cls``; errors name the file and the key."""
    data = read_yaml(file)
    try:
        return from_dict(cls, data)
    except ConfigError as err:
        raise ConfigError(f"{file}: {err}") from None


def to_dict(config: Any) -> Any:
    """Plain data (dicts, lists, scalars, paths as text) for saving a resolved config as YAML/JSON."""
    if dataclasses.is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(v) for v in config]
    if isinstance(config, dict):
        return {k: to_dict(v) for k, v in config.items()}
    if isinstance(config, Path):
        return str(config)
    return config


def dump_yaml(config: Any, file: str | Path) -> None:
    Path(file).write_text(yaml.safe_dump(to_dict(config), sort_keys=False), encoding="utf-8")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = get_origin(hint)
    args = get_args(hint)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: {value!r} fits none of {hint}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{path}: {value!r} is not one of {choices}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}")
            items = [_convert(a, v, _join(path, i)) for i, (a, v) in enumerate(zip(args, value))]
        else:
            item_type = args[0] if args else Any
            items = [_convert(item_type, v, _join(path, i)) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        key_type, value_type = args or (Any, Any)
        return {
            _convert(key_type, k, path): _convert(value_type, v, _join(path, k)) for k, v in value.items()
        }
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected a whole number, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected text, got {value!r}")
        return value
    if hint is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{path}: expected a path, got {value!r}")
        return Path(value).expanduser()
    raise TypeError(f"config type {hint!r} at {path} is not supported by apisr.config")


def check_probability(name: str, value: float) -> None:
    """Raise ConfigError unless 0 <= value <= 1 (for use in __post_init__)."""
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}: probability {value} is outside [0, 1]")


def check_distribution(name: str, probs: typing.Sequence[float]) -> None:
    """Raise ConfigError unless the probabilities are each in [0, 1] and sum to 1."""
    for i, p in enumerate(probs):
        check_probability(f"{name}.{i}", p)
    if abs(sum(probs) - 1.0) > 1e-6:
        raise ConfigError(f"{name}: probabilities sum to {sum(probs):.6g}, not 1")


def check_range(name: str, low_high: typing.Sequence[float], lower: float, upper: float) -> None:
    """Raise ConfigError unless ``lower <= low <= high <= upper``."""
    low, high = low_high
    if not lower <= low <= high <= upper:
        raise ConfigError(f"{name}: range [{low}, {high}] must satisfy {lower} <= low <= high <= {upper}")
