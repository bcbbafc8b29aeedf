"""Pre-training data: label rates, crops aligned with labels, bucketed batches shared by ranks, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import LabelStoreError, Skip, write_label_set
from pretrain.data import DataConfig, LabelRateError, MaskParams, PretrainData, make_batches
from pretrain.model import IGNORE
from pretrain_helpers import make_tone_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_tone_corpus(tmp_path_factory.mktemp("tones"), {"train": (12, 1.0, 3.0), "valid": (3, 1.0, 2.0)})


def _position_labels(corpus, out, rate, K=7, skip=None):
    """Label = (index of the 50 Hz frame it belongs to) mod K, at `rate`: crops must keep it consecutive."""
    from labelers.corpus.split import open_split

    step = rate // 50
    labels = {}
    for split in ("train", "valid"):
        m = open_split(corpus, split).manifest()
        labs = [(np.arange(num_frames(n, rate)) // step) % K for n in m.num_samples]
        if skip is not None and split == "train":
            labs[skip] = Skip("unreadable in the labeler")
        labels[split] = labs
    return write_label_set(out, corpus, labels, source="position", label_rate=rate, symbols=[str(i) for i in range(K)])


def _cfg(corpus, label_dirs, **kw):
    base = dict(data_dir=str(corpus), label_dirs=[str(d) for d in label_dirs], batch_seconds=5.0, min_sample_size=8000,
                max_sample_size=32000, num_workers=0)
    base.update(kw)
    return DataConfig(**base)


def test_crops_keep_labels_aligned_for_100hz_and_50hz(corpus, tmp_path):
    _position_labels(corpus, tmp_path / "l100", 100)
    _position_labels(corpus, tmp_path / "l50", 50)
    data = PretrainData(_cfg(corpus, [tmp_path / "l100", tmp_path / "l50"]), "train", MaskParams(), seed=0)
    originals = {u.utt: sf.read(u.path, dtype="float32")[0] for u in data.utts}
    seen_offsets = set()
    for batch in data.loader(epoch=0):
        B, S = batch["wav"].shape
        assert not batch["padded"] and batch["targets"][0].shape == (B, num_frames(S, 50))
        assert (batch["targets"][0] == batch["targets"][1]).all()  # 100 Hz sub-sampled = 50 Hz
        for b, utt in enumerate(batch["utts"]):
            k = int(batch["targets"][0][b, 0])  # offset (mod 7) in frames
            wav = originals[utt]
            offsets = [o for o in range(0, (len(wav) - S) // 320 + 1) if o % 7 == k]
            # the cropped audio is the original at one of the offsets the label names
            assert any(np.array_equal(batch["wav"][b].numpy(), wav[o * 320 : o * 320 + S]) for o in offsets), utt
            seen_offsets.add(k)
            t = batch["targets"][0][b]
            assert ((t[1:] - t[:-1]) % 7 == 1).all()
        assert batch["mask"].shape == batch["targets"][0].shape and batch["mask"].any()
    assert len(seen_offsets) > 1  # crops really are random


def test_batches_bucketed_shared_by_ranks_and_reshuffled():
    sizes = np.random.default_rng(0).integers(16000, 64000, 300)
    budget = 160000
    a0, a1 = make_batches(sizes, budget, True, 5, 0), make_batches(sizes, budget, True, 5, 1)
    assert a0 == make_batches(sizes, budget, True, 5, 0)  # same seed+epoch: same list on every rank
    assert a0 != a1
    for b in a0:
        assert min(sizes[b]) * len(b) <= budget or len(b) == 1
    assert sorted(i for b in a0 for i in b) == list(range(300))
    padded = make_batches(sizes, budget, False, 5, 0)
    assert all(max(sizes[b]) * len(b) <= budget or len(b) == 1 for b in padded)
    # length-sorted buckets waste little when cropping to the shortest
    kept = sum(min(sizes[b]) * len(b) for b in a0) / sizes.sum()
    assert kept > 0.9


def test_ranks_get_disjoint_equal_shares(corpus, tmp_path):
    _position_labels(corpus, tmp_path / "l50", 50)
    cfg = _cfg(corpus, [tmp_path / "l50"], batch_seconds=2.0)
    shares = [PretrainData(cfg, "train", MaskParams(), 0, rank=r, world=2).batch_keys(3) for r in range(2)]
    assert len(shares[0]) == len(shares[1]) > 0
    ids = [k[1] for s in shares for k in s]
    assert len(ids) == len(set(ids))


def test_refuses_unsupported_rate_and_names_bad_utterances(corpus, tmp_path):
    from labelers.corpus.split import open_split

    m = open_split(corpus, "train").manifest()
    labs = {s: [np.zeros(num_frames(n, 20), dtype=np.int64) for n in open_split(corpus, s).manifest().num_samples]
            for s in ("train", "valid")}
    write_label_set(tmp_path / "l20", corpus, labs, source="x", label_rate=20, symbols=["a"])
    with pytest.raises(LabelRateError, match=r"20 Hz is not supported.*100, 50, 25 or 12.5 Hz"):
        PretrainData(_cfg(corpus, [tmp_path / "l20"]), "train", MaskParams(), 0)
    # 100 Hz labels declared as 50 Hz: twice too long, refused naming the utterance
    labs = {s: [np.zeros(num_frames(n, 100), dtype=np.int64) for n in open_split(corpus, s).manifest().num_samples]
            for s in ("train", "valid")}
    write_label_set(tmp_path / "lie", corpus, labs, source="x", label_rate=50, symbols=["a"])
    with pytest.raises(LabelStoreError, match=m.relpaths[0]):
        PretrainData(_cfg(corpus, [tmp_path / "lie"]), "train", MaskParams(), 0)


def test_audio_disagreeing_with_manifest_is_skipped_and_named(corpus, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(corpus, bad)
    (bad / "train.tsv").write_text((bad / "train.tsv").read_text().replace(str(corpus), str(bad), 1))
    (bad / "valid.tsv").write_text((bad / "valid.tsv").read_text().replace(str(corpus), str(bad), 1))
    _position_labels(bad, tmp_path / "l50", 50, skip=1)
    wav, _ = sf.read(bad / "train" / "0000.wav")
    sf.write(bad / "train" / "0000.wav", wav[: len(wav) // 2], 16000)
    data = PretrainData(_cfg(bad, [tmp_path / "l50"]), "train", MaskParams(), 0)
    assert data.skipped == [{"utt": "train/0001", "reason": "no labels in " + str(tmp_path / "l50")}]
    skipped = [s for batch in data.loader(0) for s in batch["skipped"]]
    assert [s["utt"] for s in skipped] == ["train/0000"] and "audio has" in skipped[0]["reason"]
    assert all("train/0000" not in batch["utts"] for batch in data.loader(0))


def test_padding_mode_marks_padding(corpus, tmp_path):
    _position_labels(corpus, tmp_path / "l50", 50)
    data = PretrainData(_cfg(corpus, [tmp_path / "l50"], pad_audio=True, batch_seconds=8.0), "train", MaskParams(), 0)
    batch = max(data.loader(0), key=lambda b: len(set(b["frame_lengths"].tolist())))
    assert batch["padded"]
    for b, n in enumerate(batch["frame_lengths"].tolist()):
        assert (batch["targets"][0][b, n:] == IGNORE).all() and not batch["mask"][b, n:].any()
        assert (batch["targets"][0][b, : n - 1] != IGNORE).all()


def test_100hz_to_50hz_by_frame_centre_equals_every_second_label():
    from labelers.corpus.frames import frames_at_rate
    from pretrain.data import labels_at_50hz

    rng = np.random.default_rng(0)
    for n in [0, 1, 2, 3, 4, 5, 99, 100, 101, 998, 999]:
        labels = rng.integers(0, 100, size=n)
        assert np.array_equal(frames_at_rate(labels, 100, 50), labels[::2])
        assert np.array_equal(frames_at_rate(labels, 50, 50), labels)
    for num_samples in [400, 719, 720, 16000, 16000 * 3 + 123, 250000]:
        at_100 = rng.integers(0, 100, size=num_samples and (num_samples - 400) // 160 + 1)
        assert np.array_equal(labels_at_50hz(at_100, 100.0, "u", num_samples, "labels/x"), at_100[::2])
    with pytest.raises(LabelRateError, match=r"labels/x: u: 3 labels \(from 6 at 100.0 Hz\) at 50 Hz"):
        labels_at_50hz(np.zeros(6, np.int64), 100.0, "u", 16000, "labels/x")
    with pytest.raises(LabelRateError, match="label rate 20"):
        labels_at_50hz(np.zeros(6, np.int64), 20, "u", 16000, "labels/x")
    with pytest.raises(LabelRateError, match="6 labels at 25 Hz"):  # coarse rates: checked at their own rate
        labels_at_50hz(np.zeros(6, np.int64), 25, "u", 16000, "labels/x")
