"""Run configuration: three dataclass sections (data, model, loop) filled from YAML + `key=value` overrides.

    python -m pretrain --config conf/pretrain/tiny.yaml loop.max_steps=200 data.label_dirs=[a,b]
    python -m pretrain --config tiny ...        (a name: the file of that name in conf/pretrain/)

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

from conf import find_config, named_configs

from pretrain.config_ranges import check_config_ranges, safe_yaml
from pretrain.data import DataConfig
from pretrain.loop import LoopConfig
from pretrain.loss import LOSSES
from pretrain.model import ModelConfig
from pretrain.overrides import OverrideError, flatten, parse_override


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
    raw = safe_yaml(path.read_text(), str(path)) or {}
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


def load_config(path: str | os.PathLike | None, overrides: list[str] = (),
                values: typing.Mapping | None = None) -> PretrainConfig:
    """The YAML file, then `overrides` (`section.key=value` strings from a command line), then
    `values` (typed settings from code: {"loop.max_steps": 200} or {"loop": {"max_steps": 200}})."""
    cfg = PretrainConfig()
    if path:
        for section, vals in _read_yaml(find_config(path, "pretrain")).items():
            if not isinstance(vals, dict):
                raise ConfigError(f"{path}: section '{section}' must be a mapping")
            for k, v in vals.items():
                _apply(cfg, section, k, v, str(path))
    for item in overrides:
        try:
            parts, value = parse_override(item, empty="")
        except OverrideError as e:
            raise ConfigError(str(e)) from None
        if len(parts) < 2:
            raise ConfigError(f"override {item!r}: expected section.key=value")
        _apply(cfg, parts[0], ".".join(parts[1:]), value, f"override {item!r}")
    for dotted, value in flatten(values).items():
        section, _, key = dotted.partition(".")
        if not key:
            raise ConfigError(f"setting {dotted!r}: expected section.key")
        _apply(cfg, section, key, value, f"setting {dotted!r}")
    check_choices(cfg)
    try:
        check_config_ranges(cfg)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return cfg


def check_choices(cfg: PretrainConfig) -> None:
    """Keys whose value must be one of a fixed set of names."""
    if cfg.model.loss not in LOSSES:
        raise ConfigError(f"model.loss: unknown loss {cfg.model.loss!r} (choose from {', '.join(sorted(LOSSES))})")
    from pretrain.backbones import BACKBONES

    if cfg.model.backbone not in BACKBONES:
        raise ConfigError(f"model.backbone: unknown backbone {cfg.model.backbone!r} (choose from {', '.join(BACKBONES)})")
    if cfg.model.size not in BACKBONES[cfg.model.backbone].SIZES:
        raise ConfigError(f"model.size: unknown size {cfg.model.size!r} for backbone {cfg.model.backbone!r} "
                          f"(choose from {', '.join(BACKBONES[cfg.model.backbone].SIZES)})")


def write_config(cfg: PretrainConfig, path: str | os.PathLike) -> Path:
    """The resolved config as YAML that `load_config` reads back to an equal PretrainConfig."""
    from labelers.corpus.atomic import atomic_open

    path = Path(path)
    with atomic_open(path, "w") as f:
        yaml.safe_dump(cfg.to_dict(), f, sort_keys=False)
    return path


def help_text() -> str:
    lines = ["usage: python -m pretrain --config FILE.yaml|NAME [section.key=value ...]", "",
             f"named configs (conf/pretrain/): {', '.join(named_configs('pretrain'))}", "", "keys (default: description):"]
    for section, cls in SECTIONS.items():
        lines.append(f"  {section}:")
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            lines.append(f"    {section}.{f.name} = {default!r}\n        {f.metadata.get('help', '')}")
    return "\n".join(lines)
