"""Stage folders keyed by their resolved config: a finished stage is skipped, an unfinished one resumed."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from labelers.atomic import write_json

DONE_FILE = "stage.json"


def stage_key(kind: str, params: dict, upstream: dict[str, str]) -> str:
    """Hash of everything that determines a stage's output: its kind, parameters and upstream keys."""
    blob = json.dumps({"kind": kind, "params": params, "upstream": upstream}, sort_keys=True, default=str)
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


def mark_done(folder: Path, name: str, kind: str, key: str, params: dict, result: dict, seconds: float) -> dict:
    record = {
        "name": name,
        "kind": kind,
        "key": key,
        "params": params,
        "result": result,
        "seconds": round(seconds, 2),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_json(folder / DONE_FILE, record)
    return record
