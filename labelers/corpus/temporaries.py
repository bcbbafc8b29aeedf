"""Temporary files named after their owner (host + pid), so a rerun can sweep the ones a killed run left.

A temporary is `.<what>.<host>.<pid>.<random><suffix>` beside its final file. `sweep_stale(folder)`
removes those whose owner ran on this host and is no longer alive; files of live processes (a
concurrent run, another shard) and of other hosts (a shared file system) are left alone.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
_TAG = re.compile(r"\." + re.escape(_HOST) + r"\.(\d+)\.")
TEMP_SUFFIXES = (".tmp", ".f32")


def owner_tag() -> str:
    """`host.pid` of this process (the pid is read each time: forked workers get their own)."""
    return f"{_HOST}.{os.getpid()}"


def temp_prefix(what: str) -> str:
    """Prefix for `tempfile.mkstemp`: `.<what>.<host>.<pid>.`"""
    return f".{what}.{owner_tag()}."


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Temporaries in `folder` (not recursive) whose owner on this host is dead."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for entry in os.scandir(folder):
        name = entry.name
        if not (name.startswith(".") and name.endswith(TEMP_SUFFIXES) and entry.is_file(follow_symlinks=False)):
            continue
        m = _TAG.search(name)
        if m and not _alive(int(m.group(1))):
            out.append(Path(entry.path))
    return out


def sweep_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove the stale temporaries in `folder`; returns what was removed."""
    removed = []
    for path in stale_temporaries(folder):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:  # another rerun swept it first
            pass
    return removed


_swept: set[tuple[int, str]] = set()


def sweep_once(folder: str | os.PathLike) -> None:
    """`sweep_stale` the first time this process writes into `folder` (one directory scan per folder)."""
    key = (os.getpid(), os.path.abspath(folder))
    if key not in _swept:
        _swept.add(key)
        sweep_stale(folder)
