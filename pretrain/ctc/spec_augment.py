"""SpecAugment (Park et al. 2019) on normalised log-mel inputs, as NeMo/ESPnet train their CTC models.

Frequency and time bands are set to 0, the per-feature mean after the feature extractor's
normalisation. Masks come from a generator seeded by the data position, so a resumed run draws the
same masks as an uninterrupted one. Waveform models (`--init`) use the model's own masking instead
(`mask_time_prob` / `mask_feature_prob` in `init_overrides`).
"""

from __future__ import annotations

import torch


def spec_augment(feats: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator, freq_masks: int = 2,
                 freq_width: int = 15, time_masks: int = 2, time_width: float = 0.05) -> torch.Tensor:
    """(batch, frames, bins) features -> a masked copy. `time_width` is a fraction of each row's valid length."""
    out = feats.clone()
    batch, frames, bins = out.shape
    lengths = mask.sum(-1).tolist() if mask is not None else [frames] * batch
    for b in range(batch):
        for _ in range(freq_masks):
            w = int(torch.randint(0, freq_width + 1, (1,), generator=generator))
            f0 = int(torch.randint(0, max(1, bins - w), (1,), generator=generator))
            out[b, :, f0 : f0 + w] = 0.0
        n = int(lengths[b])
        max_w = max(1, int(time_width * n))
        for _ in range(time_masks):
            w = int(torch.randint(0, max_w + 1, (1,), generator=generator))
            t0 = int(torch.randint(0, max(1, n - w), (1,), generator=generator))
            out[b, t0 : t0 + w, :] = 0.0
    return out
