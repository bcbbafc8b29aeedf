"""Length-bucketed batches, and decoding a manifest's audio in them, in background threads, skipping bad files.

`sort_by_length` + `pack_by_length` are the one length-bucketing batcher of the project: labeling,
features (encoder pieces), CTC inference, CTC training and pre-training all group their items with it,
each with its own order (ascending or descending, seeded ties) and padding rule.

`iter_audio_batches` is shared by the labeling run and the k-means fit so both read audio the same way: soundfile decode
through `labelers.corpus.audio.load_audio`, an AudioError becomes a `Skip` with its reason (never a crash),
and a file whose decoded length disagrees with the manifest is skipped rather than mislabelled.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from labelers.corpus.audio import AudioError, load_audio
from labelers.corpus.frames import SAMPLE_RATE, num_frames
from labelers.corpus.label_store import Skip
from labelers.corpus.manifest import Manifest


@dataclass
class AudioBatch:
    indices: list[int]  # manifest rows, in the order of `wavs`
    wavs: list  # decoded waveforms, or `transform(waveform)` when a transform was given
    skips: dict[int, Skip]  # manifest row -> why it could not be decoded


def sort_by_length(lengths: Sequence[int], indices: Sequence[int] | None = None, *, descending: bool = False,
                   tie_break: Sequence[float] | None = None) -> list[int]:
    """`indices` (default: all) ordered by length; equal lengths by `tie_break[i]` (e.g. seeded random
    numbers), then by index. Descending keeps equal lengths in index order too."""
    rows = range(len(lengths)) if indices is None else indices
    if descending:
        return sorted(rows, key=lambda i: (-lengths[i], i))
    if tie_break is None:
        return sorted(rows, key=lambda i: (lengths[i], i))
    return sorted(rows, key=lambda i: (lengths[i], tie_break[i], i))


def pack_by_length(order: Sequence[int], lengths: Sequence[int], budget: float, *, crop: bool = False,
                   max_batch_size: int = 0, same_length: bool = False) -> list[list[int]]:
    """Cut `order` greedily into batches of at most `budget` padded samples, keeping the order.

    A batch costs (its size) x (the length every member is padded to: the longest, or with `crop` the
    shortest, to which all are cropped). A new batch starts when the next item would exceed the budget,
    when `max_batch_size` (0 = no cap) items are in, or with `same_length` when its length differs from
    the previous item's (models that normalise over time cannot be padded). A single item longer than
    the budget is a batch on its own.
    """
    batches, cur, width = [], [], 0
    for i in order:
        n = int(lengths[i])
        if cur:
            grown = min(width, n) if crop else max(width, n)
            if (grown * (len(cur) + 1) > budget or (max_batch_size and len(cur) >= max_batch_size)
                    or (same_length and n != int(lengths[cur[-1]]))):
                batches.append(cur)
                cur = []
            else:
                width = grown
        if not cur:
            width = n
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def length_batches(lengths: Sequence[int], indices: Sequence[int], batch_seconds: float) -> list[list[int]]:
    """Group rows sorted by length so that (longest in batch) x (batch size) <= batch_seconds.

    Deterministic for a given input; a single utterance longer than the budget is a batch on its own.
    """
    budget = max(1, int(batch_seconds * SAMPLE_RATE))
    return pack_by_length(sort_by_length(lengths, indices), lengths, budget)


def load_checked(manifest: Manifest, i: int, rate: float | None) -> np.ndarray | Skip:
    """Audio of row i, or a Skip saying why not. `rate`: the label rate whose frame count must agree."""
    try:
        wav = load_audio(manifest.path(i))
    except AudioError as e:
        return Skip(e.reason)
    except Exception as e:  # a corpus-wide run records the unexpected too, and goes on
        return Skip(f"cannot load audio ({type(e).__name__}: {e})")
    expected = manifest.num_samples[i]
    if len(wav) != expected and (rate is None or num_frames(len(wav), rate) != num_frames(expected, rate)):
        return Skip(f"decoded {len(wav)} samples but the manifest says {expected}; re-create the manifest")
    return wav


def _load_and_transform(manifest: Manifest, i: int, rate: float | None, transform):
    item = load_checked(manifest, i, rate)
    if transform is None or isinstance(item, Skip):
        return item
    return transform(item)


def iter_audio_batches(
    manifest: Manifest,
    indices: Sequence[int],
    batch_seconds: float,
    *,
    rate: float | None = None,
    num_workers: int | None = None,
    prefetch_batches: int = 2,
    transform=None,
) -> Iterator[AudioBatch]:
    """Yield length-sorted batches of decoded audio for `indices`, decoding ahead in threads.

    `transform(wav)`, when given, also runs in the decoding threads (e.g. CPU feature extraction:
    torch ops release the GIL, so utterances are featurised in parallel).
    """
    batches = length_batches(manifest.num_samples, indices, batch_seconds)
    workers = num_workers if num_workers is not None else min(4, os.cpu_count() or 1)
    if workers <= 0:
        for rows in batches:
            yield _collect(rows, [_load_and_transform(manifest, i, rate, transform) for i in rows])
        return
    # soundfile and resampling release the GIL, so threads overlap decoding with feature work.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        pending: list = []
        it = iter(batches)
        for rows in it:
            pending.append((rows, [pool.submit(_load_and_transform, manifest, i, rate, transform) for i in rows]))
            if len(pending) > prefetch_batches:
                break
        while pending:
            rows, futs = pending.pop(0)
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, [pool.submit(_load_and_transform, manifest, i, rate, transform) for i in nxt]))
            yield _collect(rows, [f.result() for f in futs])


def _collect(rows: list[int], items: list[np.ndarray | Skip]) -> AudioBatch:
    batch = AudioBatch([], [], {})
    for i, item in zip(rows, items):
        if isinstance(item, Skip):
            batch.skips[i] = item
        else:
            batch.indices.append(i)
            batch.wavs.append(item)
    return batch
