"""CTC models for the ASR teacher: a small from-scratch FastConformer, or a pre-trained encoder + CTC head.

- From scratch: `ParakeetForCTC` (FastConformer encoder over 80 log-mel bins) with subsampling 4 (40 ms
  frames). Characters need frames of 40 ms or less: English speech carries up to ~18 characters per
  second and CTC needs a frame per character plus one between repeats, so Parakeet's default 80 ms
  cannot emit them.
- `--init FOLDER`: any wav2vec2-family encoder export (HubertModel, Wav2Vec2Model, WavLMModel,
  Wav2Vec2BertModel...) that `AutoModelForCTC` can load, with a new output layer over our vocabulary and
  the folder's own feature extractor (raw waveform for HuBERT, fbank for w2v-BERT), as in fairseq's
  wav2vec2/HuBERT fine-tuning; or a `ParakeetEncoder` export (the `fastconformer` backbone), put under
  a new `ParakeetForCTC` head. Its 80 ms frames are too coarse for characters at normal speaking
  rates: utterances with more characters than CTC can fit are skipped (and listed) by the data loader.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from labelers.corpus.frames import SAMPLE_RATE


def scratch_ctc_model(arch: dict, vocab_size: int, pad_id: int = 0):
    """A freshly initialised `ParakeetForCTC` and its `ParakeetFeatureExtractor` (80 mel bins)."""
    from transformers import ParakeetCTCConfig, ParakeetFeatureExtractor, ParakeetForCTC

    enc = {
        "hidden_size": 144, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 576,
        "subsampling_factor": 4, "subsampling_conv_channels": 144, "conv_kernel_size": 9,
        "num_mel_bins": 80, "dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.1,
        "layerdrop": 0.0,
    }
    enc.update(arch)
    config = ParakeetCTCConfig(
        vocab_size=vocab_size, pad_token_id=pad_id, ctc_loss_reduction="mean", ctc_zero_infinity=True,
        encoder_config=enc,
    )
    model = ParakeetForCTC(config)
    fe = ParakeetFeatureExtractor(feature_size=enc["num_mel_bins"], sampling_rate=SAMPLE_RATE)
    return model, fe


def pretrained_ctc_model(init: str | os.PathLike, vocab_size: int, pad_id: int = 0, overrides: dict | None = None):
    """A pre-trained encoder export + a new CTC output layer, and the matching waveform feature extractor.

    `overrides` are config fields for fine-tuning (masking, dropout, layerdrop...). The CNN feature
    encoder is frozen, as in fairseq fine-tuning (feature_grad_mult 0).
    """
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForCTC, Wav2Vec2FeatureExtractor

    init = Path(init)
    if not (init / "config.json").is_file():
        raise FileNotFoundError(f"{init}: not a transformers model folder (config.json missing)")
    config = AutoConfig.from_pretrained(init)
    if config.model_type == "parakeet_encoder":
        return parakeet_ctc_from_encoder(init, vocab_size, pad_id, overrides)
    for key, value in (overrides or {}).items():
        if not hasattr(config, key):
            raise ValueError(f"{init}: {type(config).__name__} has no field '{key}' to override")
        setattr(config, key, value)
    config.vocab_size = vocab_size
    config.pad_token_id = pad_id
    config.ctc_loss_reduction = "mean"
    config.ctc_zero_infinity = True
    try:
        model = AutoModelForCTC.from_pretrained(init, config=config)
    except ValueError as e:
        raise ValueError(f"{init}: {type(config).__name__} has no CTC head in transformers ({e})") from None
    if hasattr(model, "freeze_feature_encoder"):
        model.freeze_feature_encoder()
    if (init / "preprocessor_config.json").is_file() or (init / "processor_config.json").is_file():
        fe = AutoFeatureExtractor.from_pretrained(init)
    else:
        # fairseq normalises the waveform only for models with layer-norm CNNs (Large); Base does not.
        fe = Wav2Vec2FeatureExtractor(
            feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0,
            do_normalize=getattr(config, "feat_extract_norm", "group") == "layer", return_attention_mask=True,
        )
    fe.return_attention_mask = True
    return model, fe


# wav2vec2-family fine-tuning settings that a FastConformer has no counterpart for (no SpecAugment in
# transformers' Parakeet models, one `dropout` instead of hidden/final dropouts): skipped with a note.
WAV2VEC2_ONLY_KEYS = {"mask_time_prob", "mask_time_length", "mask_time_min_masks", "mask_feature_prob",
                      "mask_feature_length", "mask_feature_min_masks", "final_dropout", "hidden_dropout",
                      "feat_proj_dropout"}


def parakeet_ctc_from_encoder(init: Path, vocab_size: int, pad_id: int = 0, overrides: dict | None = None):
    """A `ParakeetForCTC` whose encoder is the exported `ParakeetEncoder`, and the folder's feature extractor."""
    import warnings

    from transformers import AutoFeatureExtractor, ParakeetCTCConfig, ParakeetEncoder, ParakeetForCTC

    encoder = ParakeetEncoder.from_pretrained(init)
    enc_cfg = encoder.config.to_dict()
    skipped = []
    for key, value in (overrides or {}).items():
        if key in enc_cfg:
            enc_cfg[key] = value
        elif key in WAV2VEC2_ONLY_KEYS:
            skipped.append(key)
        else:
            raise ValueError(f"{init}: ParakeetEncoderConfig has no field '{key}' to override")
    if skipped:
        warnings.warn(f"{init}: fine-tuning settings without a FastConformer counterpart ignored: {', '.join(skipped)}")
    config = ParakeetCTCConfig(vocab_size=vocab_size, pad_token_id=pad_id, ctc_loss_reduction="mean",
                               ctc_zero_infinity=True, encoder_config=enc_cfg)
    model = ParakeetForCTC(config)
    model.encoder.load_state_dict(encoder.state_dict())
    fe = AutoFeatureExtractor.from_pretrained(init)
    fe.return_attention_mask = True
    return model, fe


