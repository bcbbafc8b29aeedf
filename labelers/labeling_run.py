"""Label a corpus with any label source: sharded, resumable, merged into one label store.

`label_corpus(labeler, data_dir, splits, out_dir)` works with every `labelers.labeler.Labeler`
(k-means on MFCC or model features, CTC ASR tokens, ...). When the labeler's `preparer()` returns a
function (per-utterance CPU work), the decoding threads run it and `label_prepared` replaces
`label_batch`.

How the work is cut: each split's manifest rows are grouped into fixed *chunks* of
`chunk_utterances` consecutive rows. The chunk grid depends only on the manifest, never on the
number of shards, and every chunk is decoded and batched the same way whoever labels it; that is
what makes a sharded run, a resumed run and a one-process run write byte-identical files. A shard
takes a contiguous range of chunks (fairseq's `get_shard_range` rule applied to chunks). Each
finished chunk is written atomically to `out_dir/.work/`, stamped with a fingerprint of the labeler
and the manifest; a rerun reuses every chunk whose stamp matches, so a killed job resumes where it
stopped. When all chunks of all requested splits exist, the shard that finishes last (or the main
process under `accelerate launch`) merges them into `{split}.km`, `dict.km.txt` and `labels.json`
with `label_store.write_label_set` and removes the work folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from labelers.corpus.atomic import atomic_open
from labelers.corpus.frames import SAMPLE_RATE
from labelers.corpus.batching import iter_audio_batches
from labelers.corpus.split import open_split
from labelers.distributed import distributed_state
from labelers.corpus.frames import check_label_length
from labelers.corpus.label_store import INFO_FILE, LabelSet, LabelStoreError, Skip, write_label_set
from labelers.corpus.manifest import Manifest
from labelers.labeler import Labeler

WORK_DIR = ".work"
DEFAULT_CHUNK_UTTERANCES = 256
CHUNK_FORMAT = 1


class LabelingError(RuntimeError):
    """A label source broke the contract (wrong length, bad ids): the run stops, naming the utterance."""


@dataclass(frozen=True)
class Chunk:
    split: str
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"{self.start:09d}-{self.end:09d}.npz"


def shard_range(total: int, num_shards: int, shard_id: int) -> tuple[int, int]:
    """fairseq's get_shard_range: contiguous, sizes differing by at most one."""
    if not 0 <= shard_id < num_shards:
        raise ValueError(f"shard id {shard_id} outside [0, {num_shards})")
    return round(total / num_shards * shard_id), round(total / num_shards * (shard_id + 1))


def check_inputs(data_dir: str | os.PathLike, splits: list[str] | str, num_shards: int | None = None,
                 shard_id: int | None = None) -> list[str]:
    """Refuse bad inputs before anything is written: a missing corpus folder or split, a bad shard pair."""
    splits = [s for s in (splits.split(",") if isinstance(splits, str) else splits) if s]
    if not splits:
        raise ValueError("no splits to label")
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(f"{data_dir}: corpus folder not found")
    for split in splits:
        open_split(data_dir, split)
    if shard_id is not None and num_shards is None:
        raise ValueError("--shard-id needs --num-shards")
    if num_shards is not None:
        shard_id = shard_id or 0
        if not 0 <= shard_id < num_shards:
            raise ValueError(f"--shard-id {shard_id} --num-shards {num_shards}: the shard id must be in [0, {num_shards})")
    return splits


def split_chunks(split: str, num_rows: int, chunk_utterances: int) -> list[Chunk]:
    return [Chunk(split, s, min(s + chunk_utterances, num_rows)) for s in range(0, num_rows, chunk_utterances)]


