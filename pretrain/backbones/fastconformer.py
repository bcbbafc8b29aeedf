"""`fastconformer`: `transformers.ParakeetEncoder` (log-mel front-end, 8x conv subsampling: 80 ms frames).

The exported folder pairs it with `ParakeetFeatureExtractor`. Training computes the same features on
the training device (`mel_features`, the extractor's own steps for a batch tensor; a test checks they
agree). `ParakeetEncoder` has no mask embedding: this backbone owns one (`masked_spec_embed`, kept in
head.pt by the export) and puts it in place of the subsampled frames through a forward hook on the
subsampling module, so the encoder itself runs unmodified.

Frames are 80 ms (12.5 Hz): labels are converted with `pretrain.frame_labels.pool_labels` (majority of
the four 20 ms frames inside each 80 ms frame); the model yields `num_frames(n, 12.5)` frames or one
more, which the head leaves out.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import ParakeetEncoder, ParakeetEncoderConfig, ParakeetFeatureExtractor

from pretrain.backbones.base import Backbone, check_folder, fit_mask, resolve_arch

SIZES: dict[str, dict] = {
    "tiny": dict(hidden_size=96, num_hidden_layers=2, num_attention_heads=4, intermediate_size=384,
                 subsampling_conv_channels=32, conv_kernel_size=9, final_dim=64),
    # ~95 M parameters (NeMo's FastConformer-L / NEST-L are 17-18 x 512, ~110 M)
    "base": dict(hidden_size=512, num_hidden_layers=15, num_attention_heads=8, intermediate_size=2048,
                 subsampling_conv_channels=256, conv_kernel_size=9, final_dim=256),
    # the parakeet-ctc-0.6b encoder geometry (~600 M)
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=8, intermediate_size=4096,
                  subsampling_conv_channels=256, conv_kernel_size=9, final_dim=768),
}
NUM_MEL_BINS = 80


def fastconformer_config(cfg) -> ParakeetEncoderConfig:
    arch = resolve_arch(FastConformerBackbone, cfg)
    arch.pop("final_dim")
    return ParakeetEncoderConfig(
        **arch,
        num_key_value_heads=arch["num_attention_heads"],
        subsampling_factor=8,
        num_mel_bins=NUM_MEL_BINS,
        dropout=cfg.dropout,
        attention_dropout=cfg.attention_dropout,
        activation_dropout=cfg.activation_dropout,
        dropout_positions=0.0,
        layerdrop=cfg.layerdrop,
    )


def mel_features(fe: ParakeetFeatureExtractor, wav: torch.Tensor, wav_lengths: torch.Tensor | None):
    """ParakeetFeatureExtractor.__call__ for a (B, S) batch tensor already on its device.

    Returns ((B, M, 80) normalised log-mel, (B, M) mask of valid mel frames). The mask is needed even
    without padding: the extractor counts n // hop frames valid, one fewer than the STFT's n // hop + 1,
    and the exported model is run with that mask.
    """
    with torch.autocast(device_type=wav.device.type, enabled=False):
        x = wav.float()
        B, S = x.shape
        x = torch.cat([x[:, :1], x[:, 1:] - fe.preemphasis * x[:, :-1]], dim=1)
        lengths = wav_lengths if wav_lengths is not None else torch.full((B,), S, device=x.device)
        if wav_lengths is not None:
            x = x.masked_fill(torch.arange(S, device=x.device)[None, :] >= wav_lengths[:, None], 0.0)
        feats = fe._torch_extract_fbank_features(x, x.device)
        flen = torch.div(lengths + fe.n_fft // 2 * 2 - fe.n_fft, fe.hop_length, rounding_mode="floor")
        valid = torch.arange(feats.shape[1], device=x.device)[None, :] < flen[:, None]
        m = valid[..., None].to(feats.dtype)
        mean = (feats * m).sum(1, keepdim=True) / flen[:, None, None]
        var = ((feats * m - mean).pow(2) * m).sum(1, keepdim=True) / (flen - 1)[:, None, None]
        feats = (feats - mean) / (torch.sqrt(var) + 1e-5) * m
    return feats, valid


class FastConformerBackbone(Backbone):
    name = "fastconformer"
    frame_rate = 12.5
    SIZES = SIZES

    def __init__(self, cfg, model: ParakeetEncoder | None = None):
        super().__init__()
        self.model = model if model is not None else ParakeetEncoder(fastconformer_config(cfg))
        self.masked_spec_embed = nn.Parameter(torch.empty(self.model.config.hidden_size).uniform_())
        self.fe = ParakeetFeatureExtractor(feature_size=self.model.config.num_mel_bins, sampling_rate=16000)
        self._pending_mask: torch.Tensor | None = None
        self.model.subsampling.register_forward_hook(self._mask_hook)

    def _mask_hook(self, module, inputs, output):
        if self._pending_mask is None:
            return output
        m = fit_mask(self._pending_mask, output.shape[1])
        return torch.where(m[..., None], self.masked_spec_embed.to(output.dtype), output)

    def features(self, wav, wav_lengths=None):
        return mel_features(self.fe, wav, wav_lengths)

    def encode(self, wav, wav_lengths=None, mask=None):
        feats, attn = self.features(wav, wav_lengths)
        self._pending_mask = mask
        try:
            out = self.model(feats, attention_mask=attn)
        finally:
            self._pending_mask = None
        h = out.last_hidden_state
        frame_mask = out.attention_mask.bool() if wav_lengths is not None else None
        if mask is not None:
            h = h[:, : mask.shape[1]]
            frame_mask = frame_mask[:, : mask.shape[1]] if frame_mask is not None else None
        return h, h.new_zeros(()), frame_mask

    def feature_extractor(self, normalize: bool):
        return ParakeetFeatureExtractor(feature_size=self.model.config.num_mel_bins, sampling_rate=16000)

    @classmethod
    def from_pretrained(cls, folder, cfg) -> "FastConformerBackbone":
        return cls(cfg, ParakeetEncoder.from_pretrained(check_folder(folder)))