def encoder_parameters(model) -> list[torch.nn.Parameter]:
    """Everything but the CTC output layer (what `freeze_encoder_steps` keeps fixed at the start)."""
    head = output_layer(model)
    head_ids = {id(p) for p in head.parameters()}
    return [p for p in model.parameters() if id(p) not in head_ids]


def output_layer(model) -> torch.nn.Module:
    for name in ("lm_head", "ctc_head"):
        if hasattr(model, name):
            return getattr(model, name)
    raise TypeError(f"{type(model).__name__}: no CTC output layer (lm_head / ctc_head) found")


def output_lengths(model, attention_mask: torch.Tensor) -> torch.Tensor:
    """Number of valid output frames per batch row, from the input attention mask."""
    lengths = attention_mask.sum(-1)
    if hasattr(model, "_get_feat_extract_output_lengths"):  # wav2vec2 family: CNN over samples
        return model._get_feat_extract_output_lengths(lengths).long()
    return model._get_subsampling_output_length(lengths).long()  # Parakeet: conv subsampling over mel frames


def frames_for_samples(model, num_samples: int, feature_extractor) -> int:
    """Output frames the model gives for an utterance of `num_samples` (for CTC feasibility checks)."""
    if getattr(feature_extractor, "stride", None) and "input_features" in feature_extractor.model_input_names:
        # w2v-BERT: SeamlessM4T fbank frames (25 ms window, 10 ms hop) stacked by `stride`, then the model
        fbank = max(0, (num_samples - 400) // 160 + 1) // feature_extractor.stride
        return int(model._get_feat_extract_output_lengths(torch.tensor([fbank])).item())
    if hasattr(model, "_get_feat_extract_output_lengths"):
        return int(model._get_feat_extract_output_lengths(torch.tensor([num_samples])).item())
    # ParakeetFeatureExtractor marks n // hop mel frames valid (its attention mask); the loss uses those.
    mel_frames = num_samples // feature_extractor.hop_length
    return int(model._get_subsampling_output_length(torch.tensor([mel_frames])).item())


def frame_seconds(model, feature_extractor) -> float:
    """Duration of one output frame (0.02 for wav2vec2/HuBERT, 0.04 for Parakeet with subsampling 4)."""
    n = SAMPLE_RATE * 60
    return 60.0 / frames_for_samples(model, n, feature_extractor)
