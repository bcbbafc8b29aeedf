"""Shared fixtures. `synth_corpus`: a ~1.5-minute synthetic corpus, generated once per test session."""

from __future__ import annotations

import pytest

SYNTH_MINUTES = 1.5
SYNTH_SEED = 1234


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory):
    """Path to a synthetic corpus folder with splits train, valid, test, labeled (labeled is a subset
    of train): `{split}.tsv .wrd .ltr .phn` (phones at 100 Hz), 16 kHz FLAC audio, `corpus.json`.
    About 1.5 minutes of audio from 12 espeak-ng voices; skipped if the `synth` extra is missing."""
    from labelers.synth.espeak import SynthUnavailableError
    from labelers.synth.generate import generate_corpus

    out = tmp_path_factory.mktemp("synth") / "corpus"
    try:
        generate_corpus(out, minutes=SYNTH_MINUTES, seed=SYNTH_SEED, progress=False)
    except SynthUnavailableError as e:
        pytest.skip(str(e))
    return out


@pytest.fixture(scope="session")
def tiny_ctc_teacher(synth_corpus, tmp_path_factory):
    """Folder of a tiny character ParakeetForCTC (40 ms frames, loadable with `AutoModelForCTC` and
    `labelers.ctc_model.CTCModel.load`) trained on the synthetic corpus's train split for <= 30 s with
    a plain torch loop. Weak (high CER) but it has learnt where speech and which letters are: enough
    for alignment-based labels well above chance. Training statistics in `train_stats.json`."""
    import json

    from ctc_builders import train_tiny_ctc

    out = tmp_path_factory.mktemp("tiny_ctc_teacher")
    stats = train_tiny_ctc(synth_corpus, out, split="train", steps=120, max_seconds=30.0)
    (out / "train_stats.json").write_text(json.dumps(stats))
    return out
