"""Labels at a backbone's frame rate: 50 Hz labels pooled to coarser frames (fastconformer's 80 ms).

Rule (majority pooling): the 50 Hz frames that belong to output frame j are those whose nearest 80 ms
frame is j by the project's frame-centre rule (`labelers.corpus.frames.frames_at_rate`, every rate's
frame 0 centred at 200 samples): 50 Hz frames 4j-1 .. 4j+2 (for factor 4; generally factor*j -
factor//2 + 1 .. factor*j + factor//2). Frame j's label is the most frequent label among those frames
that exist; a tie goes to the label that comes first in time. Pooled labels re-timed back to 50 Hz by
the centre rule and pooled again are unchanged, and exactly `num_frames(n, rate)` labels come out, as
for every label sequence of the project (every group holds at least one existing frame).

What it costs in label quality is measured by PNMI against reference phones before and after pooling
(`scripts/label_rate_cost.py`, figures in docs/backbones.md): a phone shorter than 80 ms can lose every
frame it had.
"""

from __future__ import annotations

import numpy as np

BASE_RATE = 50.0


def pool_factor(frame_rate: float) -> int:
    factor = BASE_RATE / frame_rate
    if frame_rate <= 0 or not float(factor).is_integer():
        raise ValueError(f"frame rate {frame_rate} Hz is not 50 Hz divided by a whole number")
    return int(factor)


def pool_labels(labels50: np.ndarray, factor: int, n_out: int) -> np.ndarray:
    """`n_out` labels, each the majority label of its `factor` 50 Hz frames (ties: earliest)."""
    labels50 = np.asarray(labels50)
    if factor == 1:
        return labels50[:n_out].copy()
    lead = factor // 2 - 1  # frames of group j before frame factor*j
    need = factor * (n_out - 1) - lead + 1 if n_out else 0  # the first frame of the last group
    if len(labels50) < need - 1 or (n_out and not len(labels50)):
        raise ValueError(f"{len(labels50)} labels at 50 Hz cannot cover {n_out} frames of {factor} labels")
    groups = np.full(lead + n_out * factor, -1, dtype=np.int64)
    take = min(len(labels50), n_out * factor - lead)
    groups[lead : lead + take] = labels50[:take]
    groups = groups[: n_out * factor].reshape(n_out, factor)
    if n_out and (groups[-1] < 0).all():  # a source one frame short (the store's tolerance): repeat its last
        groups[-1, 0] = labels50[-1]
    # votes[j, c]: how many frames of group j carry the label at position c (missing frames vote for nothing)
    votes = (groups[:, :, None] == groups[:, None, :]).sum(-1)
    votes[groups < 0] = -1
    best = votes.argmax(1)  # first maximum: the earliest of tied labels
    return groups[np.arange(n_out), best].astype(labels50.dtype, copy=False)
