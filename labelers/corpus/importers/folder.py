"""Any folder of audio files soundfile can read (recursively), with optional sidecar transcripts.

A transcript for `a/b/utt.wav` is `a/b/utt.txt` (one line of text). `.wrd`/`.ltr` are written when
every kept file has one; with `require_text`, files without one are skipped instead. By default the
audio stays in place (manifest root = the folder, num_samples = the 16 kHz count `load_audio`
returns); `convert` writes 16 kHz mono FLAC copies under OUT/audio/{split}/ instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import soundfile as sf

from labelers.corpus.importers.common import ImportReport, check_many, convert_audio, normalize_transcript, run_many, split_name_from, write_split


def audio_extensions() -> set[str]:
    """File extensions of the formats this libsndfile build decodes (wav, flac, ogg, mp3, ...)."""
    exts = {f".{k.lower()}" for k in sf.available_formats()}
    aliases = {".aiff": ".aif", ".wav": ".wave", ".ogg": ".opus", ".mpeg": ".mp3"}
    exts.update(v for k, v in aliases.items() if k in exts)
    return exts


def find_audio(root: Path) -> list[Path]:
    exts = audio_extensions()
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts and not p.name.startswith("."))


def read_sidecar(path: Path) -> str | None:
    txt = path.with_suffix(".txt")
    if not txt.is_file():
        return None
    try:
        return normalize_transcript(txt.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def import_folder(
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    split_name: str | None = None,
    *,
    require_text: bool = False,
    convert: bool = False,
    workers: int = 1,
    progress: bool = True,
) -> ImportReport:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    split = split_name or split_name_from(root)
    report = ImportReport(split=split, source=f"folder:{root.resolve()}")
    out_resolved = Path(out_dir).resolve()
    # never re-import our own converted copies when OUT lies inside ROOT
    files = [f for f in find_audio(root) if not f.resolve().is_relative_to(out_resolved)]
    if not files:
        raise FileNotFoundError(f"{root}: no audio files (looked for {', '.join(sorted(audio_extensions()))})")
    texts = {f: read_sidecar(f) for f in files}
    if require_text:
        for f in [f for f in files if not texts[f]]:
            report.skip(str(f.relative_to(root)), "no sidecar transcript (.txt) or it is empty")
        files = [f for f in files if texts[f]]
    rels = [str(f.relative_to(root)) for f in files]
    if convert:
        out_root = Path(out_dir)
        dests = [f"audio/{split}/{os.path.splitext(r)[0]}.flac" for r in rels]
        if len(set(dests)) != len(dests):
            raise ValueError(f"{root}: two files differ only by extension; cannot convert them to one .flac name")
        results = run_many(convert_audio, [(str(f), str(out_root / d)) for f, d in zip(files, dests)], workers, progress, f"converting {split}")
    else:
        out_root, dests = root, rels
        results = check_many([str(f) for f in files], workers, progress, desc=f"checking {split}")
    relpaths, lengths, words = [], [], []
    for f, rel, dest, (n, reason) in zip(files, rels, dests, results):
        if n is None:
            report.skip(rel, reason)
            continue
        relpaths.append(dest)
        lengths.append(n)
        words.append(texts[f])
    with_text = sum(1 for w in words if w)
    if words and with_text == len(words):
        write_split(out_dir, report, out_root, relpaths, lengths, words)
    else:
        if with_text:
            report.notes.append(
                f"{with_text} of {len(words)} files have transcripts; .wrd/.ltr not written "
                "(use --require-text to keep only transcribed files)"
            )
        write_split(out_dir, report, out_root, relpaths, lengths, None)
    return report