def labeler_fingerprint(labeler, chunk_utterances: int, batch_seconds: float) -> str:
    """Identity of the labels a run produces: source, rate, vocabulary, provenance, batching."""
    blob = json.dumps(
        {
            "source": labeler.source,
            "label_rate": labeler.label_rate,
            "symbols": labeler.symbols(),
            "origin": labeler.describe(),
            "chunk_utterances": chunk_utterances,
            "batch_seconds": batch_seconds,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def read_transcripts(data_dir: str | os.PathLike, split: str, kind: str = "words") -> list[str] | None:
    """Words per manifest row from `{split}.wrd`, else from `{split}.ltr`; None when neither exists.
    kind="phones": the phone sequences of `{split}.phn` (repeats collapsed), for a phone teacher."""
    sp = open_split(data_dir, split)
    if kind == "phones":
        from labelers.corpus.phone_transcripts import collapse_frames

        return [" ".join(collapse_frames(p)) for p in sp.phones()] if sp.has("phn") else None
    return sp.transcripts("words")


def _resolve_shards(num_shards: int | None, shard_id: int | None):
    """Explicit shards win; otherwise one shard per `accelerate launch` process (1 when not launched)."""
    if num_shards is not None:
        return int(num_shards), int(shard_id or 0), None
    state = distributed_state()
    if state is not None:
        return state.num_processes, state.process_index, state
    return 1, 0, None


# ---------------------------------------------------------------- chunk files

def _write_chunk(path: Path, meta: dict, rows: list[np.ndarray | Skip]) -> None:
    lengths = np.array([-1 if isinstance(r, Skip) else len(r) for r in rows], dtype=np.int64)
    parts = [np.asarray(r, dtype=np.int32) for r in rows if not isinstance(r, Skip)]
    labels = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    meta = dict(meta, skips={str(i): r.reason for i, r in enumerate(rows) if isinstance(r, Skip)})
    buf = io.BytesIO()
    np.savez(buf, labels=labels, lengths=lengths, meta=np.array(json.dumps(meta)))
    with atomic_open(path, "wb") as f:
        f.write(buf.getvalue())


def _read_chunk_meta(path: Path) -> dict | None:
    try:
        with np.load(path) as z:
            return json.loads(str(z["meta"]))
    except Exception:  # unreadable: treat as not done
        return None


def _read_chunk(path: Path) -> list[np.ndarray | Skip]:
    with np.load(path) as z:
        labels, lengths, meta = z["labels"].astype(np.int64), z["lengths"], json.loads(str(z["meta"]))
    out, pos = [], 0
    for i, n in enumerate(lengths.tolist()):
        if n < 0:
            out.append(Skip(meta["skips"][str(i)]))
        else:
            out.append(labels[pos : pos + n])
            pos += n
    return out


def _chunk_done(path: Path, stamp: dict) -> bool:
    if not path.is_file():
        return False
    meta = _read_chunk_meta(path)
    return meta is not None and all(meta.get(k) == v for k, v in stamp.items())


# ---------------------------------------------------------------- labeling

def _check_labels(labeler, lab, manifest: Manifest, i: int, num_classes: int) -> np.ndarray | Skip:
    if isinstance(lab, Skip):
        return lab
    arr = np.asarray(lab)
    utt = manifest.relpaths[i]
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise LabelingError(f"{utt}: {labeler.source} labeler returned shape {arr.shape} dtype {arr.dtype}, "
                            "expected a 1-D integer array")
    check_label_length(len(arr), manifest.num_samples[i], labeler.label_rate, utt, tolerance=0,
                       what=f"labels from the {labeler.source} labeler", error=LabelingError)
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise LabelingError(f"{utt}: class id outside [0, {num_classes}) from the {labeler.source} labeler")
    return arr.astype(np.int64, copy=False)


def _label_chunk(labeler: Labeler, chunk: Chunk, manifest: Manifest, texts: list[str] | None, batch_seconds: float,
                 num_classes: int, num_workers: int | None, bar) -> list[np.ndarray | Skip]:
    rows: dict[int, np.ndarray | Skip] = {}
    pass_texts = labeler.uses_transcripts
    # Optional CPU stage of a labeler (e.g. MFCCs), run per utterance in the decoding threads.
    prepare = labeler.preparer()
    indices = range(chunk.start, chunk.end)
    for batch in iter_audio_batches(manifest, indices, batch_seconds, rate=labeler.label_rate,
                                    num_workers=num_workers, transform=prepare):
        rows.update(batch.skips)
        if batch.wavs:
            batch_texts = [texts[i] for i in batch.indices] if (pass_texts and texts is not None) else None
            run = labeler.label_prepared if prepare is not None else labeler.label_batch
            out = run(batch.wavs, batch_texts) if pass_texts else run(batch.wavs)
            if len(out) != len(batch.wavs):
                raise LabelingError(f"{labeler.source} labeler returned {len(out)} results for {len(batch.wavs)} "
                                    f"utterances (first: {manifest.relpaths[batch.indices[0]]})")
            for i, lab in zip(batch.indices, out):
                rows[i] = _check_labels(labeler, lab, manifest, i, num_classes)
        bar.update(sum(manifest.num_samples[i] for i in batch.indices + list(batch.skips)) / SAMPLE_RATE)
    return [rows[i] for i in indices]


# ---------------------------------------------------------------- merge

@contextlib.contextmanager
def _merge_lock(out_dir: Path):
    """Serialize merges of shards that finish at the same time (separate jobs on one file system)."""
    path = out_dir / ".merge.lock"
    with open(path, "a") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass
        yield


def _existing_set(out_dir: Path, fingerprint: str) -> LabelSet | None:
    try:
        ls = LabelSet.open(out_dir)
    except LabelStoreError:
        return None
    return ls if ls.info.get("origin", {}).get("fingerprint") == fingerprint else None


def _try_merge(labeler, data_dir, out_dir: Path, plan: dict[str, list[Chunk]], stamps: dict[str, dict],
               fingerprint: str, origin: dict, carried: LabelSet | None) -> bool:
    work = out_dir / WORK_DIR
    with _merge_lock(out_dir):
        done = _existing_set(out_dir, fingerprint)
        if done is not None and all(
            s in done.info["manifests"] and done.info["manifests"][s]["sha256"] == stamps[s]["manifest_sha256"]
            for s in plan
        ):
            return True  # another shard merged already
        for split, chunks in plan.items():
            if not all(_chunk_done(work / split / c.name, stamps[split]) for c in chunks):
                return False
        split_labels: dict[str, list] = {}
        for split, chunks in plan.items():
            split_labels[split] = [lab for c in chunks for lab in _read_chunk(work / split / c.name)]
        if carried is not None:  # splits labelled earlier into this folder by the same labeler
            for split in carried.splits:
                if split not in split_labels:
                    labs = carried.read(split, data_dir)
                    skips = carried.skipped(split)
                    split_labels[split] = [Skip(skips[i]) if x is None else x for i, x in enumerate(labs)]
        info = out_dir / INFO_FILE
        if info.exists():
            info.unlink()  # the set is incomplete while its files are rewritten
        write_label_set(out_dir, data_dir, split_labels, source=labeler.source, label_rate=labeler.label_rate,
                        symbols=labeler.symbols(), origin=origin)
        shutil.rmtree(work, ignore_errors=True)
        return True


# ---------------------------------------------------------------- entry point

def label_corpus(
    labeler: Labeler,
    data_dir: str | os.PathLike,
    splits: list[str] | str,
    out_dir: str | os.PathLike,
    *,
    num_shards: int | None = None,
    shard_id: int | None = None,
    batch_seconds: float = 100.0,
    chunk_utterances: int = DEFAULT_CHUNK_UTTERANCES,
    num_workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    verbose: bool = True,
) -> dict:
    """Label `splits` of the corpus in `data_dir` with `labeler` into the label store `out_dir`.

    Returns a summary dict (also printed when `verbose`). With `num_shards`/`shard_id` only that shard
    is labelled; the store is merged automatically once every shard's chunks exist. Without them, an
    `accelerate launch` run shards over its processes. Bad audio becomes a recorded skip; a label
    source that returns a wrong-length sequence stops the run with an error naming the utterance.
    """
    t0 = time.perf_counter()
    splits = check_inputs(data_dir, splits, num_shards, shard_id)  # before OUT exists
    out_dir = Path(out_dir)
    num_shards, shard_id, state = _resolve_shards(num_shards, shard_id)
    shard_range(1, num_shards, shard_id)  # validates the pair
    out_dir.mkdir(parents=True, exist_ok=True)
    symbols = labeler.symbols()
    fingerprint = labeler_fingerprint(labeler, chunk_utterances, batch_seconds)
    origin = dict(labeler.describe(), fingerprint=fingerprint)

    existing = None
    if (out_dir / INFO_FILE).exists():
        existing = _existing_set(out_dir, fingerprint)
        if existing is None:
            if not overwrite:
                raise FileExistsError(
                    f"{out_dir} holds labels from another label source or configuration; "
                    "pass overwrite=True (--overwrite) or choose another output folder"
                )
            (out_dir / INFO_FILE).unlink()
    if overwrite and existing is None:
        shutil.rmtree(out_dir / WORK_DIR, ignore_errors=True)

    plan, stamps, manifests, mine = {}, {}, {}, []
    for split in splits:
        sp = open_split(data_dir, split)
        manifest = sp.manifest()
        manifests[split] = manifest
        stamps[split] = {"format": CHUNK_FORMAT, "fingerprint": fingerprint, "manifest_sha256": sp.manifest_sha256()}
        if existing is not None and existing.info["manifests"].get(split, {}).get("sha256") == stamps[split]["manifest_sha256"]:
            continue  # already in the finished store (kept when the new splits are merged in)
        plan[split] = split_chunks(split, len(manifest), chunk_utterances)
        lo, hi = shard_range(len(plan[split]), num_shards, shard_id)
        mine.extend(plan[split][lo:hi])

    work = out_dir / WORK_DIR
    todo = [c for c in mine if not _chunk_done(work / c.split / c.name, stamps[c.split])]
    reused = len(mine) - len(todo)
    todo_seconds = sum(sum(manifests[c.split].num_samples[c.start : c.end]) for c in todo) / SAMPLE_RATE
    texts: dict[str, list[str] | None] = {}
    stats = {s: {"utterances": 0, "labelled": 0, "skipped": 0, "frames": 0, "seconds": 0.0} for s in splits}
    skipped: list[dict] = []
    bar = tqdm(total=todo_seconds, desc=f"labels {labeler.source}" + (f" shard {shard_id}/{num_shards}" if num_shards > 1 else ""),
               unit="s", disable=not progress, file=sys.stderr,
               bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} audio-s [{elapsed}<{remaining}, {rate_fmt}]")
    t_label = time.perf_counter()
    for chunk in todo:
        manifest = manifests[chunk.split]
        if labeler.uses_transcripts and chunk.split not in texts:
            texts[chunk.split] = read_transcripts(data_dir, chunk.split, labeler.transcript_kind)
        rows = _label_chunk(labeler, chunk, manifest, texts.get(chunk.split), batch_seconds, len(symbols),
                            num_workers, bar)
        _write_chunk(work / chunk.split / chunk.name, dict(stamps[chunk.split], start=chunk.start, end=chunk.end), rows)
        st = stats[chunk.split]
        for i, lab in zip(range(chunk.start, chunk.end), rows):
            st["utterances"] += 1
            st["seconds"] += manifest.num_samples[i] / SAMPLE_RATE
            if isinstance(lab, Skip):
                st["skipped"] += 1
                skipped.append({"split": chunk.split, "index": i, "utt": manifest.relpaths[i], "reason": lab.reason})
            else:
                st["labelled"] += 1
                st["frames"] += len(lab)
    bar.close()
    label_seconds = time.perf_counter() - t_label

    if state is not None:
        state.wait_for_everyone()
    merged = False
    if state is None or state.is_main_process:
        merged = _try_merge(labeler, data_dir, out_dir, plan, stamps, fingerprint, origin, existing)
    if state is not None:
        state.wait_for_everyone()
        merged = (out_dir / INFO_FILE).is_file()

    audio_seconds = sum(s["seconds"] for s in stats.values())
    summary = {
        "source": labeler.source,
        "label_rate": labeler.label_rate,
        "num_classes": len(symbols),
        "out_dir": str(out_dir),
        "shard": {"id": shard_id, "of": num_shards},
        "chunks": {"labelled": len(todo), "reused": reused},
        "splits": stats,
        "utterances": sum(s["utterances"] for s in stats.values()),
        "hours": audio_seconds / 3600,
        "frames": sum(s["frames"] for s in stats.values()),
        "skipped": skipped,
        "seconds": time.perf_counter() - t0,
        "label_seconds": label_seconds,
        "realtime_factor": audio_seconds / label_seconds if label_seconds > 0 and audio_seconds else None,
        "merged": merged,
    }
    if verbose:
        print(format_summary(summary))
    return summary


def format_summary(s: dict, max_skips: int = 10) -> str:
    lines = [f"labels [{s['source']}, {s['num_classes']} classes, {s['label_rate']} Hz] -> {s['out_dir']}"]
    if s["shard"]["of"] > 1:
        lines.append(f"  shard {s['shard']['id']} of {s['shard']['of']}")
    lines.append(f"  chunks labelled {s['chunks']['labelled']}, reused from an earlier run {s['chunks']['reused']}")
    for split, st in s["splits"].items():
        lines.append(f"  {split:<12} {st['utterances']:>7} utts  {st['seconds'] / 3600:8.3f} h  {st['frames']:>10} frames"
                     f"  skipped {st['skipped']}")
    rtf = f"{s['realtime_factor']:.0f}x real time" if s["realtime_factor"] else "n/a"
    lines.append(f"  total {s['utterances']} utterances, {s['hours']:.3f} h, {s['frames']} frames in "
                 f"{s['seconds']:.1f} s ({rtf})")
    if s["skipped"]:
        lines.append(f"  skipped {len(s['skipped'])}:")
        for sk in s["skipped"][:max_skips]:
            lines.append(f"    {sk['split']}/{sk['utt']}: {sk['reason']}")
        if len(s["skipped"]) > max_skips:
            lines.append(f"    ... {len(s['skipped']) - max_skips} more (see labels.json)")
    lines.append("  merged: label store complete" if s["merged"] else
                 "  merged: no (waiting for the other shards; rerun any shard after they finish to merge)")
    return "\n".join(lines)
