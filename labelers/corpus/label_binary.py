"""The label store's compact binary form: what pre-training memory-maps instead of parsing `{split}.km`.

Beside `{split}.km` (which stays the interchange format):
- `{split}.labels.bin`: every row's labels concatenated, in the smallest unsigned dtype that holds
  num_classes (uint8 up to 256 classes, uint16 up to 65,536, else uint32);
- `{split}.offsets.bin`: int64, rows + 1 entries; row i is labels[offsets[i]:offsets[i + 1]], and an
  empty row is a skipped utterance (the `.km` reader refuses an empty row that labels.json does not skip);
- `{split}.bin.json`, written last (the completion marker): dtype, rows, labels, the `.km`'s size,
  mtime and sha256, the manifest's sha256, and a CRC-32 of each binary file.

Opening checks the binary against the `.km` (size, then mtime, then sha256 when the mtime moved),
against the manifest (sha256, row count, each row's length at the label rate) and against itself
(file sizes, offsets, CRC-32), and refuses anything else with the file named. `load_label_arrays`
(what pre-training calls) builds it on first use and rebuilds a refused one from the `.km`, streamed,
under a file lock, so neither building nor reading holds a split in memory.
LibriLight at 50 Hz is ~10.8 G labels: 21.6 GB as uint16, paged in on demand and shared by every
process of the machine, against ~90 GB per process as int64 lists.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from labelers.corpus.atomic import atomic_open, write_json
from labelers.corpus.frames import LABEL_LENGTH_TOLERANCE, num_frames
from labelers.corpus.label_store import LabelSet, LabelStoreError

BINARY_VERSION = 1
CHUNK = 1 << 24  # bytes per read when hashing: bounded memory whatever the file size


def binary_files(label_dir: str | os.PathLike, split: str) -> tuple[Path, Path, Path]:
    """(labels, offsets, meta) paths of `split`'s binary form."""
    d = Path(label_dir)
    return d / f"{split}.labels.bin", d / f"{split}.offsets.bin", d / f"{split}.bin.json"


def label_dtype(num_classes: int) -> np.dtype:
    """The smallest unsigned integer dtype holding ids 0 .. num_classes - 1."""
    for dt in (np.uint8, np.uint16, np.uint32):
        if num_classes - 1 <= np.iinfo(dt).max:
            return np.dtype(dt)
    raise LabelStoreError(f"{num_classes} classes do not fit 32 bits")


def _file_digest(path: Path, kind: str = "sha256") -> str:
    crc, sha = 0, hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            if kind == "crc32":
                crc = zlib.crc32(block, crc)
            else:
                sha.update(block)
    return f"{crc:08x}" if kind == "crc32" else sha.hexdigest()


def _km_stamp(km: Path) -> dict:
    st = km.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _file_digest(km)}


class LabelArrays:
    """One split's labels, memory-mapped: `arrays[i]` is row i (a read-only view) or None if skipped.

    Pickles as its file paths (a DataLoader worker or another rank maps the same pages, copying nothing).
    """

    def __init__(self, labels_path: Path, offsets_path: Path, dtype: str, rows: int, total: int):
        self.labels_path, self.offsets_path = Path(labels_path), Path(offsets_path)
        self.dtype, self.rows, self.total = np.dtype(dtype), rows, total
        self._labels = self._offsets = None

    def _map(self) -> None:
        # np.memmap refuses a zero-length file, and a split whose rows were all skipped has no labels.
        self._labels = (np.memmap(self.labels_path, dtype=self.dtype, mode="r", shape=(self.total,))
                        if self.total else np.zeros(0, self.dtype))
        self._offsets = np.memmap(self.offsets_path, dtype=np.int64, mode="r", shape=(self.rows + 1,))

    @property
    def offsets(self) -> np.ndarray:
        if self._offsets is None:
            self._map()
        return self._offsets

    @property
    def flat(self) -> np.ndarray:
        if self._labels is None:
            self._map()
        return self._labels

    def __len__(self) -> int:
        return self.rows

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> np.ndarray | None:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.flat[a:b] if b > a else None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_labels", "_offsets")}

    def __setstate__(self, state):
        self.__dict__.update(state, _labels=None, _offsets=None)


def build_binary(ls: LabelSet, split: str, data_dir: str | os.PathLike | None = None) -> LabelArrays:
    """Write `split`'s binary form from its `.km` (streamed through the validating `.km` reader)."""
    labels_path, offsets_path, meta_path = binary_files(ls.label_dir, split)
    km = ls.label_dir / f"{split}.km"
    dtype = label_dtype(ls.num_classes)
    stamp_before = _km_stamp(km) if km.is_file() else None
    offsets = [0]
    with atomic_open(labels_path, "wb") as f:
        for row in ls.iter_rows(split, data_dir):
            if row is not None:
                f.write(row.astype(dtype).tobytes())
            offsets.append(offsets[-1] + (0 if row is None else len(row)))
    # Offsets are 8 bytes per row (80 MB for 10 M rows): small beside the labels, so built in memory.
    with atomic_open(offsets_path, "wb") as f:
        f.write(np.asarray(offsets, dtype=np.int64).tobytes())
    stamp = _km_stamp(km)
    if stamp != stamp_before:
        raise LabelStoreError(f"{km}: changed while its binary form was built; run again")
    meta = {
        "format": BINARY_VERSION,
        "dtype": dtype.name,
        "num_classes": ls.num_classes,
        "label_rate": ls.label_rate,
        "rows": len(offsets) - 1,
        "labels": offsets[-1],
        "km": stamp,
        "manifest_sha256": ls.info["manifests"][split]["sha256"],
        "crc32": {"labels": _file_digest(labels_path, "crc32"), "offsets": _file_digest(offsets_path, "crc32")},
    }
    write_json(meta_path, meta)
    return LabelArrays(labels_path, offsets_path, dtype.name, meta["rows"], meta["labels"])


