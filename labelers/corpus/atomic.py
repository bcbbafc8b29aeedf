"""Write-then-rename, so a killed run never leaves a half-written file that looks complete."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

from labelers.corpus.temporaries import sweep_once, temp_prefix

_UMASK = os.umask(0)
os.umask(_UMASK)


class DiskFullError(OSError):
    """No space left while writing `what`: one clear line instead of a library's raw message."""

    def __init__(self, what):
        super().__init__(errno.ENOSPC, f"disk full while writing {what}")
        self.what = str(what)

    def __str__(self) -> str:
        return f"disk full while writing {self.what}"


# What torch/libsndfile say when a write runs out of space (they lose the errno on the way).
_SHORT_WRITE = ("no space left", "requested and", "basic_ios::clear", "file write failed", "unexpected pos")
LOW_SPACE_BYTES = 64 * 2**20


def _free_bytes(folder) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return -1


def is_disk_full(exc: BaseException, folder=None) -> bool:
    """ENOSPC/EDQUOT, or a library's short-write error while `folder`'s file system is (nearly) full."""
    if isinstance(exc, DiskFullError):
        return True
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    if "no space left" in text:
        return True
    if isinstance(exc, (OSError, RuntimeError)) and any(k in text for k in _SHORT_WRITE) and folder is not None:
        return 0 <= _free_bytes(folder) < LOW_SPACE_BYTES
    return False


@contextmanager
def disk_full_as_error(what, folder=None) -> Iterator[None]:
    """Re-raise a disk-full failure inside the block as `DiskFullError(what)`; anything else unchanged."""
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as e:
        if is_disk_full(e, folder if folder is not None else Path(str(what)).parent):
            raise DiskFullError(what) from e
        raise


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[TextIO]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_once(path.parent)  # temporaries a killed run left here
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; the final file gets the usual permissions
    try:
        with disk_full_as_error(path), os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def write_lines(path: str | os.PathLike, lines) -> None:
    with atomic_open(path) as f:
        for line in lines:
            f.write(f"{line}\n")


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")
