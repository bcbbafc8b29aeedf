"""Tiny CTC models of two architectures, built from configs and saved like real checkpoints.

Shared by the ASR-label tests. Character vocabulary in the
wav2vec2 convention: `<pad>` (the CTC blank, id 0), `<s>`, `</s>`, `<unk>`, `|` between words, A-Z, '.
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

CHARS = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list(string.ascii_uppercase) + ["'"]


def char_tokenizer(folder: str | os.PathLike):
    from transformers import Wav2Vec2CTCTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.json"
    vocab.write_text(json.dumps({c: i for i, c in enumerate(CHARS)}), encoding="utf-8")
    return Wav2Vec2CTCTokenizer(str(vocab), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")


def save_wav2vec2_ctc(folder: str | os.PathLike, hidden: int = 32, layers: int = 2, seed: int = 0):
    """Wav2Vec2ForCTC with the Base conv stack (20 ms frames) and a tiny transformer."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    torch.manual_seed(seed)
    tok = char_tokenizer(folder)
    cfg = Wav2Vec2Config(
        vocab_size=len(CHARS), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, pad_token_id=tok.pad_token_id, feat_extract_norm="layer",
        do_stable_layer_norm=True, mask_time_prob=0.0, ctc_loss_reduction="mean", ctc_zero_infinity=True,
    )
    model = Wav2Vec2ForCTC(cfg)
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, do_normalize=True, return_attention_mask=True)
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model


def save_parakeet_ctc(folder: str | os.PathLike, subsampling: int = 8, hidden: int = 32, layers: int = 1,
                      mel: int = 32, seed: int = 0):
    """ParakeetForCTC (log-mel in, conv subsampling: 10 ms x `subsampling`) with a character tokenizer."""
    import torch
    from transformers import ParakeetCTCConfig, ParakeetEncoderConfig, ParakeetFeatureExtractor, ParakeetForCTC

    torch.manual_seed(seed)
    tok = char_tokenizer(folder)
    enc = ParakeetEncoderConfig(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=2 * hidden,
        subsampling_factor=subsampling, subsampling_conv_channels=8, num_mel_bins=mel, conv_kernel_size=5,
        dropout=0.0, layerdrop=0.0, activation_dropout=0.0, attention_dropout=0.0,
    )
    cfg = ParakeetCTCConfig(vocab_size=len(CHARS), encoder_config=enc.to_dict(), pad_token_id=tok.pad_token_id)
    model = ParakeetForCTC(cfg)
    fe = ParakeetFeatureExtractor(feature_size=mel)
    model.save_pretrained(folder)
    fe.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model
