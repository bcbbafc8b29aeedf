"""HuBERT span masking as fairseq's `compute_mask_indices` (mask_type static, no overlap constraint).

Per utterance of `n` frames: `int(p * n / L + u)` span starts (u ~ U[0,1) per row, at least
`min_masks`), drawn without replacement among the valid starts; each span covers L frames. As in
fairseq's `require_same_masks`, every row then keeps the same number of masked frames (the batch
minimum, a random subset), so the masked-prediction loss weighs every utterance alike.

Differences from fairseq, on purpose: starts are drawn from all `n - L + 1` valid positions (fairseq
omits the last one), and an utterance shorter than one span (n < L) gets one span covering it whole
instead of relying on negative index arithmetic.
"""

from __future__ import annotations

import numpy as np


def compute_mask(
    lengths: list[int] | np.ndarray,
    max_len: int,
    mask_prob: float,
    mask_length: int,
    min_masks: int,
    rng: np.random.Generator,
    same_count: bool = True,
) -> np.ndarray:
    """Boolean (batch, max_len) mask; only positions < lengths[b] are ever masked."""
    if mask_length < 1:
        raise ValueError(f"mask_length must be >= 1, got {mask_length}")
    lengths = np.asarray(lengths, dtype=np.int64)
    mask = np.zeros((len(lengths), max_len), dtype=bool)
    if mask_prob <= 0 and min_masks <= 0:
        return mask
    rows = []
    for n in lengths.tolist():
        if n <= 0:
            rows.append(np.zeros(0, dtype=np.int64))
            continue
        span = min(mask_length, n)
        starts_available = n - span + 1
        num = max(min_masks, int(mask_prob * n / mask_length + rng.random()))
        num = min(num, starts_available)
        starts = rng.choice(starts_available, num, replace=False)
        idx = np.unique((starts[:, None] + np.arange(span)[None, :]).ravel())
        rows.append(idx)
    if same_count:
        keep = min((len(r) for r in rows if len(r)), default=0)
        rows = [r if len(r) <= keep else rng.choice(r, keep, replace=False) for r in rows]
    for b, idx in enumerate(rows):
        mask[b, idx] = True
    return mask
