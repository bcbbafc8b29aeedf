"""`hubert`: the paper's model, `transformers.HubertModel` (waveform CNN at 50 Hz + Transformer).

The pieces are run one by one (CNN -> projection -> mask -> encoder) because pre-training needs what
`HubertModel.forward` does not offer: a scaled gradient into the CNN (feature_grad_mult), the feature
penalty on the raw CNN output, and a mask applied without boolean indexing.
"""

from __future__ import annotations

import torch
from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

from pretrain.backbones.base import Backbone, check_folder, padding_mask, resolve_arch

# base / large follow fairseq's hubert_base_librispeech / hubert_large_ll60k.
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
FINETUNE_MASK_PROB = 0.05


def hubert_config(cfg) -> HubertConfig:
    """The backbone's HubertConfig: SDPA attention, standard 400-sample / 320-hop CNN."""
    arch = resolve_arch(HubertBackbone, cfg)
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


class HubertBackbone(Backbone):
    name = "hubert"
    frame_rate = 50.0
    SIZES = SIZES
    OVERRIDABLE = Backbone.OVERRIDABLE + ("conv_dim",)

    def __init__(self, cfg, model: HubertModel | None = None):
        super().__init__()
        self.feature_grad_mult = cfg.feature_grad_mult
        self.model = model if model is not None else HubertModel(hubert_config(cfg))

    def cnn_features(self, wav: torch.Tensor) -> torch.Tensor:
        """(B, S) -> (B, C, T), with the gradient into the CNN scaled by feature_grad_mult."""
        x = wav[:, None]
        mult = self.feature_grad_mult
        if mult > 0:
            for conv in self.model.feature_extractor.conv_layers:
                x = conv(x)
            if mult != 1.0:
                x = GradMultiply.apply(x, mult)
        else:
            with torch.no_grad():
                for conv in self.model.feature_extractor.conv_layers:
                    x = conv(x)
        return x

    def encode(self, wav, wav_lengths=None, mask=None):
        feats = self.cnn_features(wav)
        pen = feats.float().pow(2).mean()
        x = self.model.feature_projection(feats.transpose(1, 2))
        T = x.shape[1]
        frame_lengths = None if wav_lengths is None else torch.div(wav_lengths - 400, 320, rounding_mode="floor") + 1
        attn = padding_mask(frame_lengths, T, x.device)
        if mask is not None:
            x = torch.where(mask[:, :T, None], self.model.masked_spec_embed.to(x.dtype), x)
        h = self.model.encoder(x, attention_mask=attn).last_hidden_state
        return h, pen, attn

    def feature_extractor(self, normalize: bool):
        return Wav2Vec2FeatureExtractor(
            feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=normalize,
            return_attention_mask=self.model.config.feat_extract_norm == "layer",
        )

    def export_config_changes(self) -> dict:
        # Pre-training masks came from pretrain.masking; the export gets the usual fine-tuning SpecAugment
        # rate (as converted fairseq checkpoints): > 0 keeps `masked_spec_embed`, and a HubertForCTC built
        # from it does not mask 80% of frames by surprise.
        return {"mask_time_prob": FINETUNE_MASK_PROB}

    @classmethod
    def from_pretrained(cls, folder, cfg) -> "HubertBackbone":
        return cls(cfg, HubertModel.from_pretrained(check_folder(folder)))
