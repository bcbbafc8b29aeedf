"""Masked prediction: a backbone (`pretrain.backbones`, `model.backbone`) plus the fairseq HuBERT head.

The backbone turns a waveform batch into hidden states, with the mask embedding in place of the masked
frames (hubert: transformers' HubertModel, the default; w2v-bert; fastconformer). The head, the loss and
the masking below are the same for all of them.

Head (fairseq `HubertModel` with `untie_final_proj`): one linear `final_proj` to `final_dim` per label
set (one chunk each), one embedding table per label set, logits = cos(proj(h_t), e_c) / logit_temp over
all classes. `forward` returns the logits of the frames a loss needs (masked ones; unmasked ones only
when `pred_nomask_weight` > 0 or asked for) with their targets, the mask and the feature penalty;
the loss itself lives in `pretrain.loss` (chosen by `model.loss`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from transformers import HubertModel

from pretrain.backbones import Backbone, backbone_class, build_backbone
from pretrain.backbones.hubert import SIZES, GradMultiply, HubertBackbone, hubert_config  # noqa: F401 (compat)

from pretrain.loss import BLANK_LOSSES, PretrainOutput

IGNORE = -100  # target value of frames without a label (padding, a label sequence one frame short)


@dataclass
class ModelConfig:
    """Every field is a `model.<name>` key; architecture fields left at null come from `size`."""

    backbone: str = field(default="hubert", metadata={"help": "hubert | w2v-bert | fastconformer (pretrain.backbones)"})
    size: str = field(default="tiny", metadata={"help": "tiny | base | large (architecture preset of the backbone)"})
    hidden_size: int | None = field(default=None, metadata={"help": "transformer width (null = from size)"})
    num_hidden_layers: int | None = field(default=None, metadata={"help": "transformer layers (null = from size)"})
    num_attention_heads: int | None = field(default=None, metadata={"help": "attention heads (null = from size)"})
    intermediate_size: int | None = field(default=None, metadata={"help": "feed-forward width (null = from size)"})
    conv_dim: list[int] | None = field(default=None, metadata={"help": "hubert: CNN channels per layer (null = from size)"})
    final_dim: int | None = field(default=None, metadata={"help": "projection dim of the head (base 256, large 768)"})
    dropout: float = field(default=0.1, metadata={"help": "transformer dropout"})
    attention_dropout: float = field(default=0.1, metadata={"help": "attention dropout"})
    activation_dropout: float = field(default=0.0, metadata={"help": "feed-forward activation dropout"})
    dropout_input: float = field(default=0.1, metadata={"help": "dropout after the feature projection"})
    layerdrop: float = field(default=0.05, metadata={"help": "encoder LayerDrop probability"})
    feature_grad_mult: float = field(default=0.1, metadata={"help": "gradient scale into the CNN (0 = frozen)"})
    feature_pen_weight: float = field(default=10.0, metadata={"help": "weight of mean(CNN features^2)"})
    mask_prob: float = field(default=0.8, metadata={"help": "masking probability (span starts = p*T/L)"})
    mask_length: int = field(default=10, metadata={"help": "mask span length in frames of the backbone (20 ms; fastconformer 80 ms)"})
    min_masks: int = field(default=2, metadata={"help": "minimum spans per utterance"})
    logit_temp: float = field(default=0.1, metadata={"help": "cosine logit temperature"})
    pred_masked_weight: float = field(default=1.0, metadata={"help": "loss weight of masked frames"})
    pred_nomask_weight: float = field(default=0.0, metadata={"help": "loss weight of unmasked frames"})
    loss: str = field(default="ce", metadata={"help": "pre-training loss, a name in pretrain.loss.LOSSES (ce, ctc)"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "recompute activations in backward"})

    def arch(self) -> dict:
        """The backbone's size preset with the `model.<key>` overrides applied."""
        from pretrain.backbones import resolve_arch

        return resolve_arch(backbone_class(self.backbone), self)


