"""Pre-training losses: pure functions from the model's output (logits, targets, mask) to a loss and metrics.

The model (`pretrain.model.HubertPretrainModel.forward`) returns a `PretrainOutput`; the task picks a
loss from `LOSSES` by `model.loss` and calls it. A loss returns a `LossResult`:

- `loss`: this micro-batch's loss, normalised by its own `sample_size` (what fairseq would report for it);
- `sample_size`: fairseq's sample size, the frames behind the loss. The training loop weights each
  micro-batch's gradient by it and divides by the sum over every micro-batch and every process, so an
  update's gradient is that of the whole effective batch computed at once (fairseq's trainer);
- `metrics` and `weights`: per-batch values, and for each the frame count to weight it by when batches
  are pooled (masked frames for `*_m`, unmasked ones for `*_u`, the sample size for `loss`).

To add a loss: write `fn(out: PretrainOutput, cfg: ModelConfig) -> LossResult`, register it in
`LOSSES` with what it needs from the model (`per_frame=True` makes the model return (B, T, K) logits
of every frame, e.g. for a CTC loss over masked spans), and name it in `model.loss`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F


@dataclass
class PretrainOutput:
    """What the model hands to a loss. Frames are the encoder's 50 Hz frames, T of them per row."""

    feature_pen: torch.Tensor  # mean(CNN features^2), a scalar
    mask: torch.Tensor  # (B, T) bool: masked frames
    padding: torch.Tensor | None  # (B, T) bool: True where a frame is padding; None = no padding
    targets: list[torch.Tensor]  # per label set (B, T) class ids, IGNORE where there is no label
    logit_m: list[torch.Tensor] | None  # per label set (N_m, K): masked frames with a label (None = not computed)
    target_m: list[torch.Tensor] | None  # per label set (N_m,)
    logit_u: list[torch.Tensor] | None  # the same for unmasked frames with a label
    target_u: list[torch.Tensor] | None
    logits: list[torch.Tensor] | None = None  # per label set (B, T, K) for every frame (when asked for)


@dataclass
class LossResult:
    loss: torch.Tensor  # normalised by sample_size
    sample_size: int  # fairseq's sample size (0: nothing to learn from in this batch)
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)  # detached scalars
    weights: dict[str, float] = field(default_factory=dict)  # metric -> frames to weight it by when pooling


def sample_size(n_masked: int, n_unmasked: int | None, masked_weight: float, unmasked_weight: float) -> int:
    """fairseq hubert_criterion: the frames of every loss term in use (masked; unmasked if weighted).

    Counted once however many label sets there are (fairseq counts the first set's targets).
    """
    size = n_masked if masked_weight > 0 else 0
    if unmasked_weight > 0 and n_unmasked is not None:
        size += n_unmasked
    return size


