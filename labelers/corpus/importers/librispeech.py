"""LibriSpeech layout: SUBSET/speaker/chapter/{speaker-chapter-utt}.flac + speaker-chapter.trans.txt.

`root` is one subset (e.g. `LibriSpeech/dev-clean`) or a folder holding several (`LibriSpeech/`),
each imported as its own split. Audio stays in place: the manifest root is the subset folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from labelers.corpus.importers.common import ImportReport, check_many, normalize_transcript, split_name_from, write_split


def is_subset(path: Path) -> bool:
    return any(path.glob("*/*/*.trans.txt"))


def find_subsets(root: str | os.PathLike) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    if is_subset(root):
        return [root]
    subsets = sorted(p for p in root.iterdir() if p.is_dir() and is_subset(p))
    if not subsets:
        raise FileNotFoundError(f"{root}: no LibriSpeech layout found (speaker/chapter/*.trans.txt)")
    return subsets


def read_transcripts(subset: Path, report: ImportReport) -> dict[str, tuple[Path, str]]:
    """utt id -> (chapter folder, normalized text); malformed lines are reported."""
    out: dict[str, tuple[Path, str]] = {}
    for trans in sorted(subset.glob("*/*/*.trans.txt")):
        try:
            lines = trans.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            report.skip(str(trans.relative_to(subset)), f"unreadable transcript file ({e})")
            continue
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            utt, _, text = line.strip().partition(" ")
            text = normalize_transcript(text)
            where = f"{trans.relative_to(subset)}:{n}"
            if not text:
                report.skip(where, f"transcript line for {utt} has no words")
            elif utt in out:
                report.skip(where, f"duplicate transcript for {utt}")
            else:
                out[utt] = (trans.parent, text)
    return out


def import_subset(
    subset: Path, out_dir: str | os.PathLike, split: str, workers: int = 1, progress: bool = True
) -> ImportReport:
    report = ImportReport(split=split, source=f"librispeech:{subset.resolve()}")
    transcripts = read_transcripts(subset, report)
    audio = {p.stem: p for p in sorted(subset.glob("*/*/*.flac"))}
    for utt in sorted(set(audio) - set(transcripts)):
        report.skip(str(audio[utt].relative_to(subset)), "no transcript line")
    for utt in sorted(set(transcripts) - set(audio)):
        report.skip(f"{transcripts[utt][0].relative_to(subset)}/{utt}.flac", "audio file missing")
    utts = sorted(set(audio) & set(transcripts))
    paths = [str(audio[u]) for u in utts]
    results = check_many(paths, workers, progress, desc=f"librispeech {split}")
    relpaths, lengths, words = [], [], []
    for utt, path, (n, reason) in zip(utts, paths, results):
        rel = os.path.relpath(path, subset)
        if n is None:
            report.skip(rel, reason)
            continue
        relpaths.append(rel)
        lengths.append(n)
        words.append(transcripts[utt][1])
    write_split(out_dir, report, subset, relpaths, lengths, words)
    return report


def import_librispeech(
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    split_name: str | None = None,
    workers: int = 1,
    progress: bool = True,
) -> list[ImportReport]:
    """Import one subset (split name: `split_name` or the folder name) or every subset under `root`."""
    subsets = find_subsets(root)
    if split_name and len(subsets) > 1:
        raise ValueError(f"{root} holds {len(subsets)} subsets; --split-name needs a single subset folder")
    return [import_subset(s, out_dir, split_name or split_name_from(s), workers, progress) for s in subsets]
