"""Shared importer pieces: transcript normalization, audio validation, split writing, the report."""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from labelers.corpus.atomic import disk_full_as_error, write_json
from labelers.corpus.audio import AudioError, load_audio
from labelers.corpus.frames import SAMPLE_RATE
from labelers.corpus.manifest import Manifest, write_manifest, write_side_file, words_to_letters

_NON_WORD = re.compile(r"[^\w']+")


def normalize_transcript(text: str) -> str:
    """Upper-case words, punctuation dropped (apostrophes inside words kept), single spaces."""
    words = (w.strip("'_") for w in _NON_WORD.sub(" ", text.upper()).split())
    return " ".join(w for w in words if w)


def split_name_from(path: str | os.PathLike) -> str:
    """A split name from a folder name: `train-clean-100` stays, spaces and dots become `_`."""
    name = re.sub(r"[^\w\-]+", "_", Path(path).resolve().name).strip("_")
    return name or "all"


@dataclass
class ImportReport:
    split: str
    source: str
    kept: int = 0
    seconds: float = 0.0
    skipped: list[dict] = field(default_factory=list)  # {"item", "reason"}
    notes: list[str] = field(default_factory=list)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append({"item": str(item), "reason": reason})

    def to_json(self) -> dict:
        return {
            "split": self.split,
            "source": self.source,
            "kept": self.kept,
            "hours": round(self.seconds / 3600, 4),
            "skipped": self.skipped,
            "notes": self.notes,
        }

    def summary(self, max_reasons: int = 10) -> str:
        lines = [
            f"{self.split}: kept {self.kept} utterances ({self.seconds / 3600:.3f} h), skipped {len(self.skipped)}"
        ]
        for s in self.skipped[:max_reasons]:
            lines.append(f"  skipped {s['item']}: {s['reason']}")
        if len(self.skipped) > max_reasons:
            lines.append(f"  ... {len(self.skipped) - max_reasons} more in {self.split}.import.json")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def check_audio(path: str) -> tuple[int | None, str | None]:
    """(16 kHz sample count, None) for a usable file, (None, reason) otherwise. Full decode."""
    try:
        return len(load_audio(path)), None
    except AudioError as e:
        return None, e.reason


def convert_audio(job: tuple[str, str]) -> tuple[int | None, str | None]:
    """(src, dst): decode `src` to 16 kHz mono and write it as FLAC at `dst`; like check_audio."""
    src, dst = job
    try:
        wav = load_audio(src)
    except AudioError as e:
        return None, e.reason
    write_flac_16k(dst, wav)
    return len(wav), None


def run_many(fn, items: list, workers: int = 1, progress: bool = True, desc: str = "checking audio") -> list:
    """`fn` over `items`, results in order, in `workers` processes, with a progress bar on stderr."""
    from tqdm import tqdm

    bar = dict(total=len(items), desc=desc, unit="file", disable=not progress, file=sys.stderr)
    if workers <= 1 or len(items) < 2:
        return [fn(x) for x in tqdm(items, **bar)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(fn, items, chunksize=16), **bar))


def check_many(paths: list[str], workers: int = 1, progress: bool = True, desc: str = "checking audio") -> list:
    return run_many(check_audio, paths, workers, progress, desc)


def write_flac_16k(path: str | os.PathLike, wav: np.ndarray) -> None:
    """16-bit FLAC at 16 kHz, written to a temporary name and renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with disk_full_as_error(path):
            sf.write(tmp, np.clip(wav, -1.0, 1.0), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_split(
    out_dir: str | os.PathLike,
    report: ImportReport,
    root: str | os.PathLike,
    relpaths: list[str],
    num_samples: list[int],
    words: list[str] | None = None,
) -> None:
    """`{split}.tsv`, `.wrd` + `.ltr` when `words` is given, and `{split}.import.json`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = report.split
    if words is not None and len(words) != len(relpaths):
        raise ValueError(f"{split}: {len(words)} transcripts for {len(relpaths)} audio files")
    write_manifest(out / f"{split}.tsv", Manifest(str(Path(root).resolve()), relpaths, num_samples))
    if words is not None:
        write_side_file(out / f"{split}.wrd", words)
        write_side_file(out / f"{split}.ltr", [words_to_letters(w) for w in words])
    else:
        for ext in ("wrd", "ltr"):  # stale transcripts from an earlier import would be misaligned
            (out / f"{split}.{ext}").unlink(missing_ok=True)
    report.kept = len(relpaths)
    report.seconds = sum(num_samples) / SAMPLE_RATE
    write_json(out / f"{split}.import.json", report.to_json())