class HubertPretrainModel(nn.Module):
    """Backbone (`self.backbone`, a pretrain.backbones.Backbone) + masked-prediction head for one or more label sets."""

    def __init__(self, cfg: ModelConfig, num_classes: list[int], backbone: Backbone | HubertModel | None = None):
        super().__init__()
        if not num_classes:
            raise ValueError("at least one label set is needed")
        self.cfg = cfg
        self.num_classes = list(num_classes)
        self.final_dim = cfg.arch()["final_dim"]
        if isinstance(backbone, HubertModel):
            backbone = HubertBackbone(cfg, backbone)
        self.backbone = backbone if backbone is not None else build_backbone(cfg)
        if cfg.gradient_checkpointing:
            self.backbone.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        hidden = self.backbone.hidden_size
        self.final_proj = nn.Linear(hidden, self.final_dim * len(num_classes))
        # `model.loss: ctc` adds a learned blank embedding per label set as its last row (last logit column)
        extra = 1 if cfg.loss in BLANK_LOSSES else 0
        self.label_embs = nn.ModuleList(nn.Embedding(k + extra, self.final_dim) for k in num_classes)
        for emb in self.label_embs:
            nn.init.uniform_(emb.weight)  # fairseq: label_embs_concat ~ U(0, 1)

    @property
    def hubert(self) -> nn.Module:
        """The transformers model inside the backbone (what `hf/` holds); named for the default backbone."""
        return self.backbone.model

    def encode(self, wav: torch.Tensor, wav_lengths: torch.Tensor | None, mask: torch.Tensor | None):
        """Returns (last hidden states (B, T, D), feature penalty, frame padding mask or None).

        `wav_lengths` (samples) is given only for padded batches; `mask` is at the backbone's frame rate.
        """
        return self.backbone.encode(wav, wav_lengths, mask)

    # ------------------------------------------------------------------ head

    def logits(self, h: torch.Tensor, which: int) -> torch.Tensor:
        """(N, D) hidden states -> (N, K) cosine logits for label set `which`."""
        proj = self.final_proj(h).chunk(len(self.num_classes), dim=-1)[which]
        emb = self.label_embs[which].weight
        cos = F.normalize(proj.float(), dim=-1, eps=1e-8) @ F.normalize(emb.float(), dim=-1, eps=1e-8).T
        return cos / self.cfg.logit_temp

    def forward(self, wav, targets: list[torch.Tensor], mask: torch.Tensor, wav_lengths=None, with_unmasked=None,
                per_frame: bool = False, mask_index: torch.Tensor | None = None) -> PretrainOutput:
        """What a loss in `pretrain.loss` needs. `targets[i]` is (B, T) class ids at the backbone's frame rate,
        IGNORE where there is no label; `wav_lengths` (samples) only for padded batches. Only the frames the loss uses go through the projection and the logits: masked ones
        (unless their weight is 0 in training), unmasked ones if `with_unmasked` (default: their weight
        > 0), every frame as (B, T, K) if `per_frame`.

        `mask_index` (B, M): the masked frames of each row, all labelled (what `pretrain.data` gives). The
        masked frames are then gathered with it: fixed shapes and no host-device synchronisation, where
        boolean selection needs the count on the host. Without it, `mask & labelled` selects them."""
        if len(targets) != len(self.num_classes):
            raise ValueError(f"{len(targets)} target sets given, the head has {len(self.num_classes)}")
        h, pen, attn = self.encode(wav, wav_lengths, mask)
        T = h.shape[1]
        mask = mask[:, :T]
        targets = [t[:, :T] for t in targets]
        with_unmasked = self.cfg.pred_nomask_weight > 0 if with_unmasked is None else with_unmasked
        labelled = torch.stack([t != IGNORE for t in targets]).all(0)
        sel_m = mask & labelled
        sel_u = (~mask) & labelled
        with_masked = self.cfg.pred_masked_weight > 0 or not self.training
        if mask_index is not None:
            B, M = mask_index.shape
            h_m = h.gather(1, mask_index[..., None].expand(B, M, h.shape[-1])).reshape(B * M, -1)
            target_m = [t.gather(1, mask_index).reshape(-1) for t in targets]
        else:
            h_m = h[sel_m] if with_masked else None
            target_m = [t[sel_m] for t in targets]
        h_u = h[sel_u] if with_unmasked else None
        n = range(len(targets))
        return PretrainOutput(
            feature_pen=pen, mask=mask, padding=None if attn is None else ~attn, targets=targets,
            logit_m=[self.logits(h_m, i) for i in n] if with_masked else None,
            target_m=target_m,
            logit_u=[self.logits(h_u, i) for i in n] if with_unmasked else None,
            target_u=[t[sel_u] for t in targets] if with_unmasked else None,
            logits=[self.logits(h, i) for i in n] if per_frame else None,
        )

    def head_state(self) -> dict:
        return {"final_proj": self.final_proj.state_dict(), "label_embs": [e.state_dict() for e in self.label_embs],
                "backbone_extra": self.backbone.extra_state()}

    def head_config(self) -> dict:
        return {"num_classes": self.num_classes, "final_dim": self.final_dim, "model": asdict(self.cfg)}
