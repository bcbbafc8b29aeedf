"""Stages run the same commands a user would: their parameters become command-line options."""

from __future__ import annotations

import json
from pathlib import Path


def options(params: dict, skip: tuple[str, ...] = ()) -> list[str]:
    """{"n_clusters": 100, "overwrite": True} -> ["--n-clusters", "100", "--overwrite"]."""
    argv: list[str] = []
    for key, value in params.items():
        if key in skip or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif isinstance(value, (list, tuple)):
            argv += [flag, ",".join(map(str, value))]
        else:
            argv += [flag, str(value)]
    return argv


def overrides(mapping: dict | None) -> list[str]:
    """{"loop.max_steps": 200} -> ["loop.max_steps=200"]; nested mappings are flattened with dots."""
    out: list[str] = []

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out.append(f"{prefix}={json.dumps(node) if isinstance(node, (list, bool)) or node is None else node}")

    walk("", mapping or {})
    return out


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
