"""The one `key=value` override parser, used by every config kind (pre-training, CTC, experiments).

    parse_override("loop.max_steps=200")   -> (["loop", "max_steps"], 200)
    apply_overrides({"loop": {}}, ["loop.lr=1e-3", "arch.hidden_size=96"])  -> a new nested dict

Values are YAML (`[a,b]` is a list, `true` a bool). Config kinds differ only in two choices, passed
as arguments: what an empty value means (`key=`), and whether `3e-3` is a number (YAML 1.1 reads it
as a string; the CTC settings want a number). Typed mappings ({"loop.max_steps": 200} or nested
{"loop": {"max_steps": 200}}) go through `flatten` instead of being written out as strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import yaml


class OverrideError(ValueError):
    """An override that is not `key=value`, or that sets a key below a value that is not a mapping."""



def parse_value(raw: str, *, empty=None, exponent_floats: bool = False):
    """A YAML value; `empty` for `key=`; with `exponent_floats`, `3e-3` is the number 0.003."""
    if raw == "":
        return empty
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as e:  # one line, not yaml's multi-line report
        raise OverrideError(f"value {raw!r} is not valid YAML: {getattr(e, 'problem', None) or type(e).__name__}") from None
    return number_if_numeric(value) if exponent_floats else value


def number_if_numeric(value):
    """A string that reads as a float (`3e-3`, which YAML 1.1 keeps a string) becomes that float."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def parse_override(item: str, *, empty=None, exponent_floats: bool = False) -> tuple[list[str], object]:
    """`a.b.c=value` -> (["a", "b", "c"], value)."""
    if "=" not in item:
        raise OverrideError(f"override {item!r} is not key=value")
    key, raw = item.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise OverrideError(f"override {item!r}: empty part in key {key!r}")
    return parts, parse_value(raw, empty=empty, exponent_floats=exponent_floats)


def set_path(tree: dict, parts: list[str], value, item: str = "") -> None:
    """Set tree[p0][p1]...[pn] = value, creating (and copying, so callers' dicts stay as they were)
    the mappings on the way."""
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = {}
        elif not isinstance(child, Mapping):
            raise OverrideError(f"override {item or '.'.join(parts)!r}: '{part}' is not a mapping")
        node[part] = dict(child)
        node = node[part]
    node[parts[-1]] = value


def apply_overrides(tree: Mapping, overrides: Iterable[str], *, empty=None, exponent_floats: bool = False) -> dict:
    """A copy of `tree` with every `key=value` of `overrides` applied in order (later ones win)."""
    out = dict(tree)
    for item in overrides:
        parts, value = parse_override(item, empty=empty, exponent_floats=exponent_floats)
        set_path(out, parts, value, item)
    return out


def flatten(mapping: Mapping | None, prefix: str = "") -> dict[str, object]:
    """{"loop": {"max_steps": 200}, "model.x": 1} -> {"loop.max_steps": 200, "model.x": 1}."""
    out: dict[str, object] = {}
    for key, value in (mapping or {}).items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, dotted))
        else:
            out[dotted] = value
    return out
