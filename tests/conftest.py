"""Shared fixtures. `synth_corpus`: a ~1.5-minute synthetic corpus, generated once per test session;
`data_dir`: a private copy of its split files; `trained_teacher`: a tiny CTC teacher trained on it once; `tiny_hubert`: a random 2-layer HubertModel export."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SYNTH_MINUTES = 1.5
SYNTH_SEED = 1234


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory):
    """Path to a synthetic corpus folder with splits train, valid, test, labeled (labeled is a subset
    of train): `{split}.tsv .wrd .ltr .phn` (phones at 100 Hz), 16 kHz FLAC audio, `corpus.json`.
    About 1.5 minutes of audio from 12 espeak-ng voices; skipped if the `synth` extra is missing."""
    from labelers.corpus.synth.espeak import SynthUnavailableError
    from labelers.corpus.synth.generate import generate_corpus

    out = tmp_path_factory.mktemp("synth") / "corpus"
    try:
        generate_corpus(out, minutes=SYNTH_MINUTES, seed=SYNTH_SEED, progress=False)
    except SynthUnavailableError as e:
        pytest.skip(str(e))
    return out


@pytest.fixture
def data_dir(synth_corpus, tmp_path):
    """A private copy of `synth_corpus`'s split files (the audio stays where the manifests point), for
    tests that write label sets beside them."""
    out = tmp_path / "data"
    out.mkdir()
    for p in synth_corpus.glob("*.*"):
        if p.is_file():
            shutil.copy(p, out / p.name)
    return out


# A tiny CTC teacher, trained once per session on `synth_corpus`'s transcribed train split (~70 s of
# audio) through the same `bootstrap train-asr` path users run; `valid` stays held out. One FastConformer
# block x 64 (40 ms frames), no dropout, AdamW 5e-3, 400 updates of 8 s batches: ~25 s on 2 shared cores.
# Measured on this corpus: valid CER ~0.75 (untrained: 1.0) and aligned `--source asr` labels with PNMI
# ~0.13 against phones (frames shuffled: ~0.035); the 4 x 144 default reached only ~0.11 in the same time.
# The ASR-label and pipeline tests reuse it.
TEACHER_SETTINGS = [
    "arch.num_hidden_layers=1", "arch.hidden_size=64", "arch.intermediate_size=256", "arch.num_attention_heads=2",
    "arch.subsampling_conv_channels=64", "arch.dropout=0.0", "arch.attention_dropout=0.0",
    "arch.activation_dropout=0.0", "batch_seconds=8", "loop.max_steps=400", "loop.lr=5.0e-3",
    "loop.end_lr=5.0e-4", "loop.warmup_steps=20", "loop.eval_every=0", "loop.save_every=100000",
    "loop.log_every=10",
]


@pytest.fixture(scope="session")
def trained_teacher(synth_corpus, tmp_path_factory) -> Path:
    """Folder of a ParakeetForCTC character teacher saved by `bootstrap train-asr` (transformers format)."""
    import argparse

    import torch

    from bootstrap.commands import train_asr

    out = tmp_path_factory.mktemp("teacher") / "asr"
    parser = argparse.ArgumentParser()
    train_asr.register(parser.add_subparsers())
    args = parser.parse_args(["train-asr", "--data", str(synth_corpus), "--split", "train", "--valid-split", "valid",
                              "--out", str(out), "--threads", "1", *TEACHER_SETTINGS])
    threads = torch.get_num_threads()
    try:
        assert args.func(args) == 0
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="session")
def tiny_hubert(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer x 32 HubertModel saved with save_pretrained (stands in for a pre-training export)."""
    import torch
    from transformers import HubertConfig, HubertModel

    torch.manual_seed(0)
    config = HubertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, conv_dim=(32,) * 7,
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, mask_time_prob=0.05,
    )
    out = tmp_path_factory.mktemp("hubert") / "hf"
    HubertModel(config).save_pretrained(out)
    return out


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Every model in the suite is tiny: on a shared 2-core machine, intra-op threads only contend."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
