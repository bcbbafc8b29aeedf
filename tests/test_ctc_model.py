"""Loading real CTC checkpoints (tiny, built from configs) and reading their frame geometry."""

import numpy as np
import pytest

from ctc_builders import CHARS, save_parakeet_ctc, save_wav2vec2_ctc
from labelers.corpus.chunking import plan_chunks, stitch
from labelers.ctc_posteriors import CTCModel, CTCModelError


@pytest.fixture(scope="module")
def w2v_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("w2v")
    save_wav2vec2_ctc(d)
    return d


@pytest.fixture(scope="module")
def parakeet_dirs(tmp_path_factory):
    out = {}
    for factor in (8, 4):
        d = tmp_path_factory.mktemp(f"parakeet{factor}")
        save_parakeet_ctc(d, subsampling=factor)
        out[factor] = d
    return out


def _wavs(lengths, seed=0):
    rng = np.random.default_rng(seed)
    return [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in lengths]


LENGTHS = [16000, 23456, 8000, 40321]


def test_wav2vec2_geometry_vocab_and_batched_inference(w2v_dir):
    m = CTCModel.load(w2v_dir)
    assert m.architecture == "Wav2Vec2ForCTC"
    assert m.geometry.hop_samples == 320 and m.geometry.method == "conv-strides"
    assert m.frame_seconds == pytest.approx(0.02) and m.geometry.offset_samples == 200
    assert m.blank_id == 0 and m.vocab == CHARS and m.word_delimiter == "|"
    # the computed hop agrees with what the network actually does
    assert m.measure_geometry().hop_samples == 320
    out = m.log_posteriors(_wavs(LENGTHS), batch_seconds=3.0)
    for wav, lp in zip(_wavs(LENGTHS), out):
        assert lp.shape == (m.num_frames(len(wav)), len(CHARS)) and lp.dtype == np.float32
        assert np.allclose(np.exp(lp).sum(1), 1, atol=1e-4)
        # padding masks: a padded batch gives what the utterance gives alone
        assert np.allclose(lp, m._forward([wav])[0], atol=1e-4)
    assert m.num_frames(16000) == 49


@pytest.mark.parametrize("factor,hop", [(8, 1280), (4, 640)])
def test_parakeet_geometry_from_feature_hop_and_subsampling(parakeet_dirs, factor, hop):
    m = CTCModel.load(parakeet_dirs[factor])
    assert m.architecture == "ParakeetForCTC" and m.geometry.method == "subsampling"
    assert m.geometry.hop_samples == hop and m.frame_seconds == pytest.approx(hop / 16000)
    assert m.geometry.offset_samples == 0
    assert m.measure_geometry().hop_samples == hop
    wavs = _wavs(LENGTHS, seed=1)
    out = m.log_posteriors(wavs)
    for wav, lp in zip(wavs, out):
        alone = m._forward([wav])[0]
        assert lp.shape[0] == m.num_frames(len(wav)) == alone.shape[0]
        assert np.allclose(lp, alone, atol=1e-4)


def test_loading_errors_name_the_model(tmp_path):
    with pytest.raises(CTCModelError, match="cannot load a CTC model offline"):
        CTCModel.load(tmp_path / "missing")
    with pytest.raises(CTCModelError, match="offline"):
        CTCModel.load("no-such-org/no-such-model-xyz")


def test_chunk_plan_and_stitch_cover_every_frame_once():
    hop = 320
    n = 16000 * 7 + 123
    chunks = plan_chunks(n, 16000 * 2, 16000 // 2, hop)
    assert chunks[0].start == 0 and chunks[-1].end == n
    assert all(c.start % hop == 0 for c in chunks)
    total = (n - 400) // hop + 1
    # a fake model whose frame value is its global frame index, truncated at the chunk's end
    pieces = []
    for c in chunks:
        frames = (c.end - c.start - 400) // hop + 1
        pieces.append((c.start // hop + np.arange(frames, dtype=np.float32))[:, None])
    stitched = stitch(pieces, chunks, hop, total)
    assert stitched[:, 0].tolist() == list(range(total))
    # audio no longer than one chunk is a single chunk, whatever the overlap
    assert plan_chunks(1000, 16000, 4000, hop) == plan_chunks(1000, 16000, 0, hop)


def test_long_audio_is_chunked_and_stitched_to_the_full_length(w2v_dir):
    m = CTCModel.load(w2v_dir)
    wav = _wavs([16000 * 5 + 77], seed=3)[0]
    whole = m.log_posteriors([wav], chunk_seconds=60)[0]
    chunked = m.log_posteriors([wav], chunk_seconds=1.5, overlap_seconds=0.5)[0]
    assert chunked.shape == whole.shape == (m.num_frames(len(wav)), len(CHARS))
    assert np.isfinite(chunked).all()
