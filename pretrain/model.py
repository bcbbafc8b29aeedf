"""HuBERT for masked prediction: a `transformers.HubertModel` backbone plus the fairseq pre-training head.

The backbone's pieces are run one by one (CNN -> projection -> mask -> encoder) because pre-training
needs things `HubertModel.forward` does not offer: a scaled gradient into the CNN (feature_grad_mult),
the feature penalty on the raw CNN output, and the hidden states of the frames the loss uses.

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
from transformers import HubertConfig, HubertModel

from pretrain.loss import BLANK_LOSSES, PretrainOutput

IGNORE = -100  # target value of frames without a label (padding, a label sequence one frame short)

# Backbone sizes. base / large follow fairseq's hubert_base_librispeech / hubert_large_ll60k.
SIZES: dict[str, dict] = {
    "tiny": dict(hidden_size=96, num_hidden_layers=2, num_attention_heads=4, intermediate_size=384,
                 conv_dim=(64,) * 7, num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=8,
                 feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False, final_dim=64),
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 conv_dim=(512,) * 7, num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16,
                 feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False, final_dim=256),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  conv_dim=(512,) * 7, num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16,
                  feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, final_dim=768),
}


@dataclass
class ModelConfig:
    """Every field is a `model.<name>` key; architecture fields left at null come from `size`."""

    size: str = field(default="tiny", metadata={"help": "tiny | base | large (architecture preset)"})
    hidden_size: int | None = field(default=None, metadata={"help": "transformer width (null = from size)"})
    num_hidden_layers: int | None = field(default=None, metadata={"help": "transformer layers (null = from size)"})
    num_attention_heads: int | None = field(default=None, metadata={"help": "attention heads (null = from size)"})
    intermediate_size: int | None = field(default=None, metadata={"help": "feed-forward width (null = from size)"})
    conv_dim: list[int] | None = field(default=None, metadata={"help": "CNN channels per layer (null = from size)"})
    final_dim: int | None = field(default=None, metadata={"help": "projection dim of the head (base 256, large 768)"})
    dropout: float = field(default=0.1, metadata={"help": "transformer dropout"})
    attention_dropout: float = field(default=0.1, metadata={"help": "attention dropout"})
    activation_dropout: float = field(default=0.0, metadata={"help": "feed-forward activation dropout"})
    dropout_input: float = field(default=0.1, metadata={"help": "dropout after the feature projection"})
    layerdrop: float = field(default=0.05, metadata={"help": "encoder LayerDrop probability"})
    feature_grad_mult: float = field(default=0.1, metadata={"help": "gradient scale into the CNN (0 = frozen)"})
    feature_pen_weight: float = field(default=10.0, metadata={"help": "weight of mean(CNN features^2)"})
    mask_prob: float = field(default=0.8, metadata={"help": "masking probability (span starts = p*T/L)"})
    mask_length: int = field(default=10, metadata={"help": "mask span length in frames"})
    min_masks: int = field(default=2, metadata={"help": "minimum spans per utterance"})
    logit_temp: float = field(default=0.1, metadata={"help": "cosine logit temperature"})
    pred_masked_weight: float = field(default=1.0, metadata={"help": "loss weight of masked frames"})
    pred_nomask_weight: float = field(default=0.0, metadata={"help": "loss weight of unmasked frames"})
    loss: str = field(default="ce", metadata={"help": "pre-training loss, a name in pretrain.loss.LOSSES (ce, ctc)"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "recompute activations in backward"})

    def arch(self) -> dict:
        if self.size not in SIZES:
            raise ValueError(f"model.size '{self.size}' unknown (choose from {sorted(SIZES)})")
        arch = dict(SIZES[self.size])
        for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "conv_dim", "final_dim"):
            if getattr(self, k) is not None:
                arch[k] = tuple(getattr(self, k)) if k == "conv_dim" else getattr(self, k)
        return arch


def hubert_config(cfg: ModelConfig) -> HubertConfig:
    """The backbone's HubertConfig: SDPA attention, standard 400-sample / 320-hop CNN."""
    arch = cfg.arch()
    arch.pop("final_dim")
    return HubertConfig(
        **arch,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        hidden_act="gelu",
        hidden_dropout=cfg.dropout,
        attention_dropout=cfg.attention_dropout,
        activation_dropout=cfg.activation_dropout,
        feat_proj_dropout=cfg.dropout_input,
        feat_proj_layer_norm=True,
        layerdrop=cfg.layerdrop,
        # mask_time_prob > 0 makes HubertModel own `masked_spec_embed`; masks themselves come from pretrain.masking.
        mask_time_prob=cfg.mask_prob,
        mask_time_length=cfg.mask_length,
        mask_time_min_masks=cfg.min_masks,
        attn_implementation="sdpa",
    )


