"""Stage folders keyed by their resolved config: a finished stage is skipped, an unfinished one resumed."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from conf import find_config
from labelers.corpus.atomic import write_json

DONE_FILE = "stage.json"


CONFIG_KEYS = ("config", "finetune_config")  # parameters naming YAML files whose contents shape the output
CONFIG_KINDS = {"pretrain": "pretrain", "train_asr": "asr", "finetune_config": "asr"}  # where their names resolve
def resolve_config(path: str | Path, kind: str | None = None) -> Path:
    """A config path as given, else the shipped `conf/...` file or named config (works from any folder)."""
    return find_config(path, kind)


def stage_key(kind: str, params: dict, upstream: dict[str, str]) -> str:
    """Hash of everything that determines a stage's output: its kind, parameters (with the text of the
    config files they name), the split roles and the upstream stages' keys."""
    paths = {key: resolve_config(params[key], CONFIG_KINDS.get(key, CONFIG_KINDS.get(kind)))
             for key in CONFIG_KEYS if params.get(key)}
    configs = {key: path.read_text(encoding="utf-8") for key, path in paths.items() if path.is_file()}
    blob = json.dumps({"kind": kind, "params": params, "configs": configs, "upstream": upstream},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def stage_dir(workdir: Path, name: str, key: str) -> Path:
    return workdir / f"{name}-{key}"


def load_done(folder: Path, key: str) -> dict | None:
    """The stage's recorded result if it finished with this key, else None."""
    path = folder / DONE_FILE
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return record if record.get("key") == key else None


def mark_done(folder: Path, name: str, kind: str, key: str, params: dict, result: dict, seconds: float,
              cpu_seconds: float | None = None) -> dict:
    import os

    record = {
        "name": name,
        "kind": kind,
        "key": key,
        "params": params,
        "result": result,
        "seconds": round(seconds, 2),
        "cpu_seconds": None if cpu_seconds is None else round(cpu_seconds, 2),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),  # wall time is only comparable with this
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_json(folder / DONE_FILE, record)
    return record
