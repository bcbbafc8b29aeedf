"""CTC over masked spans (CTCBERT, Fan et al., ICASSP 2023): pure functions, no parameters.

For every maximal run of masked frames with labels (a *span*), the target is the span's label
sequence with consecutive repeats collapsed (`5 5 5 2 2 7` -> `5 2 7`), and the loss is CTC between
the span's frame logits (the K cosine logits plus one blank logit) and that sequence. The frame
labels' exact boundaries then no longer matter, only their order inside the span: misaligned
targets (a teacher's tokens a frame or two off, k-means label jitter) cost less.

All spans of a batch go through one `torch.nn.functional.ctc_loss` call (padded to the longest span).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pretrain.model import IGNORE


def collapse_repeats(labels: torch.Tensor) -> torch.Tensor:
    """1-D labels with consecutive duplicates removed."""
    if labels.numel() == 0:
        return labels
    keep = torch.ones_like(labels, dtype=torch.bool)
    keep[1:] = labels[1:] != labels[:-1]
    return labels[keep]


def masked_spans(mask: torch.Tensor, targets: torch.Tensor) -> list[tuple[int, int, int]]:
    """(row, start, end) of every maximal run of masked frames whose target is not IGNORE."""
    use = (mask & (targets != IGNORE)).cpu()
    spans = []
    for b in range(use.shape[0]):
        row = use[b].to(torch.int8)
        edges = torch.diff(row, prepend=row.new_zeros(1), append=row.new_zeros(1))
        starts = torch.nonzero(edges == 1).flatten().tolist()
        ends = torch.nonzero(edges == -1).flatten().tolist()
        spans.extend((b, s, e) for s, e in zip(starts, ends))
    return spans


def span_ctc(logits: torch.Tensor, blank_logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
             ) -> tuple[torch.Tensor, int, int]:
    """(summed CTC loss over all spans, number of spans, number of frames in them).

    logits: (B, T, K) class logits of every frame; blank_logits: (B, T) the blank's logit;
    targets: (B, T) class ids in [0, K) or IGNORE; mask: (B, T) bool, True where masked.
    The blank is class K of the (K + 1)-way softmax.
    """
    K = logits.shape[-1]
    spans = masked_spans(mask, targets)
    if not spans:
        return logits.sum() * 0.0, 0, 0
    full = torch.cat([logits.float(), blank_logits.float()[..., None]], dim=-1).log_softmax(-1)  # (B, T, K+1)
    longest = max(e - s for _, s, e in spans)
    inputs = full.new_zeros(longest, len(spans), K + 1)
    in_lens, tgt_lens, tgts = [], [], []
    for j, (b, s, e) in enumerate(spans):
        inputs[: e - s, j] = full[b, s:e]
        tgt = collapse_repeats(targets[b, s:e])
        tgts.append(tgt)
        in_lens.append(e - s)
        tgt_lens.append(len(tgt))
    loss = F.ctc_loss(inputs, torch.cat(tgts).to(logits.device), torch.tensor(in_lens), torch.tensor(tgt_lens),
                      blank=K, reduction="sum", zero_infinity=True)
    return loss, len(spans), sum(in_lens)
