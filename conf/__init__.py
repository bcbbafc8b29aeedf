"""The project's YAML configs, shipped inside the package so that named configs resolve from any folder.

`conf/` stays at the top of the repository where a reader looks for it; the `__init__.py` makes it an
importable package, so a plain `pip install .` carries the YAMLs into site-packages (package data) and
`find_config` finds them there, or in the checkout when run from source.

    find_config("tiny", "pretrain")          -> .../conf/pretrain/tiny.yaml
    find_config("conf/asr/scratch_tiny.yaml") -> .../conf/asr/scratch_tiny.yaml
    find_config("my_run.yaml", "pretrain")   -> my_run.yaml (an existing path wins)
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

KINDS = ("pretrain", "asr", "experiments", "accelerate", "slurm")


def conf_dir() -> Path:
    """The folder holding the configs, wherever the package lives (checkout or site-packages)."""
    return Path(str(resources.files(__name__)))


def named_configs(kind: str) -> list[str]:
    """The names `find_config(name, kind)` accepts, e.g. ['base', 'large', 'tiny'] for 'pretrain'."""
    folder = conf_dir() / kind
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def find_config(name_or_path: str | os.PathLike, kind: str | None = None) -> Path:
    """An existing path as given; else `conf/...` inside the package; else the named config of `kind`.

    Anything that matches nothing comes back unchanged, so the caller's "not found" names what was asked.
    """
    path = Path(name_or_path)
    if path.exists():
        return path
    parts = path.parts
    if parts and parts[0] == "conf" and len(parts) > 1:  # a repository-relative path from another folder
        shipped = conf_dir().joinpath(*parts[1:])
        if shipped.exists():
            return shipped
    if kind is not None and len(parts) == 1:  # a bare name: `tiny` or `tiny.yaml`
        shipped = conf_dir() / kind / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
        if shipped.is_file():
            return shipped
    return path
