"""`w2v-bert`: `transformers.Wav2Vec2BertModel`, a Conformer over 80-d fbank stacked x2 (160-d at 50 Hz).

The exported folder pairs it with its own `SeamlessM4TFeatureExtractor`. Training computes the same
features on the training device, in one batched pass (`fbank_features`), instead of the extractor's
per-utterance numpy loop; a test checks both agree. The mask is the model's own `masked_spec_embed`,
put in place of the projected features as `Wav2Vec2BertModel._mask_hidden_states` does, but with
`torch.where` (no boolean indexing).

Frames: fbank frames F = (n - 400) // 160 + 1 (25 ms window, 10 ms hop, no centre padding), stacked
in pairs: F // 2 frames of 20 ms, which is `num_frames(n, 50)` or one less; the head then leaves the
last label out.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

from pretrain.backbones.base import Backbone, check_folder, fit_mask, resolve_arch

SIZES: dict[str, dict] = {
    "tiny": dict(hidden_size=96, num_hidden_layers=2, num_attention_heads=4, intermediate_size=384,
                 conv_depthwise_kernel_size=15, final_dim=64),
    # ~95 M parameters: a Conformer layer costs ~1.6x a Transformer layer of the same width.
    "base": dict(hidden_size=576, num_hidden_layers=12, num_attention_heads=9, intermediate_size=2304,
                 conv_depthwise_kernel_size=31, final_dim=256),
    # the w2v-BERT 2.0 encoder geometry (~580 M)
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  conv_depthwise_kernel_size=31, final_dim=768),
}
FINETUNE_MASK_PROB = 0.05
KALDI_SCALE = 2**15  # the extractor scales to 16-bit integers first, as Kaldi does
MEL_FLOOR = 1.192092955078125e-07


def w2v_bert_config(cfg) -> Wav2Vec2BertConfig:
    arch = resolve_arch(W2vBertBackbone, cfg)
    arch.pop("final_dim")
    return Wav2Vec2BertConfig(
        **arch,
        feature_projection_input_dim=160,
        hidden_dropout=cfg.dropout,
        conformer_conv_dropout=cfg.dropout,
        attention_dropout=cfg.attention_dropout,
        activation_dropout=cfg.activation_dropout,
        feat_proj_dropout=cfg.dropout_input,
        layerdrop=cfg.layerdrop,
        mask_time_prob=cfg.mask_prob,  # > 0: the model owns masked_spec_embed
        mask_time_length=cfg.mask_length,
        mask_time_min_masks=cfg.min_masks,
        add_adapter=False,
    )


def fbank_features(wav: torch.Tensor, wav_lengths: torch.Tensor | None, mel_filters: torch.Tensor,
                   window: torch.Tensor, stride: int = 2) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(B, S) waveforms -> ((B, F // stride, 80 * stride) features, (B, F // stride) mask or None).

    SeamlessM4TFeatureExtractor batched in torch: Kaldi fbank (DC removal, pre-emphasis 0.97, povey
    window, 512-point power spectrum, 80 Kaldi mel bins from 20 Hz, log with floor), normalised per mel
    bin over each utterance's own frames (ddof 1), padding frames 0, then `stride` frames stacked.
    """
    with torch.autocast(device_type=wav.device.type, enabled=False):
        x = wav.float() * KALDI_SCALE
        frames = x.unfold(1, 400, 160)  # (B, F, 400)
        frames = frames - frames.mean(-1, keepdim=True)
        frames = torch.cat([frames[..., :1] * (1 - 0.97), frames[..., 1:] - 0.97 * frames[..., :-1]], dim=-1)
        spec = torch.fft.rfft(frames * window, n=512).abs().pow(2)
        logmel = torch.log(torch.clamp(spec @ mel_filters, min=MEL_FLOOR))  # (B, F, 80)
        B, F_, C = logmel.shape
        if wav_lengths is None:
            valid = torch.ones(B, F_, 1, dtype=logmel.dtype, device=logmel.device)
            count = torch.full((B, 1, 1), float(F_), device=logmel.device)
        else:
            n = torch.div(wav_lengths - 400, 160, rounding_mode="floor") + 1
            valid = (torch.arange(F_, device=logmel.device)[None, :] < n[:, None]).to(logmel.dtype)[..., None]
            count = n.to(logmel.dtype)[:, None, None]
        mean = (logmel * valid).sum(1, keepdim=True) / count
        var = ((logmel - mean).pow(2) * valid).sum(1, keepdim=True) / (count - 1).clamp(min=1)
        feats = (logmel - mean) / torch.sqrt(var + 1e-7) * valid
        T = F_ // stride
        feats = feats[:, : T * stride].reshape(B, T, C * stride)
        mask = None if wav_lengths is None else valid[:, stride - 1 : T * stride : stride, 0].bool()
    return feats, mask


class W2vBertBackbone(Backbone):
    name = "w2v-bert"
    frame_rate = 50.0
    SIZES = SIZES

    def __init__(self, cfg, model: Wav2Vec2BertModel | None = None):
        super().__init__()
        self.model = model if model is not None else Wav2Vec2BertModel(w2v_bert_config(cfg))
        fe = SeamlessM4TFeatureExtractor()
        self.register_buffer("mel_filters", torch.from_numpy(np.asarray(fe.mel_filters, dtype=np.float32)),
                             persistent=False)
        self.register_buffer("window", torch.from_numpy(np.asarray(fe.window, dtype=np.float32)), persistent=False)

    @classmethod
    def output_frames(cls, num_samples: int) -> int:
        return max(0, (num_samples - 400) // 160 + 1) // 2  # fbank frames stacked in pairs

    def features(self, wav, wav_lengths=None):
        return fbank_features(wav, wav_lengths, self.mel_filters, self.window)

    def encode(self, wav, wav_lengths=None, mask=None):
        feats, attn = self.features(wav, wav_lengths)
        x, _ = self.model.feature_projection(feats)
        T = x.shape[1]
        if mask is not None:
            x = torch.where(fit_mask(mask, T)[..., None], self.model.masked_spec_embed.to(x.dtype), x)
        h = self.model.encoder(x, attention_mask=attn).last_hidden_state
        if mask is not None:
            h = h[:, : mask.shape[1]]
        return h, h.new_zeros(()), attn

    def feature_extractor(self, normalize: bool):
        return SeamlessM4TFeatureExtractor()

    def export_config_changes(self) -> dict:
        return {"mask_time_prob": FINETUNE_MASK_PROB}

    @classmethod
    def from_pretrained(cls, folder, cfg) -> "W2vBertBackbone":
        return cls(cfg, Wav2Vec2BertModel.from_pretrained(check_folder(folder)))

