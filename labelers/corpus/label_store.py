"""The label store: `{split}.km`, `dict.km.txt` and `labels.json` in one folder.

- `{split}.km`: one line per manifest row, space-separated integer class ids; an empty line marks an
  utterance that was skipped (its reason is in `labels.json["skipped"]`).
- `dict.km.txt`: fairseq dictionary, `symbol count` per line, line i describing class id i.
- `labels.json`: source, label_rate, num_classes, per-split manifest sha256, provenance, versions,
  per-split counts and skipped utterances.

Every file is written atomically. Reading validates the labels against the manifest: same row count,
same manifest sha256, and each sequence's length within LABEL_LENGTH_TOLERANCE frames of the audio
length at the declared rate; anything else is an error naming the utterance.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from labelers.corpus.atomic import write_json, write_lines
from labelers.corpus.split import open_split
from labelers.corpus.frames import LABEL_LENGTH_TOLERANCE, check_label_length
from labelers.corpus.manifest import Manifest, read_side_file

FORMAT_VERSION = 1
INFO_FILE = "labels.json"
DICT_FILE = "dict.km.txt"


class LabelStoreError(ValueError):
    pass


@dataclass
class Skip:
    """An utterance that could not be labelled, and why."""

    reason: str


@dataclass
class LabelSet:
    """An opened label folder. `read(split)` returns validated arrays (None for skipped rows)."""

    label_dir: Path
    info: dict = field(default_factory=dict)

    @classmethod
    def open(cls, label_dir: str | os.PathLike) -> LabelSet:
        label_dir = Path(label_dir)
        path = label_dir / INFO_FILE
        if not path.is_file():
            raise LabelStoreError(f"{label_dir}: not a label folder ({INFO_FILE} missing; unfinished run?)")
        info = json.loads(path.read_text(encoding="utf-8"))
        for key in ("source", "label_rate", "num_classes", "manifests"):
            if key not in info:
                raise LabelStoreError(f"{path}: missing key '{key}'")
        ls = cls(label_dir, info)
        ls.check_dictionary()
        return ls

    def check_dictionary(self) -> None:
        """`dict.km.txt` must list exactly `num_classes` symbols: training and export read both."""
        path = self.label_dir / DICT_FILE
        if not path.is_file():
            raise LabelStoreError(f"{path}: missing (labels.json says {self.num_classes} classes)")
        n = sum(1 for line in read_side_file(path) if line.strip())
        if n != self.num_classes:
            raise LabelStoreError(f"{path}: lists {n} classes but {self.label_dir / INFO_FILE} says num_classes "
                                  f"{self.num_classes}")

    @property
    def source(self) -> str:
        return self.info["source"]

    @property
    def label_rate(self) -> float:
        return self.info["label_rate"]

    @property
    def num_classes(self) -> int:
        return int(self.info["num_classes"])

    @property
    def splits(self) -> list[str]:
        return list(self.info["manifests"])

    def symbols(self) -> list[str]:
        lines = read_side_file(self.label_dir / DICT_FILE)
        return [line.rsplit(" ", 1)[0] for line in lines]

    def skipped(self, split: str) -> dict[int, str]:
        return {int(s["index"]): s["reason"] for s in self.info.get("skipped", {}).get(split, [])}

    def read(
        self, split: str, data_dir: str | os.PathLike | None = None, tolerance: int = LABEL_LENGTH_TOLERANCE
    ) -> list[np.ndarray | None]:
        """Labels for `split`, checked against the manifest in `data_dir` (default: the recorded one)."""
        return list(self.iter_rows(split, data_dir, tolerance))

    def iter_rows(
        self, split: str, data_dir: str | os.PathLike | None = None, tolerance: int = LABEL_LENGTH_TOLERANCE
    ) -> Iterator[np.ndarray | None]:
        """`read`, one row at a time (streamed from the `.km`, so a LibriLight-size split never sits in memory)."""
        manifest = self.checked_manifest(split, data_dir)
        km = self.label_dir / f"{split}.km"
        if not km.is_file():
            raise LabelStoreError(f"{km}: file not found")
        skipped = self.skipped(split)
        n_lines = 0
        with open(km, encoding="utf-8", newline="\n") as f:
            for i, line in enumerate(f):
                n_lines = i + 1
                if i >= len(manifest):
                    break
                line = line.rstrip("\n")
                if not line.strip():
                    if i not in skipped:
                        raise LabelStoreError(
                            f"{self.label_dir / (split + '.km')}:{i + 1}: empty labels for {manifest.relpaths[i]} "
                            "but labels.json records no skip"
                        )
                    yield None
                    continue
                labels = np.array(line.split(), dtype=np.int64)
                check_label_length(len(labels), manifest.num_samples[i], self.label_rate, manifest.relpaths[i],
                                   error=LabelStoreError, tolerance=tolerance)
                if labels.min() < 0 or labels.max() >= self.num_classes:
                    raise LabelStoreError(
                        f"{manifest.relpaths[i]}: class id outside [0, {self.num_classes}) in {split}.km"
                    )
                yield labels
        if n_lines != len(manifest):
            raise LabelStoreError(f"{km}: {n_lines}{'+' if n_lines > len(manifest) else ''} lines, but the "
                                  f"manifest has {len(manifest)} rows")

    def checked_manifest(self, split: str, data_dir: str | os.PathLike | None = None) -> Manifest:
        """The manifest of `split` in `data_dir` (default: the recorded one), refused if it is not the one labelled."""
        if split not in self.info["manifests"]:
            raise LabelStoreError(f"{self.label_dir}: no labels for split '{split}' (have {self.splits})")
        data_dir = data_dir or self.info.get("data_dir")
        if data_dir is None:
            raise LabelStoreError(f"{self.label_dir}: labels.json names no data_dir; pass one")
        sp = open_split(data_dir, split)
        recorded = self.info["manifests"][split]["sha256"]
        actual = sp.manifest_sha256()
        if recorded != actual:
            raise LabelStoreError(
                f"{self.label_dir / (split + '.km')}: made for another manifest "
                f"(sha256 {recorded[:12]}… != {sp.manifest_path} {actual[:12]}…)"
            )
        return sp.manifest()

def write_split_labels(label_dir: str | os.PathLike, split: str, labels: list[np.ndarray | Skip | None]) -> None:
    """Write `{split}.km` (empty line for a skipped row)."""
    rows = []
    for lab in labels:
        rows.append("" if lab is None or isinstance(lab, Skip) else " ".join(map(str, np.asarray(lab).tolist())))
    write_lines(Path(label_dir) / f"{split}.km", rows)


def count_classes(labels: list[np.ndarray | Skip | None], num_classes: int) -> np.ndarray:
    counts = np.zeros(num_classes, dtype=np.int64)
    for lab in labels:
        if isinstance(lab, np.ndarray) and lab.size:
            counts += np.bincount(lab, minlength=num_classes)[:num_classes]
    return counts


def write_dictionary(label_dir: str | os.PathLike, symbols: list[str], counts: np.ndarray) -> None:
    write_lines(Path(label_dir) / DICT_FILE, [f"{s} {int(c)}" for s, c in zip(symbols, counts)])


def package_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in ("hubert-bootstrap", "torch", "torchaudio", "transformers", "scikit-learn", "ctc-segmentation", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_label_set(
    label_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    split_labels: dict[str, list[np.ndarray | Skip | None]],
    *,
    source: str,
    label_rate: float,
    symbols: list[str],
    origin: dict | None = None,
) -> LabelSet:
    """Write a complete label set: every `{split}.km`, then `dict.km.txt`, then `labels.json` last.

    `labels.json` is the completion marker: it is written only after all other files are in place.
    """
    label_dir = Path(label_dir)
    label_dir.mkdir(parents=True, exist_ok=True)
    num_classes = len(symbols)
    manifests, counts, skipped = {}, {}, {}
    total = np.zeros(num_classes, dtype=np.int64)
    for split, labels in split_labels.items():
        sp = open_split(data_dir, split)
        manifest = sp.manifest()
        if len(labels) != len(manifest):
            raise LabelStoreError(f"{split}: {len(labels)} label rows for {len(manifest)} manifest rows")
        write_split_labels(label_dir, split, labels)
        manifests[split] = {"sha256": sp.manifest_sha256(), "utterances": len(manifest)}
        skipped[split] = [
            {"index": i, "utt": manifest.relpaths[i], "reason": lab.reason if isinstance(lab, Skip) else "skipped"}
            for i, lab in enumerate(labels)
            if lab is None or isinstance(lab, Skip)
        ]
        frames = sum(int(np.asarray(lab).size) for lab in labels if isinstance(lab, np.ndarray))
        counts[split] = {"utterances": len(manifest), "labelled": len(manifest) - len(skipped[split]), "frames": frames}
        total += count_classes(labels, num_classes)
    write_dictionary(label_dir, symbols, total)
    info = {
        "format": FORMAT_VERSION,
        "source": source,
        "label_rate": label_rate,
        "num_classes": num_classes,
        "data_dir": str(Path(data_dir).resolve()),
        "manifests": manifests,
        "origin": origin or {},
        "versions": package_versions(),
        "counts": counts,
        "skipped": skipped,
    }
    write_json(label_dir / INFO_FILE, info)
    return LabelSet(label_dir, info)


# ---------------------------------------------------------------- plain fairseq layouts

def export_fairseq(
    label_dir: str | os.PathLike, out_dir: str | os.PathLike, splits: list[str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Write a plain fairseq HuBERT layout: `{split}.tsv`, `{split}.km`, `dict.km.txt` (+ .wrd/.ltr).

    fairseq has no notion of a skipped row, so skipped utterances are left out of the exported
    manifest, labels and transcripts together (rows stay aligned). Returns rows dropped per split.
    """
    from labelers.corpus.manifest import Manifest, write_manifest, write_side_file

    ls = LabelSet.open(label_dir)
    data_dir = data_dir or ls.info.get("data_dir")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dropped = {}
    for split in splits or ls.splits:
        sp = open_split(data_dir, split)
        manifest = sp.manifest()
        labels = ls.read(split, data_dir)
        keep = [i for i, lab in enumerate(labels) if lab is not None]
        for ext in ("wrd", "ltr"):
            if sp.has(ext):
                lines = sp.lines(ext)
                write_side_file(out_dir / f"{split}.{ext}", [lines[i] for i in keep])
        write_split_labels(out_dir, split, [labels[i] for i in keep])
        write_manifest(out_dir / f"{split}.tsv", Manifest(manifest.root, [manifest.relpaths[i] for i in keep],
                                                         [manifest.num_samples[i] for i in keep]))
        dropped[split] = len(manifest) - len(keep)
    write_lines(out_dir / DICT_FILE, read_side_file(ls.label_dir / DICT_FILE))
    return dropped


