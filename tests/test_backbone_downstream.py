"""Every backbone's export is usable downstream: `train-asr --init`, `bootstrap evaluate`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pretrain.export import export_run
from pretrain.model import HubertPretrainModel, ModelConfig

MICRO = dict(size="tiny", hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             final_dim=16, layerdrop=0.0)


@pytest.fixture(scope="module", params=["w2v-bert", "fastconformer"])
def export(request, tmp_path_factory):
    torch.manual_seed(0)
    model = HubertPretrainModel(ModelConfig(backbone=request.param, **MICRO), [5])
    out = tmp_path_factory.mktemp(request.param.replace("-", "_"))
    export_run(model, out, ["x"], normalize=False)
    return request.param, out / "hf"


def test_init_from_every_backbone_builds_a_ctc_model_that_trains(export, synth_corpus, tmp_path):
    from transformers import AutoModelForCTC, AutoProcessor

    from pretrain.ctc.asr_config import load_asr_config
    from pretrain.ctc.train import train_asr

    name, hf = export
    cfg = load_asr_config(None, [
        "batch_seconds=8", "max_eval_utterances=4", "freeze_encoder_steps=0", "init_overrides.mask_time_prob=0.0",
        "loop.max_steps=3", "loop.lr=1.0e-3", "loop.warmup_steps=1", "loop.eval_every=0", "loop.save_every=1000",
    ])
    out = tmp_path / "ft"
    summary = train_asr(synth_corpus, "labeled", out, cfg, init=hf, valid_split="valid")
    arch = {"w2v-bert": "Wav2Vec2BertForCTC", "fastconformer": "ParakeetForCTC"}[name]
    assert summary["architecture"] == arch
    assert summary["frame_seconds"] == pytest.approx({"w2v-bert": 0.02, "fastconformer": 0.08}[name], abs=2e-3)
    assert np.isfinite(summary["valid"]["loss"])
    # the training FLOPs are counted (the comparison's compute column carries a CTC teacher's)
    assert summary["total_flops"] > 0 and summary["flops_per_audio_s"] > 0
    assert type(AutoModelForCTC.from_pretrained(out)).__name__ == arch
    assert AutoProcessor.from_pretrained(out) is not None


def test_evaluate_layers_of_every_backbone(export, synth_corpus, tmp_path):
    from bootstrap.evaluation.layers import EvalSettings, evaluate_layers

    name, hf = export
    s = EvalSettings(k=8, max_train_seconds=30, max_eval_seconds=15, probe_epochs=1, device="cpu")
    result = evaluate_layers(hf, synth_corpus, s)
    assert result["frame_rate"] == {"w2v-bert": 50, "fastconformer": 12.5}[name]
    assert [r["layer"] for r in result["layers"]] == [0, 1, 2]
    for r in result["layers"]:
        assert 0.0 <= r["pnmi"] <= 1.0 and 0.0 <= r["probe_accuracy"] <= 1.0
    json.dumps(result)
