"""Import a `datasets` dataset: one saved with `save_to_disk`, an audiofolder, or a hub dataset that is
already in the local cache (loaded with HF_DATASETS_OFFLINE=1: nothing is downloaded).

The audio column is cast to `Audio(decode=False)` and decoded here with soundfile (from the row's
bytes, else its path), resampled to 16 kHz mono and written as FLAC under OUT/audio/{split}/.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from labelers.corpus.audio import AudioError, decode_audio
from labelers.corpus.importers.common import ImportReport, normalize_transcript, write_flac_16k, write_split

TEXT_COLUMNS = ("text", "sentence", "transcript", "transcription", "normalized_text", "words")


def _audiofolder_without_torchcodec(path: Path):
    """The `audiofolder` layout read without `datasets`' audio encoder (which needs torchcodec):
    `metadata.csv`/`metadata.jsonl` with a `file_name` column, at the root (split `train`) or in
    split subfolders; without metadata, every audio file, no text. The audio column holds paths."""
    import datasets

    from labelers.corpus.importers.folder import find_audio

    parts = {}
    for meta in sorted([*path.rglob("metadata.csv"), *path.rglob("metadata.jsonl")]):
        split = "train" if meta.parent == path else meta.parent.relative_to(path).parts[0]
        kind = "csv" if meta.suffix == ".csv" else "json"
        ds = datasets.load_dataset(kind, data_files=str(meta), split="train")
        if "file_name" not in ds.column_names:
            raise ValueError(f"{meta}: no file_name column")
        ds = ds.map(lambda row: {"audio": str(meta.parent / row["file_name"])}).remove_columns("file_name")
        parts[split] = datasets.concatenate_datasets([parts[split], ds]) if split in parts else ds
    if not parts:
        parts["train"] = datasets.Dataset.from_dict({"audio": [str(p) for p in find_audio(path)]})
    return datasets.DatasetDict(parts)


def load_any(dataset: str):
    """A Dataset or DatasetDict from a saved folder, an audio folder, or the offline hub cache."""
    import datasets

    path = Path(dataset)
    if path.is_dir():
        if any((path / f).is_file() for f in ("dataset_dict.json", "state.json", "dataset_info.json")):
            return datasets.load_from_disk(str(path))
        try:
            return datasets.load_dataset("audiofolder", data_dir=str(path))
        except Exception as e:  # datasets >= 4 encodes audio with torchcodec, an optional install
            if "torchcodec" not in repr(e) + repr(e.__cause__) + repr(getattr(e.__cause__, "__cause__", None)):
                raise
            return _audiofolder_without_torchcodec(path)
    # Never download: only what the local cache holds. The env var is read when `datasets` is first
    # imported, so also flip the flags it already derived from it.
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    datasets.config.HF_HUB_OFFLINE = datasets.config.HF_DATASETS_OFFLINE = True
    try:
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = True
    except ImportError:
        pass
    try:
        return datasets.load_dataset(dataset)
    except Exception as e:
        raise FileNotFoundError(
            f"{dataset}: not a folder, and not loadable from the local datasets cache offline ({type(e).__name__}: {e})"
        ) from None


def _existing_column(ds, wanted: str) -> str:
    if wanted not in ds.column_names:
        raise ValueError(f"no column '{wanted}' (columns: {ds.column_names})")
    return wanted


def pick_audio_column(ds, wanted: str | None) -> str:
    from datasets import Audio

    if wanted:
        return _existing_column(ds, wanted)
    for name, feature in ds.features.items():
        if isinstance(feature, Audio):
            return name
    for name in ("audio", "file", "path"):
        if name in ds.column_names:
            return name
    raise ValueError(f"no audio column found (columns: {ds.column_names}); pass --audio-column")


def pick_text_column(ds, wanted: str | None) -> str | None:
    if wanted:
        return _existing_column(ds, wanted)
    return next((c for c in TEXT_COLUMNS if c in ds.column_names), None)


def _decode_row(value, name: str):
    """Audio from a row: {"bytes", "path"} (Audio(decode=False)) or a plain path string."""
    if isinstance(value, dict):
        if value.get("bytes"):
            return decode_audio(io.BytesIO(value["bytes"]), name)
        value = value.get("path")
    if not value:
        raise AudioError(name, "row has neither audio bytes nor a path")
    from labelers.corpus.audio import load_audio

    return load_audio(value)


def import_dataset_split(ds, out_dir, split: str, audio_column=None, text_column=None, progress=True, source="") -> ImportReport:
    from datasets import Audio
    from tqdm import tqdm

    report = ImportReport(split=split, source=source)
    audio_col = pick_audio_column(ds, audio_column)
    text_col = pick_text_column(ds, text_column)
    if isinstance(ds.features[audio_col], Audio):
        ds = ds.cast_column(audio_col, Audio(decode=False))  # we decode with soundfile ourselves
    out = Path(out_dir)
    relpaths, lengths, words = [], [], []
    for i, row in enumerate(tqdm(ds, total=len(ds), desc=f"hf {split}", unit="row", disable=not progress)):
        value = row[audio_col]
        orig = value.get("path") if isinstance(value, dict) else value
        name = f"row {i}" + (f" ({orig})" if orig else "")
        text = normalize_transcript(str(row[text_col] or "")) if text_col else None
        if text_col and not text:
            report.skip(name, f"empty transcript in column '{text_col}'")
            continue
        try:
            wav = _decode_row(value, name)
        except AudioError as e:
            report.skip(name, e.reason)
            continue
        rel = f"audio/{split}/{i:08d}.flac"
        write_flac_16k(out / rel, wav)
        relpaths.append(rel)
        lengths.append(len(wav))
        words.append(text)
    write_split(out, report, out, relpaths, lengths, words if text_col else None)
    return report


def import_hf(
    dataset: str,
    out_dir: str | os.PathLike,
    split: str | None = None,
    audio_column: str | None = None,
    text_column: str | None = None,
    split_name: str | None = None,
    progress: bool = True,
) -> list[ImportReport]:
    """Import `split` (default: every split) of `dataset`; each becomes `{split}.tsv` in `out_dir`."""
    import datasets

    loaded = load_any(dataset)
    if isinstance(loaded, datasets.DatasetDict):
        names = [split] if split else list(loaded)
        missing = [n for n in names if n not in loaded]
        if missing:
            raise ValueError(f"{dataset}: no split {missing} (have {list(loaded)})")
        parts = {n: loaded[n] for n in names}
    else:
        parts = {split or "train": loaded}
    if split_name and len(parts) > 1:
        raise ValueError(f"{dataset} has splits {list(parts)}; pick one with --split to rename it")
    return [
        import_dataset_split(ds, out_dir, split_name or n, audio_column, text_column, progress, source=f"hf:{dataset}:{n}")
        for n, ds in parts.items()
    ]
