"""HuBERT span masking as fairseq's `compute_mask_indices` (mask_type static, no overlap constraint).

Per utterance of `n` frames: `int(p * n / L + u)` span starts (u ~ U[0,1) per row, at least
`min_masks`), drawn without replacement among the valid starts; each span covers L frames. As in
fairseq's `require_same_masks`, every row then keeps the same number of masked frames (the batch
minimum, a random subset), so the masked-prediction loss weighs every utterance alike.

With a fixed `count` (fixed-shape batches, `data.length_buckets`) every row masks exactly `count` frames,
`expected_masked` of the bucket's length: rows short of it get more spans, then all are thinned to it, so
the masked-frame index has one shape per bucket and a compiled step is not rebuilt for each batch.

Differences from fairseq, on purpose: starts are drawn from all `n - L + 1` valid positions (fairseq
omits the last one), and an utterance shorter than one span (n < L) gets one span covering it whole
instead of relying on negative index arithmetic.
"""

from __future__ import annotations

import numpy as np


def expected_masked(n: int, mask_prob: float, mask_length: int, min_masks: int) -> int:
    """Distinct frames the spans of `compute_mask` cover on average in an utterance of `n` frames: each of
    p * n / L spans misses a given frame with probability about 1 - L / n."""
    if n <= 0:
        return 0
    span = min(mask_length, n)
    num = max(min_masks, mask_prob * n / mask_length)
    return max(1, min(n, int(n * (1.0 - (1.0 - span / n) ** num))))


def compute_mask(
    lengths: list[int] | np.ndarray,
    max_len: int,
    mask_prob: float,
    mask_length: int,
    min_masks: int,
    rng: np.random.Generator,
    same_count: bool = True,
    count: int | None = None,
) -> np.ndarray:
    """Boolean (batch, max_len) mask; only positions < lengths[b] are ever masked. `count`: exactly that
    many masked frames in every row (at most the shortest row's length)."""
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
        if count is None:
            starts = rng.choice(starts_available, num, replace=False)
        else:  # a random order of every start: the first `num` as above, the next ones to top up to `count`
            order = rng.permutation(starts_available)
            covered = np.zeros(n, dtype=bool)
            covered[(order[:num, None] + np.arange(span)).ravel()] = True
            have = int(covered.sum())
            while num < starts_available and have < count:
                have += int(span - covered[order[num] : order[num] + span].sum())
                covered[order[num] : order[num] + span] = True
                num += 1
            starts = order[:num]
        rows.append(np.unique((starts[:, None] + np.arange(span)[None, :]).ravel()))
    if count is not None:
        keep = min([count] + [len(r) for r in rows if len(r)])
        rows = [r if len(r) <= keep else rng.choice(r, keep, replace=False) for r in rows]
    elif same_count:
        keep = min((len(r) for r in rows if len(r)), default=0)
        rows = [r if len(r) <= keep else rng.choice(r, keep, replace=False) for r in rows]
    for b, idx in enumerate(rows):
        mask[b, idx] = True
    return mask
