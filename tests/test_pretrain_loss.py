"""The loss module (pretrain/loss.py): the same loss and metrics, bit for bit, as the loss that lived in
the model before it, and the choice of loss by `model.loss`."""

from __future__ import annotations

import json

import pytest
import torch

from loss_fixture import CASES, FIXTURE, batch, model_for
from pretrain.config import ConfigError, load_config
from pretrain.loss import LOSSES, compute_loss, sample_size


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_module_equals_the_recorded_loss_bit_for_bit(name):
    expected = json.loads(FIXTURE.read_text())[name]
    classes, overrides, train, with_unmasked, padded, ignored = CASES[name]
    model = model_for(classes, overrides).train(train)
    wav, targets, mask, lengths = batch(classes, padded, ignored)
    res = compute_loss(model(wav, targets, mask, lengths, with_unmasked=with_unmasked), model.cfg)
    res.loss.backward()
    got = {k: float(v) for k, v in res.metrics.items()}
    got["grad_sq"] = sum(float(p.grad.double().pow(2).sum()) for p in model.parameters() if p.grad is not None)
    assert got == expected  # exact: the same operations in the same order
    assert res.sample_size == int(expected["n_masked"]) + (
        int(((~mask) & (targets[0] != -100)).sum()) if overrides.get("pred_nomask_weight", 0) > 0 else 0)


def test_metric_weights_are_their_own_frame_counts():
    classes, overrides, *_ = CASES["eval_with_unmasked_ignored"]
    model = model_for(classes, overrides).eval()
    wav, targets, mask, lengths = batch(classes, False, 12)
    with torch.no_grad():
        res = compute_loss(model(wav, targets, mask, with_unmasked=True), model.cfg)
    labelled = targets[0] != -100
    assert res.weights["loss_m"] == res.weights["acc_m"] == float((mask & labelled).sum())
    assert res.weights["loss_u"] == res.weights["acc_u"] == float((~mask & labelled).sum())
    assert res.weights["loss"] == res.sample_size == float((mask & labelled).sum())  # unmasked weight 0


def test_sample_size_follows_fairseq():
    assert sample_size(30, 70, 1.0, 0.0) == 30
    assert sample_size(30, 70, 1.0, 0.5) == 100
    assert sample_size(30, 70, 0.0, 1.0) == 70
    assert sample_size(30, None, 1.0, 1.0) == 30  # unmasked frames not computed


def test_per_frame_logits_for_losses_that_need_them():
    model = model_for((5, 3), {}).eval()
    wav, targets, mask, lengths = batch((5, 3), True, 0)
    with torch.no_grad():
        out = model(wav, targets, mask, lengths, per_frame=True)
    B, T = out.mask.shape
    assert [tuple(lg.shape) for lg in out.logits] == [(B, T, 5), (B, T, 3)]
    assert out.padding is not None and out.padding[1].sum() == 7 and not out.padding[0].any()
    torch.testing.assert_close(out.logits[0][out.mask & (out.targets[0] != -100)], out.logit_m[0])


def test_model_loss_key_is_checked():
    assert load_config(None, ["model.loss=ce"]).model.loss == "ce" and "ce" in LOSSES
    with pytest.raises(ConfigError, match="model.loss.*ctcx.*choose from"):
        load_config(None, ["model.loss=ctcx"])
