"""Every backbone behind `model.backbone`: features, masking, learning, export through AutoModel, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import (AutoFeatureExtractor, AutoModel, ParakeetFeatureExtractor, SeamlessM4TFeatureExtractor)

from labelers.corpus.frames import num_frames
from pretrain.__main__ import main
from pretrain.backbones import BACKBONES
from pretrain.backbones.fastconformer import mel_features
from pretrain.data import PretrainData, DataConfig, MaskParams
from pretrain.export import export_run, load_pretrain_model
from pretrain.frame_labels import pool_labels
from pretrain.loss import compute_loss
from pretrain.masking import compute_mask
from pretrain.model import HubertPretrainModel, ModelConfig
from pretrain_helpers import tone_corpus_with_labels

ROOT = Path(__file__).resolve().parents[1]
NAMES = list(BACKBONES)
MICRO = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, final_dim=16,
             layerdrop=0.0, dropout=0.0, attention_dropout=0.0, dropout_input=0.0)


def micro_cfg(name: str, **kw) -> ModelConfig:
    extra = {"conv_dim": [16] * 7} if name == "hubert" else {}
    mask_length = 3 if name == "fastconformer" else 10  # spans of ~200-240 ms at either frame rate
    return ModelConfig(backbone=name, size="tiny", mask_length=mask_length, **MICRO, **extra, **kw)


def batch_for(model, B=2, S=24000, classes=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    wav = torch.randn(B, S, generator=g) * 0.1
    T = model.backbone.num_frames(S)
    targets = [torch.randint(0, classes, (B, T), generator=g)]
    L = model.cfg.mask_length
    mask = torch.from_numpy(compute_mask([T] * B, T, 0.8, L, 2, np.random.default_rng(seed)))
    return wav, targets, mask


def encoder_input_module(backbone):
    """The module whose first input is the sequence the mask embedding is written into."""
    if backbone.name == "fastconformer":
        return backbone.model.layers[0]
    return backbone.model.encoder


# ---------------------------------------------------------------- features on the device = the exported extractor


def test_w2v_bert_features_equal_seamless_extractor():
    rng = np.random.default_rng(0)
    wavs = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (16000, 13000)]
    fe = SeamlessM4TFeatureExtractor()
    ref = fe(wavs, sampling_rate=16000, return_tensors="pt", padding=True)
    batch = torch.zeros(2, 16000)
    for i, w in enumerate(wavs):
        batch[i, : len(w)] = torch.from_numpy(w)
    bb = BACKBONES["w2v-bert"](micro_cfg("w2v-bert"))
    got, mask = bb.features(batch, torch.tensor([16000, 13000]))
    T = ref["input_features"].shape[1]
    assert got.shape[1] == T
    valid = ref["attention_mask"].bool()
    assert torch.equal(mask, valid)
    torch.testing.assert_close(got[valid], ref["input_features"][valid].float(), atol=2e-3, rtol=1e-3)
    # Without padding (the training case): the same features from the unpadded call.
    one, none = bb.features(batch[:1], None)
    assert none is None
    torch.testing.assert_close(one[0], ref["input_features"][0].float(), atol=2e-3, rtol=1e-3)


def test_fastconformer_features_equal_parakeet_extractor():
    rng = np.random.default_rng(1)
    wavs = [rng.standard_normal(n).astype(np.float32) * 0.1 for n in (16000, 12345)]
    fe = ParakeetFeatureExtractor(feature_size=80, sampling_rate=16000)
    ref = fe(wavs, sampling_rate=16000, return_tensors="pt")
    batch = torch.zeros(2, 16000)
    for i, w in enumerate(wavs):
        batch[i, : len(w)] = torch.from_numpy(w)
    got, mask = mel_features(fe, batch, torch.tensor([16000, 12345]))
    assert torch.equal(mask, ref["attention_mask"].bool())
    torch.testing.assert_close(got, ref["input_features"], atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------- masking, learning


@pytest.mark.parametrize("name", NAMES)
def test_masking_changes_only_masked_frames_of_the_encoder_input(name):
    torch.manual_seed(0)
    model = HubertPretrainModel(micro_cfg(name), [5]).eval()
    wav, _, mask = batch_for(model)
    seen = []
    hook = encoder_input_module(model.backbone).register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    with torch.no_grad():
        model.encode(wav, None, mask)
        model.encode(wav, None, None)
    hook.remove()
    masked, clean = seen
    T = min(masked.shape[1], mask.shape[1])
    m = mask[:, :T]
    diff = (masked[:, :T] != clean[:, :T]).any(-1)
    assert torch.equal(diff, m), name
    # the masked frames carry the mask embedding, the same vector everywhere
    rows = masked[:, :T][m]
    assert torch.allclose(rows, rows[:1].expand_as(rows))


@pytest.mark.parametrize("name", NAMES)
def test_loss_decreases_on_a_fixed_batch(name):
    torch.manual_seed(0)
    model = HubertPretrainModel(micro_cfg(name), [5])
    wav, targets, mask = batch_for(model)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = compute_loss(model(wav, targets, mask), model.cfg).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] - 0.3, losses


@pytest.mark.parametrize("name", NAMES)
def test_export_round_trips_through_auto_classes(name, tmp_path):
    torch.manual_seed(0)
    model = HubertPretrainModel(micro_cfg(name), [5, 3]).eval()
    export_run(model, tmp_path, ["a", "b"], normalize=False)
    hf = AutoModel.from_pretrained(tmp_path / "hf").eval()
    fe = AutoFeatureExtractor.from_pretrained(tmp_path / "hf")
    assert type(hf) is type(model.backbone.model)
    wav = np.random.default_rng(0).standard_normal(20000).astype(np.float32) * 0.1
    inputs = fe(wav, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        got = hf(**inputs).last_hidden_state
        ref, _, _ = model.encode(torch.from_numpy(wav)[None], None, None)
    n = min(got.shape[1], ref.shape[1])
    assert abs(got.shape[1] - ref.shape[1]) <= 1
    torch.testing.assert_close(got[:, :n], ref[:, :n], atol=1e-4, rtol=1e-4)
    again = load_pretrain_model(tmp_path).eval()
    w, t, m = batch_for(model)
    t = t + [t[0] % 3]
    with torch.no_grad():
        torch.testing.assert_close(compute_loss(again(w, t, m), again.cfg).loss,
                                   compute_loss(model(w, t, m), model.cfg).loss)


# ---------------------------------------------------------------- label rate


def test_pool_labels_majority_rule_and_exact_count():
    lab = np.array([1, 1, 2, 2, 3, 3, 3, 4, 5, 6, 6, 7, 8, 8])
    # 80 ms frame j owns the 50 Hz frames 4j-1 .. 4j+2 (nearest centres): [1 1 2] -> 1; [2 3 3 3] -> 3;
    # [4 5 6 6] -> 6; [7 8 8] -> 8
    assert pool_labels(lab, 4, 4).tolist() == [1, 3, 6, 8]
    assert pool_labels(np.array([5, 5, 7, 7, 2, 9]), 4, 2).tolist() == [5, 7]  # [7 2 9]: a three-way tie, the earliest wins
    assert pool_labels(np.array([4, 4, 4, 1, 2, 1, 2]), 4, 2).tolist() == [4, 1]  # tie 1/2 -> the earlier
    rng = np.random.default_rng(0)
    for n in list(range(400, 5000, 37)) + list(range(32000, 34000, 13)):
        n50, n80 = num_frames(n, 50), num_frames(n, 12.5)
        out = pool_labels(rng.integers(0, 9, n50), 4, n80)
        assert len(out) == n80
        if n50 > 1:
            out = pool_labels(rng.integers(0, 9, n50 - 1), 4, n80)  # a source one frame short (tolerated)
            assert len(out) == n80


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return tone_corpus_with_labels(tmp_path_factory.mktemp("tones_bb"), {"train": (12, 1.5, 2.5), "valid": (3, 2.0, 2.5)})


def test_fastconformer_batches_have_labels_at_80ms(tones):
    cfg = DataConfig(data_dir=str(tones / "corpus"), label_dirs=[str(tones / "l100")], batch_seconds=6,
                     min_sample_size=16000, num_workers=0)
    data = PretrainData(cfg, "train", MaskParams(0.8, 3, 2), seed=0, frame_rate=12.5)
    for u in data.utts:
        assert len(u.labels[0]) == num_frames(u.num_samples, 12.5)
    batch = next(iter(data.loader(0)))
    T = num_frames(batch["wav"].shape[1], 12.5)
    assert batch["targets"][0].shape[1] == T == batch["mask"].shape[1]


# ---------------------------------------------------------------- whole runs


def _args(tones, out, name, steps, extra=()):
    micro = [f"model.{k}={v}" for k, v in MICRO.items()]
    if name == "hubert":
        micro.append("model.conv_dim=[16,16,16,16,16,16,16]")
    if name == "fastconformer":
        micro.append("model.mask_length=3")
    return ["--config", str(ROOT / "conf/pretrain/tiny.yaml"), f"data.data_dir={tones / 'corpus'}",
            f"data.label_dirs=[{tones / 'l100'}]", "data.batch_seconds=6", "data.num_workers=0",
            "data.valid_max_batches=1", f"loop.output_dir={out}", f"loop.max_steps={steps}", "loop.trackers=",
            "loop.log_every=2", "loop.eval_every=0", "loop.lr=3e-3", "loop.warmup_steps=2",
            f"model.backbone={name}", *micro, *extra]


class Crash(Exception):
    pass


@pytest.mark.parametrize("name", NAMES)
def test_tiny_run_trains_exports_and_resumes_exactly(name, tones, tmp_path, monkeypatch):
    """A few updates; the export loads with AutoModel; a run killed after update 3 and resumed is identical."""
    from pretrain.task import PretrainTask

    steps, real_step, calls = 5, PretrainTask.step, {"n": 0}
    extra = ["loop.save_every=2", "loop.keep_last=5"]

    def dying_step(self, model, batch):
        calls["n"] += 1
        if calls["n"] == 4:
            raise Crash()
        return real_step(self, model, batch)

    monkeypatch.setattr(PretrainTask, "step", dying_step)
    with pytest.raises(Crash):
        main(_args(tones, tmp_path / "b", name, steps, extra))
    monkeypatch.setattr(PretrainTask, "step", real_step)
    main(_args(tones, tmp_path / "b", name, steps, extra))
    summary = main(_args(tones, tmp_path / "a", name, steps, extra))
    a = load_file(tmp_path / "a" / "checkpoints" / f"step_{steps:08d}" / "model.safetensors")
    b = load_file(tmp_path / "b" / "checkpoints" / f"step_{steps:08d}" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    log = [json.loads(x) for x in (tmp_path / "a" / "train_log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss"]) for r in log if r["split"] == "train")
    hf = AutoModel.from_pretrained(tmp_path / "a" / "hf")
    assert type(hf).__name__ == {"hubert": "HubertModel", "w2v-bert": "Wav2Vec2BertModel",
                                 "fastconformer": "ParakeetEncoder"}[name]
    assert AutoFeatureExtractor.from_pretrained(tmp_path / "a" / "hf") is not None
    assert summary["updates"] == steps
    # compute accounting: FLOPs of every batch, audio-s/s, device-hours (no MFU on a CPU)
    train = [r for r in log if r["split"] == "train"]
    assert summary["total_flops"] == pytest.approx(train[-1]["total_flops"]) and summary["total_flops"] > 0
    assert all(r["flops_per_s"] > 0 and r["audio_s_per_s"] > 0 for r in train)
    assert summary["audio_s_per_s"] > 0 and summary["device_hours"] > 0 and "mfu" not in summary
    saved = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert saved["flops_per_audio_s"] == pytest.approx(summary["total_flops"] / (summary["audio_hours"] * 3600))


def test_coarse_teacher_labels_spread_over_50hz_frames_by_centre():
    from pretrain.data import labels_at_50hz, labels_at_rate

    for n in (16000, 16400, 17679, 33333):
        lab = np.arange(num_frames(n, 12.5))
        at50 = labels_at_50hz(lab, 12.5, "u", n, "d")
        assert len(at50) == num_frames(n, 50)
        assert at50[:7].tolist() == [0, 0, 0, 1, 1, 1, 1]  # nearest centre: 80 ms frame j <- 50 Hz 4j-1 .. 4j+2
        # and back to 80 ms for a fastconformer student: the teacher's own labels (same centre rule)
        assert labels_at_rate(lab, 12.5, "u", n, "d", 12.5).tolist() == lab.tolist()


@pytest.mark.parametrize("name", NAMES)
def test_export_serves_as_a_feature_source(name, tmp_path):
    """The k-means teacher path (`--source hubert`, `bootstrap evaluate`) reads every backbone's export."""
    from labelers.features_model import ModelFeatures

    torch.manual_seed(0)
    model = HubertPretrainModel(micro_cfg(name), [5]).eval()
    export_run(model, tmp_path, ["a"], normalize=False)
    feats = ModelFeatures(tmp_path / "hf", [1, 2], device="cpu")
    assert feats.rate == model.backbone.frame_rate and feats.hop == model.backbone.hop
    wavs = [np.random.default_rng(i).standard_normal(n).astype(np.float32) * 0.1 for i, n in enumerate((30000, 17000))]
    out = feats.extract_layers(wavs)
    for w, h in zip(wavs, out[2]):
        assert h.shape == (num_frames(len(w), feats.rate), 32)
    with torch.no_grad():
        ref, _, _ = model.encode(torch.from_numpy(wavs[0])[None], None, None)
    n = min(ref.shape[1], out[2][0].shape[0])
    torch.testing.assert_close(out[2][0][:n], ref[0, :n], atol=1e-4, rtol=1e-4)


def test_config_names_the_backbone_and_its_sizes():
    from pretrain.config import ConfigError, load_config

    for name in NAMES:
        for size in ("tiny", "base", "large"):
            cfg = load_config(str(ROOT / "conf/pretrain" / f"{'' if name == 'hubert' else name.replace('-', '_') + '_'}{size}.yaml"))
            assert cfg.model.backbone == name and cfg.model.size == size
    with pytest.raises(ConfigError, match="model.backbone.*conformer"):
        load_config(None, ["model.backbone=conformer"])
