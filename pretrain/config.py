"""Run configuration: three dataclass sections (data, model, loop) filled from YAML + `key=value` overrides.

    python -m pretrain --config conf/pretrain/tiny.yaml loop.max_steps=200 data.label_dirs=[a,b]

Keys are dotted (`section.field`); values are parsed as YAML scalars/lists. `--help` lists every key
with its default and description. A YAML file may name another with `defaults: other.yaml` (relative
to itself), which is loaded first.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pretrain.data import DataConfig
from pretrain.loop import LoopConfig
from pretrain.loss import LOSSES
from pretrain.model import ModelConfig


@dataclass
class PretrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "loop": LoopConfig}


class ConfigError(ValueError):
    pass


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections")
    base = raw.pop("defaults", None)
    if base:
        merged = _read_yaml((path.parent / base).resolve())
        for sec, vals in raw.items():
            merged.setdefault(sec, {}).update(vals or {})
        return merged
    return raw


def _coerce(cls, name: str, value):
    """Check and convert `value` to the declared type of `cls.name` (ints, floats, bools, lists, tuples)."""
    hints = typing.get_type_hints(cls)
    tp = hints[name]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if value is None:
        return None
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        tp = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            value = [value]
        inner = args[0] if args else None
        items = [inner(v) if inner in (int, float, str) else v for v in value]
        return tuple(items) if origin is tuple else list(items)
    if tp is bool:
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return bool(value)
    if tp in (int, float, str):
        return tp(value)
    return value


def _apply(cfg: PretrainConfig, section: str, key: str, value, origin: str) -> None:
    if section not in SECTIONS:
        raise ConfigError(f"{origin}: unknown section '{section}' (sections: {', '.join(SECTIONS)})")
    obj = getattr(cfg, section)
    names = {f.name for f in dataclasses.fields(obj)}
    if key not in names:
        raise ConfigError(f"{origin}: unknown key '{section}.{key}' (see --help)")
    try:
        setattr(obj, key, _coerce(type(obj), key, value))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{origin}: bad value {value!r} for '{section}.{key}': {e}") from None


def load_config(path: str | os.PathLike | None, overrides: list[str] = ()) -> PretrainConfig:
    cfg = PretrainConfig()
    if path:
        for section, values in _read_yaml(Path(path)).items():
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: section '{section}' must be a mapping")
            for k, v in values.items():
                _apply(cfg, section, k, v, str(path))
    for item in overrides:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"override {item!r}: expected section.key=value")
        dotted, raw = item.split("=", 1)
        section, key = dotted.split(".", 1)
        _apply(cfg, section, key, yaml.safe_load(raw) if raw != "" else "", f"override {item!r}")
    check_choices(cfg)
    return cfg


def check_choices(cfg: PretrainConfig) -> None:
    """Keys whose value must be one of a fixed set of names."""
    if cfg.model.loss not in LOSSES:
        raise ConfigError(f"model.loss: unknown loss {cfg.model.loss!r} (choose from {', '.join(sorted(LOSSES))})")


def help_text() -> str:
    lines = ["usage: python -m pretrain --config FILE.yaml [section.key=value ...]", "", "keys (default: description):"]
    for section, cls in SECTIONS.items():
        lines.append(f"  {section}:")
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            lines.append(f"    {section}.{f.name} = {default!r}\n        {f.metadata.get('help', '')}")
    return "\n".join(lines)