class GradMultiply(torch.autograd.Function):
    """Identity forward, gradient x scale backward (fairseq GradMultiply)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


class HubertPretrainModel(nn.Module):
    """Backbone (`self.hubert`, a HubertModel) + masked-prediction head for one or more label sets."""

    def __init__(self, cfg: ModelConfig, num_classes: list[int], backbone: HubertModel | None = None):
        super().__init__()
        if not num_classes:
            raise ValueError("at least one label set is needed")
        self.cfg = cfg
        self.num_classes = list(num_classes)
        self.final_dim = cfg.arch()["final_dim"]
        self.hubert = backbone if backbone is not None else HubertModel(hubert_config(cfg))
        if cfg.gradient_checkpointing:
            self.hubert.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        hidden = self.hubert.config.hidden_size
        self.final_proj = nn.Linear(hidden, self.final_dim * len(num_classes))
        # `model.loss: ctc` adds a learned blank embedding per label set as its last row (last logit column)
        extra = 1 if cfg.loss in BLANK_LOSSES else 0
        self.label_embs = nn.ModuleList(nn.Embedding(k + extra, self.final_dim) for k in num_classes)
        for emb in self.label_embs:
            nn.init.uniform_(emb.weight)  # fairseq: label_embs_concat ~ U(0, 1)

    # ------------------------------------------------------------------ backbone pieces

    def cnn_features(self, wav: torch.Tensor) -> torch.Tensor:
        """(B, S) -> (B, C, T), with the gradient into the CNN scaled by feature_grad_mult."""
        x = wav[:, None]
        mult = self.cfg.feature_grad_mult
        if mult > 0:
            for conv in self.hubert.feature_extractor.conv_layers:
                x = conv(x)
            if mult != 1.0:
                x = GradMultiply.apply(x, mult)
        else:
            with torch.no_grad():
                for conv in self.hubert.feature_extractor.conv_layers:
                    x = conv(x)
        return x

    def encode(self, wav: torch.Tensor, frame_lengths: torch.Tensor | None, mask: torch.Tensor | None):
        """Returns (last hidden states (B, T, D), feature penalty, frame padding mask or None)."""
        feats = self.cnn_features(wav)
        pen = feats.float().pow(2).mean()
        x = self.hubert.feature_projection(feats.transpose(1, 2))
        T = x.shape[1]
        attn = None
        if frame_lengths is not None and bool((frame_lengths < T).any()):
            attn = torch.arange(T, device=x.device)[None, :] < frame_lengths[:, None]
        if mask is not None:
            mask = mask[:, :T]
            x = torch.where(mask[..., None], self.hubert.masked_spec_embed.to(x.dtype), x)
        h = self.hubert.encoder(x, attention_mask=attn).last_hidden_state
        return h, pen, attn

    # ------------------------------------------------------------------ head

    def logits(self, h: torch.Tensor, which: int) -> torch.Tensor:
        """(N, D) hidden states -> (N, K) cosine logits for label set `which`."""
        proj = self.final_proj(h).chunk(len(self.num_classes), dim=-1)[which]
        emb = self.label_embs[which].weight
        cos = F.normalize(proj.float(), dim=-1, eps=1e-8) @ F.normalize(emb.float(), dim=-1, eps=1e-8).T
        return cos / self.cfg.logit_temp

    def forward(self, wav, targets: list[torch.Tensor], mask: torch.Tensor, frame_lengths=None, with_unmasked=None,
                per_frame: bool = False) -> PretrainOutput:
        """What a loss in `pretrain.loss` needs. `targets[i]` is (B, T) class ids at 50 Hz, IGNORE where there
        is no label. Only the frames the loss uses go through the projection and the logits: masked ones
        (unless their weight is 0 in training), unmasked ones if `with_unmasked` (default: their weight
        > 0), every frame as (B, T, K) if `per_frame`."""
        if len(targets) != len(self.num_classes):
            raise ValueError(f"{len(targets)} target sets given, the head has {len(self.num_classes)}")
        h, pen, attn = self.encode(wav, frame_lengths, mask)
        T = h.shape[1]
        mask = mask[:, :T]
        targets = [t[:, :T] for t in targets]
        with_unmasked = self.cfg.pred_nomask_weight > 0 if with_unmasked is None else with_unmasked
        labelled = torch.stack([t != IGNORE for t in targets]).all(0)
        sel_m = mask & labelled
        sel_u = (~mask) & labelled
        with_masked = self.cfg.pred_masked_weight > 0 or not self.training
        h_m = h[sel_m] if with_masked else None
        h_u = h[sel_u] if with_unmasked else None
        n = range(len(targets))
        return PretrainOutput(
            feature_pen=pen, mask=mask, padding=None if attn is None else ~attn, targets=targets,
            logit_m=[self.logits(h_m, i) for i in n] if with_masked else None,
            target_m=[t[sel_m] for t in targets],
            logit_u=[self.logits(h_u, i) for i in n] if with_unmasked else None,
            target_u=[t[sel_u] for t in targets] if with_unmasked else None,
            logits=[self.logits(h, i) for i in n] if per_frame else None,
        )

    def head_state(self) -> dict:
        return {"final_proj": self.final_proj.state_dict(), "label_embs": [e.state_dict() for e in self.label_embs]}

    def head_config(self) -> dict:
        return {"num_classes": self.num_classes, "final_dim": self.final_dim, "model": asdict(self.cfg)}