def open_binary(ls: LabelSet, split: str, data_dir: str | os.PathLike | None = None,
                tolerance: int = LABEL_LENGTH_TOLERANCE) -> LabelArrays:
    """The binary form of `split`, validated; LabelStoreError naming the file if it is missing, stale or corrupt."""
    labels_path, offsets_path, meta_path = binary_files(ls.label_dir, split)
    km = ls.label_dir / f"{split}.km"
    if not meta_path.is_file():
        raise LabelStoreError(f"{meta_path}: no binary form of {km.name} yet")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        dtype, rows, total = np.dtype(meta["dtype"]), int(meta["rows"]), int(meta["labels"])
        recorded_km, crc = meta["km"], meta["crc32"]
    except (ValueError, KeyError, TypeError) as e:
        raise LabelStoreError(f"{meta_path}: unreadable ({e})") from None
    if meta.get("format") != BINARY_VERSION or meta.get("num_classes") != ls.num_classes or dtype != label_dtype(ls.num_classes):
        raise LabelStoreError(f"{meta_path}: made by another version or for another vocabulary")
    # Stale: the .km it was made from is no longer the .km here.
    if not km.is_file():
        raise LabelStoreError(f"{km}: file not found (the binary form is checked against it)")
    st = km.stat()
    if st.st_size != recorded_km["size"] or (
            st.st_mtime_ns != recorded_km["mtime_ns"] and _file_digest(km) != recorded_km["sha256"]):
        raise LabelStoreError(f"{labels_path}: stale, {km} changed since it was built")
    manifest = ls.checked_manifest(split, data_dir)  # the .km's own manifest check
    if meta["manifest_sha256"] != ls.info["manifests"][split]["sha256"] or rows != len(manifest):
        raise LabelStoreError(f"{labels_path}: stale, made for another manifest than {split}.tsv")
    # Corrupt: sizes, checksums, then the offsets against the manifest's lengths.
    for path, size, key in ((labels_path, total * dtype.itemsize, "labels"), (offsets_path, (rows + 1) * 8, "offsets")):
        if not path.is_file() or path.stat().st_size != size:
            raise LabelStoreError(f"{path}: corrupt, {path.stat().st_size if path.is_file() else 'no'} bytes "
                                  f"where {size} were written")
        if _file_digest(path, "crc32") != crc[key]:
            raise LabelStoreError(f"{path}: corrupt, CRC-32 differs from the one recorded in {meta_path.name}")
    arrays = LabelArrays(labels_path, offsets_path, dtype.name, rows, total)
    offsets = arrays.offsets
    lengths = np.diff(offsets)
    if offsets[0] != 0 or offsets[-1] != total or (lengths < 0).any():
        raise LabelStoreError(f"{offsets_path}: corrupt, offsets do not run from 0 to {total}")
    expected = np.array([num_frames(n, ls.label_rate) for n in manifest.num_samples], dtype=np.int64)
    skipped = lengths == 0
    bad = np.flatnonzero(~skipped & (np.abs(lengths - expected) > tolerance))
    if bad.size:
        i = int(bad[0])
        raise LabelStoreError(f"{offsets_path}: corrupt, {manifest.relpaths[i]} has {lengths[i]} labels for "
                              f"{expected[i]} frames")
    if set(np.flatnonzero(skipped).tolist()) != set(ls.skipped(split)):
        raise LabelStoreError(f"{offsets_path}: corrupt, its empty rows are not the skips labels.json records")
    return arrays


@contextmanager
def _build_lock(label_dir: Path, split: str):
    """One process (rank, worker, node on a shared disk) builds at a time; the others then find it built."""
    with open(label_dir / f".{split}.bin.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load_label_arrays(ls: LabelSet, split: str, data_dir: str | os.PathLike | None = None,
                      log=lambda msg: print(msg, file=sys.stderr)) -> LabelArrays:
    """The memory-mapped labels of `split`: the binary form if valid, else rebuilt from the `.km` (logged)."""
    ls.checked_manifest(split, data_dir)  # a wrong manifest is the caller's error: no rebuild fixes it
    try:
        return open_binary(ls, split, data_dir)
    except LabelStoreError as first:
        with _build_lock(ls.label_dir, split):
            try:  # another process may have rebuilt it while this one waited
                return open_binary(ls, split, data_dir)
            except LabelStoreError:
                pass
            log(f"{first}; {'building' if 'no binary form' in str(first) else 'rebuilding'} it from {split}.km")
            build_binary(ls, split, data_dir)
            return open_binary(ls, split, data_dir)
