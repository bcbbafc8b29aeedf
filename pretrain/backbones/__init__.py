"""Pre-training backbones behind one interface (`pretrain.backbones.base.Backbone`): `model.backbone`.

- `hubert` (default): transformers' HubertModel, waveform CNN + Transformer, 50 Hz;
- `w2v-bert`: Wav2Vec2BertModel, fbank Conformer, 50 Hz;
- `fastconformer`: ParakeetEncoder, log-mel FastConformer with 8x subsampling, 12.5 Hz.
"""

from __future__ import annotations

from pretrain.backbones.base import Backbone, resolve_arch
from pretrain.backbones.fastconformer import FastConformerBackbone
from pretrain.backbones.hubert import HubertBackbone
from pretrain.backbones.w2v_bert import W2vBertBackbone

BACKBONES: dict[str, type[Backbone]] = {
    "hubert": HubertBackbone,
    "w2v-bert": W2vBertBackbone,
    "fastconformer": FastConformerBackbone,
}


def backbone_class(name: str) -> type[Backbone]:
    if name not in BACKBONES:
        raise ValueError(f"model.backbone '{name}' unknown (choose from {', '.join(BACKBONES)})")
    return BACKBONES[name]


def build_backbone(cfg) -> Backbone:
    return backbone_class(cfg.backbone)(cfg)


def load_backbone(folder, cfg) -> Backbone:
    return backbone_class(cfg.backbone).from_pretrained(folder, cfg)


__all__ = ["BACKBONES", "Backbone", "backbone_class", "build_backbone", "load_backbone", "resolve_arch"]