def import_fairseq(
    km_dir: str | os.PathLike,
    data_dir: str | os.PathLike,
    splits: list[str],
    out_dir: str | os.PathLike,
    *,
    source: str,
    label_rate: float,
    num_classes: int | None = None,
    tolerance: int = LABEL_LENGTH_TOLERANCE,
) -> LabelSet:
    """Turn fairseq `{split}.km` files (one line per row of `data_dir/{split}.tsv`) into a label store.

    Each sequence is checked against its audio length at `label_rate`; one within `tolerance` frames
    is trimmed (or its last label repeated) to exactly `num_frames`, anything further is an error
    naming the utterance. The vocabulary comes from `dict.km.txt` when present, else `num_classes`,
    else the largest id + 1.
    """
    km_dir = Path(km_dir)
    # fairseq .km files hold dictionary *symbols*; ours hold class ids (the symbol's line in the dict).
    symbols = None
    if (km_dir / DICT_FILE).is_file():
        symbols = [line.rsplit(" ", 1)[0] for line in read_side_file(km_dir / DICT_FILE) if line.strip()]
    lookup = None if symbols is None or symbols == [str(i) for i in range(len(symbols))] else \
        {s: i for i, s in enumerate(symbols)}
    split_labels, adjusted = {}, {}
    max_id, min_id = -1, 0
    for split in splits:
        manifest = open_split(data_dir, split).manifest()
        lines = read_side_file(km_dir / f"{split}.km", expected_lines=len(manifest))
        rows, n_adj = [], 0
        for i, line in enumerate(lines):
            if not line.strip():
                rows.append(Skip("empty line in the imported fairseq label file"))
                continue
            try:
                tokens = line.split()
                lab = np.array([lookup[t] for t in tokens] if lookup else tokens, dtype=np.int64)
            except (KeyError, ValueError) as e:
                raise LabelStoreError(f"{km_dir / (split + '.km')}:{i + 1}: label {e} is not in the dictionary") from None
            expected = check_label_length(len(lab), manifest.num_samples[i], label_rate,
                                          f"{km_dir / (split + '.km')}:{i + 1} ({manifest.relpaths[i]})",
                                          error=LabelStoreError, tolerance=tolerance)
            if len(lab) != expected:
                n_adj += 1
                lab = lab[:expected] if len(lab) > expected else np.concatenate([lab, np.repeat(lab[-1:], expected - len(lab))])
            if lab.size:
                max_id, min_id = max(max_id, int(lab.max())), min(min_id, int(lab.min()))
            rows.append(lab)
        split_labels[split], adjusted[split] = rows, n_adj
    if symbols is None:
        symbols = [str(i) for i in range(num_classes or max_id + 1)]
    if max_id >= len(symbols) or min_id < 0:
        raise LabelStoreError(f"{km_dir}: class ids outside [0, {len(symbols)})")
    origin = {"imported_from": str(km_dir.resolve()), "format": "fairseq", "length_adjusted": adjusted}
    return write_label_set(out_dir, data_dir, split_labels, source=source, label_rate=label_rate,
                           symbols=symbols, origin=origin)
