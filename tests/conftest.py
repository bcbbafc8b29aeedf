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
