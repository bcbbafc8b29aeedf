"""FLOPs of pre-training, one formula per backbone, from the transformers config of the model.

Counted as `torch.utils.flop_counter.FlopCounterMode` counts them (a test checks every backbone against
it): 2 FLOPs per multiply-add of every matrix product and convolution, attention included (quadratic in
the utterance's frames); normalisations, activations, softmax and the FFT of the spectral front-ends are
left out (a few % at most). Training costs forward + backward = 3x forward, except the parts that get
no gradient: the fixed spectral features (mel filterbank: forward only), hubert's CNN when
`feature_grad_mult` is 0 (forward only), and the first trained layer, which needs no gradient for its
input (2x). (FlopCounterMode itself counts a grouped convolution's input gradient as if it were not
grouped; the test corrects that, these formulas count what is computed.)

Used by the training loop (FLOPs of every batch from its shape and mask, on the host: no device sync),
by `scripts/bench_pretrain.py` and by the comparison report's compute column.
"""

from __future__ import annotations

from dataclasses import dataclass


def _conv_out(n: int, kernel: int, stride: int, pad: int = 0) -> int:
    return max(0, (n + 2 * pad - kernel) // stride + 1)


@dataclass
class Flops:
    """Forward FLOPs of one utterance, split so training can weight the parts differently."""

    features: int  # fixed spectral features (no parameters, no gradient)
    front: int  # the trained front-end: CNN / subsampling / projection
    encoder: int  # everything after the front-end
    frames: int  # encoder frames
    no_input_grad: int = 0  # parts of front/encoder whose input needs no gradient: the first layer, and
    # products with fixed inputs (fastconformer's projection of the sinusoidal positions)

    @property
    def forward(self) -> int:
        return self.features + self.front + self.encoder


def _transformer_layer(T: int, D: int, F: int) -> int:
    return 8 * T * D * D + 4 * T * T * D + 4 * T * D * F  # q k v o, QK^T and AV, feed-forward


def hubert_flops(config, num_samples: int) -> Flops:
    n, first, front = num_samples, 0, 0
    c_in = 1
    for i, (k, s, c) in enumerate(zip(config.conv_kernel, config.conv_stride, config.conv_dim)):
        n = _conv_out(n, k, s)
        f = 2 * n * k * c_in * c
        front += f
        first = f if i == 0 else first
        c_in = c
    T, D, F = n, config.hidden_size, config.intermediate_size
    enc = 2 * T * c_in * D  # feature projection
    enc += 2 * T * config.num_conv_pos_embeddings * D * D // config.num_conv_pos_embedding_groups  # positional conv
    enc += config.num_hidden_layers * _transformer_layer(T, D, F)
    return Flops(0, front, enc, T, first)


def w2v_bert_flops(config, num_samples: int, mel_bins: int = 80, stride: int = 2) -> Flops:
    fb = _conv_out(num_samples, 400, 160)
    mel = 2 * fb * 257 * mel_bins  # mel filterbank (the FFT is not counted)
    T, D, F, K = fb // stride, config.hidden_size, config.intermediate_size, config.conv_depthwise_kernel_size
    proj = 2 * T * config.feature_projection_input_dim * D
    layer = 8 * T * D * F  # two macaron feed-forwards
    layer += 8 * T * D * D + 4 * T * T * D  # attention
    if config.position_embeddings_type == "relative_key":
        layer += 2 * T * T * D  # query x relative distance embeddings
    elif config.position_embeddings_type == "relative":
        layer += 2 * (2 * T - 1) * D * D + 2 * T * (2 * T - 1) * D
    layer += 4 * T * D * D + 2 * T * D * K + 2 * T * D * D  # conv module: pointwise (GLU), depthwise, pointwise
    return Flops(mel, proj, config.num_hidden_layers * layer, T)  # a LayerNorm precedes the projection


def fastconformer_flops(config, num_samples: int, mel_bins: int = 80, hop: int = 160) -> Flops:
    M = num_samples // hop + 1  # centred STFT frames
    mel = 2 * 257 * mel_bins * M  # mel filterbank
    C, k, s = config.subsampling_conv_channels, config.subsampling_conv_kernel_size, config.subsampling_conv_stride
    p = (k - 1) // 2
    t, f = _conv_out(M, k, s, p), _conv_out(mel_bins, k, s, p)
    first = 2 * t * f * k * k * C
    sub = first
    layers = 0
    while 2 ** (layers + 1) < config.subsampling_factor:
        t, f = _conv_out(t, k, s, p), _conv_out(f, k, s, p)
        sub += 2 * t * f * k * k * C + 2 * t * f * C * C  # depthwise + pointwise
        layers += 1
    T, D, F, K = t, config.hidden_size, config.intermediate_size, config.conv_kernel_size
    sub += 2 * T * C * f * D  # linear to the model width
    P = 2 * T - 1  # relative positions
    layer = 8 * T * D * F + 8 * T * D * D + 4 * T * T * D  # feed-forwards, q k v o, QK^T and AV
    layer += 2 * P * D * D + 2 * T * P * D  # positional projection, query x positions
    layer += 4 * T * D * D + 2 * T * D * K + 2 * T * D * D  # conv module
    return Flops(mel, sub, config.num_hidden_layers * layer, T, first + config.num_hidden_layers * 2 * P * D * D)


FORMULAS = {"hubert": hubert_flops, "w2v-bert": w2v_bert_flops, "fastconformer": fastconformer_flops}
MODEL_TYPES = {"hubert": "hubert", "wav2vec2-bert": "w2v-bert", "parakeet_encoder": "fastconformer"}


def backbone_flops(backbone: str, config, num_samples: int) -> Flops:
    if backbone not in FORMULAS:
        raise ValueError(f"no FLOP formula for backbone '{backbone}' (have {', '.join(FORMULAS)})")
    return FORMULAS[backbone](config, num_samples)


def head_flops(hidden: int, final_dim: int, num_classes: list[int], frames: int) -> int:
    """Projection of `frames` scored frames and their cosine logits. The head projects to every label set's
    chunk once per label set (`HubertPretrainModel.logits` takes its chunk of the full projection)."""
    sets = len(num_classes)
    return sets * 2 * frames * hidden * final_dim * sets + sum(2 * frames * final_dim * k for k in num_classes)


def _trained(f: Flops, frozen_front: bool) -> int:
    """Forward + backward FLOPs of one utterance through the backbone; `frozen_front`: the front-end (the
    CNN) runs without gradients."""
    if frozen_front:
        return f.features + f.front + 3 * f.encoder
    return f.features + 3 * (f.front + f.encoder) - f.no_input_grad


def train_flops(backbone: str, config, num_samples: int, batch: int, scored_frames: int, final_dim: int,
                num_classes: list[int], feature_grad_mult: float = 1.0) -> int:
    """Forward + backward FLOPs of one training batch of `batch` utterances of `num_samples` samples."""
    f = backbone_flops(backbone, config, num_samples)
    total = _trained(f, frozen_front=backbone == "hubert" and feature_grad_mult == 0)
    head = head_flops(config.hidden_size, final_dim, num_classes, scored_frames)
    return batch * total + 3 * head


def ctc_train_flops(config, num_samples: int, batch: int, frozen_front: bool = False) -> int:
    """Forward + backward FLOPs of one CTC training batch (`batch` utterances padded to `num_samples`) of a
    transformers CTC model (HubertForCTC, Wav2Vec2BertForCTC, ParakeetForCTC): encoder and output layer.
    `frozen_front`: the CNN runs without gradients (`freeze_feature_encoder`, wav2vec2-style fine-tuning)."""
    enc = getattr(config, "encoder_config", None) or config  # ParakeetForCTC nests its encoder's config
    backbone = MODEL_TYPES.get(enc.model_type)
    if backbone is None:
        raise ValueError(f"no FLOP formula for model type '{enc.model_type}'")
    f = backbone_flops(backbone, enc, num_samples)
    head = 2 * f.frames * enc.hidden_size * config.vocab_size
    return batch * (_trained(f, frozen_front) + 3 * head)


def model_flops_per_audio_second(model_cfg, num_classes: list[int], seconds: float = 10.0,
                                 mask_fraction: float = 0.5) -> dict:
    """Training and forward FLOPs per second of audio for utterances of `seconds` (for tables and reports)."""
    from pretrain.backbones import backbone_class
    from pretrain.model import HubertPretrainModel  # noqa: F401  (the config builders live with the backbones)

    cls = backbone_class(model_cfg.backbone)
    config = backbone_config(model_cfg)
    n = int(seconds * 16000)
    f = backbone_flops(model_cfg.backbone, config, n)
    final_dim = model_cfg.arch()["final_dim"]
    train = train_flops(model_cfg.backbone, config, n, 1, int(mask_fraction * f.frames), final_dim, num_classes,
                        model_cfg.feature_grad_mult)
    return {"backbone": cls.name, "train_flops_per_audio_s": train / seconds,
            "forward_flops_per_audio_s": f.forward / seconds, "utterance_seconds": seconds}


def backbone_config(model_cfg):
    """The transformers config `model_cfg` builds (no weights are made)."""
    from pretrain.backbones.fastconformer import fastconformer_config
    from pretrain.backbones.hubert import hubert_config
    from pretrain.backbones.w2v_bert import w2v_bert_config

    return {"hubert": hubert_config, "w2v-bert": w2v_bert_config,
            "fastconformer": fastconformer_config}[model_cfg.backbone](model_cfg)


def encoder_forward_flops(config, num_samples: int) -> int:
    """Forward FLOPs of an exported encoder (any transformers config we have a formula for), e.g. a teacher."""
    backbone = MODEL_TYPES.get(config.model_type)
    if backbone is None:
        raise ValueError(f"no FLOP formula for model type '{config.model_type}'")
    return backbone_flops(backbone, config, num_samples).forward


# Dense bf16 tensor-core peaks (FLOP/s, no sparsity) by device-name fragment, for MFU.
BF16_PEAK = {
    "H200": 989e12, "H100 SXM": 989e12, "H100 NVL": 835e12, "H100 PCIe": 756e12, "H100": 989e12,
    "A100": 312e12, "L40S": 362e12, "L4": 121e12, "A10G": 70e12, "A10": 125e12, "RTX 4090": 165e12,
    "RTX 3090": 71e12, "V100": 125e12, "B200": 2250e12, "GH200": 989e12,
}


def peak_flops(device) -> float | None:
    """The bf16 peak of a CUDA device (None on CPU or an unknown card: no MFU is reported)."""
    import torch

    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(device)
    for key, peak in BF16_PEAK.items():  # ordered so that the more specific names match first
        if key in name:
            return peak
    return None
