"""A corpus folder: `{split}.tsv` plus optional `{split}.wrd/.ltr/.phn` side files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from labelers.corpus.manifest import (
    Manifest, file_sha256, letters_to_words, read_manifest, read_side_file, words_to_letters,
)

PHONE_RATE = 100  # reference phones: one symbol per 10 ms frame


@dataclass
class Split:
    data_dir: Path
    name: str

    @property
    def manifest_path(self) -> Path:
        return self.data_dir / f"{self.name}.tsv"

    def side_path(self, ext: str) -> Path:
        return self.data_dir / f"{self.name}.{ext}"

    def has(self, ext: str) -> bool:
        return self.side_path(ext).is_file()

    def manifest(self) -> Manifest:
        return read_manifest(self.manifest_path)

    def manifest_sha256(self) -> str:
        return file_sha256(self.manifest_path)

    def lines(self, ext: str) -> list[str]:
        return read_side_file(self.side_path(ext), expected_lines=len(self.manifest()))

    def words(self) -> list[str]:
        return self.lines("wrd")

    def letters(self) -> list[str]:
        return self.lines("ltr")

    def transcripts(self, unit: str = "words") -> list[str] | None:
        """One transcript per manifest row, as `words` (from `.wrd`, else converted from `.ltr`) or as
        `letters` (fairseq `.ltr` form, from `.ltr`, else converted from `.wrd`); None when neither file exists."""
        if unit not in ("words", "letters"):
            raise ValueError(f"transcript unit must be 'words' or 'letters', got {unit!r}")
        own, other = ("wrd", "ltr") if unit == "words" else ("ltr", "wrd")
        convert = letters_to_words if unit == "words" else words_to_letters
        if self.has(own):
            return self.lines(own)
        if self.has(other):
            return [convert(line) for line in self.lines(other)]
        return None

    def require_transcripts(self, unit: str = "words") -> list[str]:
        """`transcripts(unit)`, or FileNotFoundError naming the split when it has none."""
        lines = self.transcripts(unit)
        if lines is None:
            raise FileNotFoundError(
                f"{self.manifest_path}: split '{self.name}' has no transcripts ({self.name}.ltr or {self.name}.wrd)")
        return lines

    def phones(self) -> list[list[str]]:
        return [line.split() for line in self.lines("phn")]


def open_split(data_dir: str | os.PathLike, name: str) -> Split:
    split = Split(Path(data_dir), name)
    if not split.manifest_path.is_file():
        available = sorted(p.stem for p in Path(data_dir).glob("*.tsv"))
        raise FileNotFoundError(f"{split.manifest_path}: no manifest for split '{name}' (available: {available})")
    return split