def _ce_and_acc(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(summed cross-entropy, mean CE, accuracy) over the given frames; mean and accuracy 0 without frames."""
    ce = F.cross_entropy(logits, target, reduction="sum")
    n = len(target)
    acc = (logits.argmax(-1) == target).float().mean() if n else torch.tensor(0.0)
    return ce, ce / max(n, 1), acc


def masked_prediction_ce(
    logit_m: list[torch.Tensor] | None, target_m: list[torch.Tensor] | None,
    logit_u: list[torch.Tensor] | None, target_u: list[torch.Tensor] | None,
    feature_pen: torch.Tensor, *, masked_weight: float, unmasked_weight: float, feature_pen_weight: float,
) -> LossResult:
    """HuBERT's loss (fairseq hubert_criterion): cross-entropy summed over the masked frames (x masked_weight)
    and the unmasked ones (x unmasked_weight) of every label set, divided by the sample size, plus
    feature_pen_weight x the feature penalty. `logit_u` None: unmasked frames not computed (weight 0)."""
    n_m = len(target_m[0]) if target_m else 0
    n_u = len(target_u[0]) if target_u else None
    size = sample_size(n_m, n_u, masked_weight, unmasked_weight)
    denom = max(size, 1)
    loss = feature_pen_weight * feature_pen
    metrics = {"feature_pen": feature_pen.detach(), "n_masked": torch.tensor(float(n_m))}
    weights = {"feature_pen": float(size), "loss": float(size)}
    sets = len(logit_m) if logit_m is not None else len(logit_u) if logit_u is not None else 0
    for i in range(sets):
        suffix = "" if sets == 1 else f"_{i}"
        if logit_m is not None:
            ce, mean, acc = _ce_and_acc(logit_m[i], target_m[i])
            if masked_weight > 0:
                loss = loss + masked_weight * ce / denom
            metrics[f"loss_m{suffix}"], metrics[f"acc_m{suffix}"] = mean.detach(), acc.detach()
            weights[f"loss_m{suffix}"] = weights[f"acc_m{suffix}"] = float(n_m)
        if logit_u is not None:
            ce, mean, acc = _ce_and_acc(logit_u[i], target_u[i])
            if unmasked_weight > 0:
                loss = loss + unmasked_weight * ce / denom
            metrics[f"loss_u{suffix}"], metrics[f"acc_u{suffix}"] = mean.detach(), acc.detach()
            weights[f"loss_u{suffix}"] = weights[f"acc_u{suffix}"] = float(n_u)
    metrics["loss"] = loss.detach()
    return LossResult(loss, size, metrics, weights)


def ce_loss(out: PretrainOutput, cfg) -> LossResult:
    """`model.loss: ce`, HuBERT's masked prediction with the weights of `cfg` (a ModelConfig)."""
    return masked_prediction_ce(
        out.logit_m, out.target_m, out.logit_u, out.target_u, out.feature_pen,
        masked_weight=cfg.pred_masked_weight, unmasked_weight=cfg.pred_nomask_weight,
        feature_pen_weight=cfg.feature_pen_weight,
    )


def ctc_loss(out: PretrainOutput, cfg) -> LossResult:
    """`model.loss: ctc` (CTCBERT): CTC over each masked span against its label sequence with repeats
    collapsed (`pretrain.span_ctc`). The head's last logit column is the blank (the model adds one
    learned blank embedding per label set when `model.loss` is ctc). Summed over spans and label sets
    (x pred_masked_weight), divided by the masked frames in spans (the same sample size as `ce`), plus
    the feature penalty. Unmasked frames take no part."""
    from pretrain.span_ctc import span_ctc

    sets = len(out.logits)
    spans_frames = []
    results = []
    for i in range(sets):
        lg = out.logits[i]
        results.append(span_ctc(lg[..., :-1], lg[..., -1], out.targets[i], out.mask))
        spans_frames.append(results[-1][2])
    size = spans_frames[0] if cfg.pred_masked_weight > 0 else 0  # fairseq counts the first set's frames
    denom = max(size, 1)
    loss = cfg.feature_pen_weight * out.feature_pen
    metrics = {"feature_pen": out.feature_pen.detach(), "n_masked": torch.tensor(float(spans_frames[0]))}
    weights = {"feature_pen": float(size), "loss": float(size)}
    for i, (total, n_spans, n_frames) in enumerate(results):
        suffix = "" if sets == 1 else f"_{i}"
        if cfg.pred_masked_weight > 0:
            loss = loss + cfg.pred_masked_weight * total / denom
        metrics[f"ctc_m{suffix}"] = (total / max(n_frames, 1)).detach()
        weights[f"ctc_m{suffix}"] = float(n_frames)
        if out.logit_m is not None:  # frame accuracy of the best non-blank class, comparable with `ce` runs
            tm = out.target_m[i]
            acc = (out.logit_m[i][:, :-1].argmax(-1) == tm).float().mean() if len(tm) else torch.tensor(0.0)
            metrics[f"acc_m{suffix}"] = acc.detach()
            weights[f"acc_m{suffix}"] = float(len(tm))
    metrics["loss"] = loss.detach()
    return LossResult(loss, size, metrics, weights)


@dataclass(frozen=True)
class LossSpec:
    fn: Callable[[PretrainOutput, object], LossResult]
    per_frame: bool = False  # the model must return (B, T, K) logits for every frame


LOSSES: dict[str, LossSpec] = {
    "ce": LossSpec(ce_loss),
    "ctc": LossSpec(ctc_loss, per_frame=True),
}
# Losses whose head needs one extra logit per label set (its last column): the CTC blank.
BLANK_LOSSES = ("ctc",)


def compute_loss(out: PretrainOutput, cfg) -> LossResult:
    """The loss `cfg.loss` names (cfg: the ModelConfig) applied to the model's output."""
    return LOSSES[cfg.loss].fn(out, cfg)
