"""fairseq-style corpus files: `{split}.tsv` manifests and the line-aligned `.wrd`, `.ltr`, `.phn` files.

A manifest's first line is the audio root; each further line is `relpath<TAB>num_samples` (16 kHz).
Every side file has exactly one line per manifest row, in the same order.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from labelers.corpus.atomic import atomic_open, write_lines
from labelers.corpus.frames import SAMPLE_RATE


class ManifestError(ValueError):
    pass


@dataclass
class Manifest:
    root: str
    relpaths: list[str] = field(default_factory=list)
    num_samples: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.relpaths)

    def path(self, i: int) -> str:
        return os.path.join(self.root, self.relpaths[i])

    def utt_id(self, i: int) -> str:
        """A readable utterance id: the relative path without its extension."""
        return os.path.splitext(self.relpaths[i])[0]

    def total_seconds(self, sample_rate: int = SAMPLE_RATE) -> float:
        return sum(self.num_samples) / sample_rate


def read_manifest(path: str | os.PathLike) -> Manifest:
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ManifestError(f"{path}: empty manifest (the first line must be the audio root)")
    m = Manifest(root=lines[0].strip())
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[1].strip().isdigit():
            raise ManifestError(f"{path}:{n}: expected 'relpath<TAB>num_samples', got {line!r}")
        m.relpaths.append(parts[0])
        m.num_samples.append(int(parts[1]))
    return m


def write_manifest(path: str | os.PathLike, manifest: Manifest) -> None:
    with atomic_open(path) as f:
        f.write(f"{manifest.root}\n")
        for rel, n in zip(manifest.relpaths, manifest.num_samples):
            if "\t" in rel or "\n" in rel:
                raise ManifestError(f"{rel!r}: tabs and newlines cannot appear in a manifest path")
            f.write(f"{rel}\t{n}\n")


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_side_file(path: str | os.PathLike, expected_lines: int | None = None) -> list[str]:
    """Read a line-aligned side file (.wrd/.ltr/.phn/.km); check its length against the manifest."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: file not found")
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if expected_lines is not None and len(lines) != expected_lines:
        raise ManifestError(f"{path}: {len(lines)} lines, but the manifest has {expected_lines} rows")
    return lines


def write_side_file(path: str | os.PathLike, lines: list[str]) -> None:
    write_lines(path, lines)


def words_to_letters(words: str) -> str:
    """fairseq's .ltr convention: upper-case letters separated by spaces, '|' after every word."""
    out = []
    for w in words.split():
        out.extend(list(w))
        out.append("|")
    return " ".join(out)


def letters_to_words(letters: str) -> str:
    return " ".join("".join(w.split()) for w in letters.split("|") if w.strip())
