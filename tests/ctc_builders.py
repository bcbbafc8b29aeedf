"""Tiny CTC models of two architectures, built from configs and saved like real checkpoints.

Shared by the ASR-label tests and the `tiny_ctc_teacher` fixture. Character vocabulary in the
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


def train_tiny_ctc(data_dir: str | os.PathLike, out_dir: str | os.PathLike, *, split: str = "train",
                   steps: int = 120, max_seconds: float = 30.0, batch_size: int = 4, lr: float = 5e-3,
                   seed: int = 0) -> dict:
    """Train a tiny character ParakeetForCTC (40 ms frames) on a corpus split with a plain torch loop.

    Deterministic for a given corpus and seed unless `max_seconds` cuts it short. Saves model, feature
    extractor and tokenizer into `out_dir` (loadable by `CTCModel.load`); returns loss statistics.
    """
    import time

    import numpy as np
    import torch

    from labelers.audio import load_audio
    from labelers.corpus import open_split

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = save_parakeet_ctc(out_dir, subsampling=4, hidden=64, layers=1, mel=40, seed=seed)
    from transformers import ParakeetFeatureExtractor

    fe = ParakeetFeatureExtractor.from_pretrained(out_dir)
    tok = char_tokenizer(out_dir)
    sp = open_split(data_dir, split)
    manifest, words = sp.manifest(), sp.words()
    feats, labels = [], []
    for i in range(len(manifest)):
        enc = fe(load_audio(manifest.path(i)), sampling_rate=16000, return_tensors="pt")
        feats.append(enc["input_features"][0])
        labels.append(torch.tensor(tok(words[i].upper()).input_ids))
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    losses = []
    for step in range(steps):
        idx = rng.choice(len(feats), size=min(batch_size, len(feats)), replace=False)
        x = torch.nn.utils.rnn.pad_sequence([feats[i] for i in idx], batch_first=True)
        lens = torch.tensor([feats[i].shape[0] for i in idx])
        mask = (torch.arange(x.shape[1])[None] < lens[:, None]).long()
        y = torch.nn.utils.rnn.pad_sequence([labels[i] for i in idx], batch_first=True, padding_value=-100)
        loss = model(input_features=x, attention_mask=mask, labels=y).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if time.perf_counter() - t0 > max_seconds:
            break
    model.eval()
    model.save_pretrained(out_dir)
    return {"steps": len(losses), "first_loss": losses[0], "last_loss": float(np.mean(losses[-10:])),
            "seconds": time.perf_counter() - t0}
