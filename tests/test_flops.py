"""The FLOP formulas of pretrain/flops.py against torch's FlopCounterMode, for every backbone."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from pretrain.backbones import BACKBONES
from pretrain.flops import backbone_flops, model_flops_per_audio_second, train_flops
from pretrain.loss import compute_loss
from pretrain.masking import compute_mask
from pretrain.model import HubertPretrainModel, ModelConfig


def _conv_backward(grad_out_shape, x_shape, w_shape, *args, out_shape=None, **kwargs):
    """What a convolution's backward computes: the forward's FLOPs per gradient asked for. (torch's own
    formula counts a grouped convolution's input gradient as if the convolution were not grouped.)"""
    output_mask = args[-1]
    forward = 2 * grad_out_shape[0] * math.prod(w_shape) * math.prod(grad_out_shape[2:])
    return forward * (int(output_mask[0]) + int(output_mask[1]))


def _model(name, **kw):
    torch.manual_seed(0)
    model = HubertPretrainModel(ModelConfig(backbone=name, size="tiny", layerdrop=0.0, **kw), [7, 3])
    model.backbone.model.set_attn_implementation("eager")  # CPU SDPA kernels are invisible to the counter
    return model


@pytest.mark.parametrize("name", list(BACKBONES))
@pytest.mark.parametrize("samples", [48000, 20321])
def test_forward_formula_matches_the_counter(name, samples):
    model = _model(name).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.encode(torch.randn(2, samples) * 0.1, None, None)
    f = backbone_flops(name, model.backbone.model.config, samples)
    assert 2 * f.forward == pytest.approx(counter.get_total_flops(), rel=1e-3)


@pytest.mark.parametrize("name,mult", [("hubert", 0.1), ("hubert", 0.0), ("w2v-bert", 1.0), ("fastconformer", 1.0)])
def test_training_formula_matches_the_counter(name, mult):
    model = _model(name, feature_grad_mult=mult).train()
    S = 40000
    T = model.backbone.num_frames(S)
    mask = torch.from_numpy(compute_mask([T] * 2, T, 0.8, 3, 2, np.random.default_rng(0)))
    targets = [torch.randint(0, 7, (2, T)), torch.randint(0, 3, (2, T))]
    with FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: _conv_backward}) as c:
        out = model(torch.randn(2, S) * 0.1, targets, mask)
        compute_loss(out, model.cfg).loss.backward()
    expected = train_flops(name, model.backbone.model.config, S, 2, int(out.mask.sum()), model.final_dim, [7, 3], mult)
    assert expected == pytest.approx(c.get_total_flops(), rel=1e-3)


def test_per_audio_second_figures_are_sane():
    base = {n: model_flops_per_audio_second(ModelConfig(backbone=n, size="base"), [500]) for n in BACKBONES}
    # HuBERT Base: ~43-47 GFLOP per audio-second forward+backward (DESIGN.md, torchaudio measurement)
    assert 40e9 < base["hubert"]["train_flops_per_audio_s"] < 50e9
    # 80 ms frames: far fewer FLOPs than any 20 ms model of the same size
    assert base["fastconformer"]["train_flops_per_audio_s"] < 0.5 * base["w2v-bert"]["train_flops_per_audio_s"]


def _ctc_models():
    from transformers import HubertConfig, HubertForCTC

    from pretrain.ctc.asr_models import scratch_ctc_model

    torch.manual_seed(0)
    hub = HubertForCTC(HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                    conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                                    vocab_size=10, pad_token_id=0, mask_time_prob=0.0, layerdrop=0.0))
    hub.freeze_feature_encoder()  # as the CTC fine-tuning of a HuBERT export does
    parakeet, fe = scratch_ctc_model({"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                                      "intermediate_size": 64, "subsampling_conv_channels": 16}, vocab_size=10)
    return {"hubert": (hub, None), "parakeet": (parakeet, fe)}


@pytest.mark.parametrize("kind", ["hubert", "parakeet"])
def test_ctc_training_formula_matches_the_counter(kind):
    """The CTC teacher's and the fine-tuning's FLOPs (the report's teacher column) against the counter."""
    from pretrain.backbones.fastconformer import mel_features
    from pretrain.flops import ctc_train_flops

    model, fe = _ctc_models()[kind]
    model.set_attn_implementation("eager")
    model.train()
    S = 32000
    wav = torch.randn(2, S) * 0.1
    labels = torch.randint(1, 10, (2, 4))
    with FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: _conv_backward}) as c:
        if fe is None:
            loss = model(input_values=wav, labels=labels).loss
        else:
            feats, valid = mel_features(fe, wav, None)
            loss = model(input_features=feats, attention_mask=valid.long(), labels=labels).loss
        loss.backward()
    expected = ctc_train_flops(model.config, S, 2, frozen_front=kind == "hubert")
    assert expected == pytest.approx(c.get_total_flops(), rel=1e-3)
