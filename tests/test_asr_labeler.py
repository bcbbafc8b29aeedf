"""The ASR labeler on a real (tiny, untrained) CTC checkpoint, written to and read from the label store."""

import numpy as np
import pytest
import soundfile as sf

from ctc_builders import CHARS, save_parakeet_ctc, save_wav2vec2_ctc
from labelers.asr_labeler import AsrLabeler
from labelers.ctc_posteriors import CTCModel
from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import LabelSet, Skip, write_label_set
from labelers.corpus.manifest import Manifest, write_manifest, write_side_file

WORDS = ["HELLO WORLD", "A B", "THIS TRANSCRIPT IS FAR TOO LONG FOR A HALF SECOND CLIP", "123 !!", "IT'S ME"]
SECONDS = [1.3, 0.9, 0.5, 0.8, 1.1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    rel, lens = [], []
    for i, s in enumerate(SECONDS):
        n = int(s * 16000) + i * 37
        sf.write(d / f"u{i}.wav", (0.1 * rng.standard_normal(n)).astype(np.float32), 16000)
        rel.append(f"u{i}.wav")
        lens.append(n)
    write_manifest(d / "train.tsv", Manifest(str(d), rel, lens))
    write_side_file(d / "train.wrd", WORDS)
    return d


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    w, p = tmp_path_factory.mktemp("w2v"), tmp_path_factory.mktemp("pk4")
    save_wav2vec2_ctc(w)
    save_parakeet_ctc(p, subsampling=4)
    return {"w2v": CTCModel.load(w), "parakeet": CTCModel.load(p)}


def _wavs(corpus):
    return [sf.read(corpus / f"u{i}.wav", dtype="float32")[0] for i in range(len(WORDS))]


@pytest.mark.parametrize("arch", ["w2v", "parakeet"])
@pytest.mark.parametrize("blank", ["hold", "nearest", "keep"])
def test_labels_with_transcripts_pass_the_store_validation(corpus, models, tmp_path, arch, blank):
    lab = AsrLabeler(models[arch], blank=blank)
    syms = lab.symbols()
    assert syms == (CHARS if blank == "keep" else CHARS[1:])
    wavs = _wavs(corpus)
    out = lab.label_batch(wavs, WORDS)
    # the over-long transcript and the one without a single known character are skipped, with reasons
    assert isinstance(out[2], Skip) and "needs" in out[2].reason
    assert isinstance(out[3], Skip) and "empty" in out[3].reason
    assert lab.removed_chars == {"1": 1, "2": 1, "3": 1, "!": 2}
    for i in (0, 1, 4):
        assert len(out[i]) == num_frames(len(wavs[i]), 50)
        assert out[i].min() >= 0 and out[i].max() < len(syms)
    # the aligned tokens appear in transcript order: frames read left to right, blanks dropped and
    # equal neighbours merged, spell the transcript with its double letter merged
    seq = [syms[c] for c in out[0] if syms[c] != "<pad>"]
    collapsed = [t for k, t in enumerate(seq) if k == 0 or t != seq[k - 1]]
    assert "".join(collapsed) == "HELO|WORLD"
    ls = write_label_set(tmp_path / "labels", corpus, {"train": out}, source=lab.source, label_rate=lab.label_rate,
                         symbols=syms, origin=lab.describe())
    read = LabelSet.open(tmp_path / "labels").read("train", corpus)
    assert read[2] is None and read[3] is None
    assert all(np.array_equal(read[i], out[i]) for i in (0, 1, 4))
    assert LabelSet.open(tmp_path / "labels").symbols() == syms
    assert ls.info["origin"]["frame_seconds"] == models[arch].frame_seconds


def test_best_path_fallback_min_confidence_and_strict(corpus, models):
    m = models["w2v"]
    wavs = _wavs(corpus)
    fb = AsrLabeler(m, unalignable="best-path", blank="keep").label_batch(wavs, WORDS)
    assert all(isinstance(x, np.ndarray) and len(x) == num_frames(len(w), 50) for x, w in zip(fb, wavs))
    # confidences are log-probabilities (< 0): a threshold of 0 drops every utterance and says why
    strict0 = AsrLabeler(m, min_confidence=0.0).label_batch(wavs, WORDS)
    assert all(isinstance(x, Skip) for x in strict0)
    assert "confidence" in strict0[0].reason
    lab = AsrLabeler(m, strict=True)
    out = lab.label_batch(wavs, WORDS)
    assert isinstance(out[3], Skip) and "'1'" in out[3].reason and isinstance(out[0], np.ndarray)
    assert lab.summary()["skipped_text"] == 1


def test_without_transcripts_uses_best_path(corpus, models):
    lab = AsrLabeler(models["parakeet"], use_transcripts=False, blank="keep", label_rate=100)
    wavs = _wavs(corpus)
    out = lab.label_batch(wavs)
    assert all(len(x) == num_frames(len(w), 100) for x, w in zip(out, wavs))
    assert lab.stats["best_path"] == len(wavs)
    with pytest.raises(ValueError, match="transcripts"):
        AsrLabeler(models["parakeet"]).label_batch(wavs)


def test_alignment_in_worker_processes_gives_the_same_labels(corpus, models):
    wavs = _wavs(corpus)
    inline = AsrLabeler(models["w2v"], blank="nearest")
    pooled = AsrLabeler(models["w2v"], blank="nearest", align_workers=2)
    try:
        a, b = inline.label_batch(wavs, WORDS), pooled.label_batch(wavs, WORDS)
    finally:
        pooled.close()
    assert [type(x) for x in a] == [type(x) for x in b]
    assert all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b))
    assert inline.summary() == pooled.summary()
