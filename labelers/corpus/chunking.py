"""Cutting long audio into pieces an encoder can take, and stitching the per-piece frames back.

One `Chunk` type and one `stitch` for every encoder; two ways to plan the cut:
- `plan_chunks`: fixed-length windows overlapping by a few seconds; each seam keeps the earlier
  window's frames up to the middle of the overlap and the later one's from there (CTC posteriors,
  whose models may have any frame geometry).
- `plan_context_chunks`: a core of whole frames on the frame grid, encoded with `context_frames` of
  extra audio on both sides that is discarded (HuBERT-style features at `hop`; the stitched frame
  count is exactly `num_frames(n)`, where fairseq's plain concatenation loses a frame per cut).
Chunk starts are whole multiples of the hop, so a chunk's local frame j is global frame start/hop + j.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labelers.corpus.frames import SAMPLE_RATE, WINDOW, num_frames


@dataclass(frozen=True)
class Chunk:
    start: int  # first sample
    end: int  # one past the last sample
    keep_from: int  # first frame (local to the chunk) that goes into the stitched output
    keep_to: int | None  # one past the last kept local frame; None = to the chunk's end


def plan_chunks(num_samples: int, chunk_samples: int, overlap_samples: int, hop: int) -> list[Chunk]:
    """Cut [0, num_samples) into chunks of `chunk_samples` overlapping by `overlap_samples`.

    Each seam keeps the earlier chunk's frames up to the middle of the overlap and the later chunk's
    from there on: both sides lose the frames whose context was cut off.
    """
    if num_samples <= chunk_samples:
        return [Chunk(0, num_samples, 0, None)]
    overlap_frames = max(2, (overlap_samples // hop) // 2 * 2)
    step = (chunk_samples // hop) * hop - overlap_frames * hop
    if step <= 0:
        raise ValueError(f"chunk ({chunk_samples} samples) must be longer than the overlap ({overlap_frames * hop})")
    starts = [0]
    while starts[-1] + chunk_samples < num_samples:
        starts.append(starts[-1] + step)
    half = overlap_frames // 2
    chunks = []
    for i, s in enumerate(starts):
        last = i == len(starts) - 1
        end = num_samples if last else s + chunk_samples
        keep_from = 0 if i == 0 else half
        keep_to = None if last else (starts[i + 1] - s) // hop + half
        chunks.append(Chunk(s, end, keep_from, keep_to))
    return chunks


def plan_context_chunks(num_samples: int, hop: int, chunk_frames: int, context_frames: int) -> list[Chunk]:
    """Cores of `chunk_frames` frames covering all `num_frames(num_samples)` frames at `hop`, each
    read with up to `context_frames` frames of audio before and after; empty below one window."""
    total = num_frames(num_samples, SAMPLE_RATE / hop)
    chunks = []
    for a in range(0, total, chunk_frames):
        b = min(total, a + chunk_frames)
        a0 = max(0, a - context_frames)
        end = min(num_samples, hop * (b + context_frames - 1) + WINDOW)
        chunks.append(Chunk(hop * a0, end, a - a0, b - a0))
    return chunks


def stitch(pieces: list, chunks: list[Chunk], hop: int, total_frames: int):
    """Join per-chunk (frames, D) matrices (numpy or torch) into one (total_frames, D) matrix.

    A conv tail may give a frame less than the whole-utterance formula: the last frame is repeated.
    """
    is_torch = isinstance(pieces[0], torch.Tensor)
    if len(chunks) == 1:
        out = pieces[0]
    else:
        parts = []
        for piece, c in zip(pieces, chunks):
            g0 = c.start // hop
            keep_to = piece.shape[0] if c.keep_to is None else min(c.keep_to, piece.shape[0])
            want_from = sum(p.shape[0] for p in parts)  # the next global frame we need
            parts.append(piece[max(c.keep_from, want_from - g0) : keep_to])
        out = torch.cat(parts) if is_torch else np.concatenate(parts, axis=0)
    if out.shape[0] >= total_frames:
        return out[:total_frames]
    missing = total_frames - out.shape[0]
    if is_torch:
        return torch.cat([out, out[-1:].expand(missing, *out.shape[1:])])
    return np.concatenate([out, np.repeat(out[-1:], missing, axis=0)], axis=0)
