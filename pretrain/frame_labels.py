"""Labels at a backbone's frame rate: 50 Hz labels pooled to coarser frames (fastconformer's 80 ms).

Rule (majority pooling): output frame j covers the `factor` 50 Hz frames factor*j .. factor*j + factor-1
(for 80 ms frames, factor 4: the same 1280-sample hop grid, frame j starting at sample 1280 j). Its
label is the most frequent label among those frames that exist; a tie goes to the label that comes
first in time. A 50 Hz sequence one frame short (the label store's tolerance) is extended by its last
label where a group would otherwise be empty. Exactly `num_frames(n, rate)` labels come out, as for every label sequence of the
project: frame 4j always exists at 50 Hz because 4 * floor((n-400)/1280) <= floor((n-400)/320).

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
    need = factor * (n_out - 1) + 1 if n_out else 0  # the first frame of the last group
    if len(labels50) < need - 1 or (len(labels50) == 0 and need):
        raise ValueError(f"{len(labels50)} labels at 50 Hz cannot cover {n_out} frames of {factor} labels")
    if len(labels50) < need:  # a source one frame short (within the label store's tolerance): repeat the last
        labels50 = np.concatenate([labels50, labels50[-1:]])
    groups = np.full(n_out * factor, -1, dtype=np.int64)
    take = min(len(labels50), n_out * factor)
    groups[:take] = labels50[:take]
    groups = groups.reshape(n_out, factor)
    # votes[j, c]: how many frames of group j carry the label at position c (missing frames vote for nothing)
    votes = (groups[:, :, None] == groups[:, None, :]).sum(-1)
    votes[groups < 0] = -1
    best = votes.argmax(1)  # first maximum: the earliest of tied labels
    return groups[np.arange(n_out), best].astype(labels50.dtype, copy=False)
