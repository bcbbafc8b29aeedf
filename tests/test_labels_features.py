"""MFCC recipe, model features (tiny transformers checkpoints), k-means fit/assign, quality formulas."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torchaudio.functional as AF
from phone_corpus import make_phone_corpus
from torchaudio.compliance import kaldi

from labelers.features_mfcc import MfccFeatures
from labelers.corpus.frames import num_frames
from labelers.kmeans import KMeansLabeler, KMeansModel, assign, fit_kmeans
from labelers.corpus.label_store import LabelSet
from labelers.labeling_run import label_corpus
from labelers.quality import (
    label_set_quality,
    measure_quality,
    quality_from_joint,
    to_phone_rate,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_phone_corpus(tmp_path_factory.mktemp("phones") / "data", seed=1)


def test_mfcc_equals_kaldi_mfcc_plus_deltas():
    rng = np.random.default_rng(0)
    wavs = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (400, 16000, 23457)]
    feats = MfccFeatures().extract(wavs)
    for w, f in zip(wavs, feats):
        m = kaldi.mfcc(torch.from_numpy(w)[None], sample_frequency=16000, use_energy=False, num_ceps=13)
        d = AF.compute_deltas(m.T)
        dd = AF.compute_deltas(d)
        ref = torch.cat([m.T, d, dd]).T
        assert f.shape == (num_frames(len(w), 100), 39)
        torch.testing.assert_close(f, ref, rtol=0, atol=1e-5)


def test_assign_is_nearest_center():
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(500, 7, generator=g), torch.randn(13, 7, generator=g)
    labels, d = assign(x, c, chunk=64)
    full = torch.cdist(x, c) ** 2
    assert torch.equal(labels, full.argmin(1))
    torch.testing.assert_close(d, full.min(1).values, atol=1e-4, rtol=1e-4)


def test_quality_matches_hand_computed_joint_counts():
    # phones y in {0, 1}, labels z in {0, 1, 2}; counts[y, z]
    counts = np.array([[4, 1, 0], [0, 2, 3]])
    q = quality_from_joint(counts)
    p = counts / 10
    assert q["phone_purity"] == pytest.approx(0.4 + 0.2 + 0.3)  # sum_z max_y
    assert q["cluster_purity"] == pytest.approx(0.4 + 0.3)  # sum_y max_z
    py, pz = np.array([0.5, 0.5]), np.array([0.4, 0.3, 0.3])
    mi = sum(p[i, j] * np.log(p[i, j] / (py[i] * pz[j])) for i in range(2) for j in range(3) if p[i, j])
    hy = -np.sum(py * np.log(py))
    assert q["pnmi"] == pytest.approx(mi / hy, rel=1e-6)
    assert q["label_entropy"] == pytest.approx(-np.sum(pz * np.log(pz)), rel=1e-6)
    assert q["label_perplexity"] == pytest.approx(np.exp(-np.sum(pz * np.log(pz))), rel=1e-6)
    assert q["used_labels"] == 3
    # the same counts through sequences, labels at 50 Hz against phones at 100 Hz
    labels = [np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])]  # at 100 Hz: 8 x 0, 6 x 1, 6 x 2
    phones = [["a"] * 10 + ["b"] * 11]  # joint counts 2 x [[4, 1, 0], [0, 2, 3]]; one extra frame trimmed
    q2 = measure_quality(labels, phones, 50, 3)
    assert q2["frame_diff"] == 1 and q2["frames"] == 20
    assert q2["pnmi"] == pytest.approx(mi / hy, rel=1e-6) and q2["phone_purity"] == pytest.approx(0.9)
    assert q2["label_segment_frames"] == pytest.approx(10 / 3)
    with pytest.raises(ValueError, match="utt7"):
        measure_quality([np.zeros(3, dtype=int)], phones, 50, 3, utt_names=["utt7"])
    # 200 Hz label frame 2u is centred exactly where 100 Hz phone frame u is
    assert list(to_phone_rate(np.array([1, 2, 3, 4]), 200)) == [1, 3]
    # 50 Hz -> 100 Hz repeats each label twice (the odd phone frames are ties: the earlier label)
    assert list(to_phone_rate(np.array([5, 6, 7]), 50)) == [5, 5, 6, 6, 7, 7]
    # 25 Hz (hop 640): phone frame 4t+3 (centre 640t+680) is nearer label t+1 (640t+840) than t
    assert list(to_phone_rate(np.array([1, 2]), 25)) == [1, 1, 1, 2, 2, 2, 2, 2]


def test_kmeans_labels_beat_random_on_phone_corpus(corpus, tmp_path):
    model = fit_kmeans(MfccFeatures(), corpus, "train", 16, tmp_path / "km", percent=1.0, n_init=3,
                       max_iter=30, progress=False, verbose=False)
    stats = json.loads((tmp_path / "km" / "kmeans.json").read_text())
    assert stats == model.stats and model.n_clusters == 16
    assert stats["frames"] > 1000 and stats["inertia"] > 0 and stats["n_clusters"] == 16
    assert stats["params"]["batch_size"] == 10000 and stats["params"]["reassignment_ratio"] == 0.0
    label_corpus(KMeansLabeler(MfccFeatures(), KMeansModel.load(tmp_path / "km"), "cpu"), corpus, ["valid"],
                 tmp_path / "lab", progress=False, verbose=False)
    q = label_set_quality(tmp_path / "lab", corpus, "valid")
    ls = LabelSet.open(tmp_path / "lab")
    rng = np.random.default_rng(0)
    random = [rng.integers(0, 16, len(x)) for x in ls.read("valid", corpus)]
    phones = [line.split() for line in (corpus / "valid.phn").read_text().splitlines()]
    q_rand = measure_quality(random, phones, 100, 16)
    assert q["pnmi"] > 0.5 and q_rand["pnmi"] < 0.1 and q["pnmi"] > 5 * q_rand["pnmi"]
    assert q["phone_purity"] > q_rand["phone_purity"] + 0.2


def tiny_encoder(tmp_path, kind="hubert", norm="layer"):
    from transformers import HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2ForCTC

    torch.manual_seed(0)
    common = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
                  conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                  feat_extract_norm=norm, do_stable_layer_norm=norm == "layer", mask_time_prob=0.05)
    if kind == "hubert":
        model = HubertModel(HubertConfig(**common))
    else:
        model = Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=12, **common))
    folder = tmp_path / f"{kind}-{norm}"
    model.eval().save_pretrained(folder)
    return model, folder


def test_hubert_features_layers_chunks_and_padding(tmp_path):
    from labelers.features_model import ModelFeatures

    model, folder = tiny_encoder(tmp_path, "hubert", "layer")
    rng = np.random.default_rng(0)
    wavs = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (16000 * 3 + 123, 5000, 401)]
    f = ModelFeatures(folder, [1, 3], device="cpu", chunk_seconds=100)
    out = f.extract_layers(wavs)
    for i, w in enumerate(wavs):
        with torch.no_grad():
            ref = model(torch.from_numpy(w)[None], output_hidden_states=True).hidden_states
        for layer in (1, 3):
            assert out[layer][i].shape == (num_frames(len(w), 50), 32)
            torch.testing.assert_close(out[layer][i], ref[layer][0], atol=1e-5, rtol=1e-4)  # padding is masked
    chunked = ModelFeatures(folder, 1, device="cpu", chunk_seconds=1.0, context_seconds=0.5).extract(wavs)
    assert [c.shape[0] for c in chunked] == [num_frames(len(w), 50) for w in wavs]
    with torch.no_grad():
        ref = model(torch.from_numpy(wavs[0])[None], output_hidden_states=True).hidden_states[1][0]
    # with 0.5 s of context the chunk seams stay close to the unchunked features
    assert torch.nn.functional.cosine_similarity(chunked[0], ref).mean() > 0.9


def test_hubert_route_end_to_end_on_ctc_checkpoint(corpus, tmp_path):
    """A *ForCTC folder loads as its base encoder; fit-kmeans + labels + quality through the CLI."""
    from bootstrap.labels_cli import main

    _, folder = tiny_encoder(tmp_path, "wav2vec2", "group")
    km = tmp_path / "km"
    assert main(["fit-kmeans", "--source", "hubert", "--model", str(folder), "--layer", "2", "--data", str(corpus),
                 "--split", "train", "--n-clusters", "8", "--percent", "0.3", "--n-init", "2", "--max-iter", "5",
                 "--device", "cpu", "--out", str(km), "--no-progress"]) == 0
    out = tmp_path / "lab"
    assert main(["--source", "hubert", "--model", str(folder), "--layer", "2", "--kmeans", str(km), "--data",
                 str(corpus), "--splits", "valid", "--device", "cpu", "--out", str(out), "--no-progress"]) == 0
    ls = LabelSet.open(out)
    assert ls.label_rate == 50 and ls.num_classes == 8 and ls.info["origin"]["features"]["layers"] == [2]
    assert main(["quality", "--labels", str(out), "--reference", str(corpus), "--split", "valid"]) == 0
    q = json.loads((out / "quality.valid.json").read_text())
    assert q["label_rate"] == 50 and q["frame_diff"] >= 0 and 0 <= q["pnmi"] <= 1


class _NearConstantFeatures(MfccFeatures):
    """What an untrained encoder (or long silence) gives: every frame the same large vector, give or take
    a hair. Centers drawn from such frames are near-duplicates."""

    def extract_one(self, wav):
        n = num_frames(len(wav), self.rate)
        g = torch.Generator().manual_seed(len(wav))
        return 300.0 + 1e-4 * torch.randn((n, self.dim), generator=g)


def test_kmeans_on_near_duplicate_frames_keeps_its_centers(corpus, tmp_path):
    # scikit-learn's expanded distances let near-duplicate centers swap points: before the fix the fit
    # stopped with "scikit-learn moved the k-means centers while wrapping them"
    model = fit_kmeans(_NearConstantFeatures(), corpus, "train", 16, tmp_path / "km", percent=1.0, n_init=1,
                       seed=0, progress=False, verbose=False)
    loaded = KMeansModel.load(tmp_path / "km")
    assert loaded.n_clusters == 16 and np.array_equal(loaded.centers, model.centers)
    assert np.abs(loaded.centers - 300.0).max() < 1e-2
