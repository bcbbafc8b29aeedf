"""Parity with the reference: our model's weights copied into torchaudio's HuBERTPretrainModel, the same
mask injected, give the same masked logits and the same loss (fairseq's HuBERT criterion)."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F

from loss_fixture import batch, model_for
from pretrain.loss import compute_loss

torchaudio = pytest.importorskip("torchaudio")
from torchaudio.models.wav2vec2 import components  # noqa: E402
from torchaudio.models.wav2vec2.model import HuBERTPretrainModel  # noqa: E402
from torchaudio.models.wav2vec2.utils import import_huggingface_model  # noqa: E402


class InjectedMask(torch.nn.Module):
    """torchaudio's mask generator replaced by a given mask (its masked_spec_embed: ours)."""

    def __init__(self, embedding: torch.Tensor, mask: torch.Tensor):
        super().__init__()
        self.mask_embedding = torch.nn.Parameter(embedding.detach().clone())
        self.mask = mask

    def forward(self, x, padding_mask):
        x = x.clone()
        x[self.mask] = self.mask_embedding.to(x.dtype)
        return x, self.mask


def torchaudio_copy(model, mask: torch.Tensor) -> HuBERTPretrainModel:
    """torchaudio's HuBERTPretrainModel holding `model`'s weights (one label set)."""
    logging.getLogger("torchaudio").setLevel(logging.ERROR)  # "lm_head is not imported": there is none
    wav2vec2 = import_huggingface_model(model.hubert)
    head = components.LogitGenerator(model.hubert.config.hidden_size, model.num_classes[0], model.final_dim,
                                      skip_masked=False, skip_nomask=False)
    head.final_proj.load_state_dict(model.final_proj.state_dict())
    head.label_embeddings.data.copy_(model.label_embs[0].weight)
    ref = HuBERTPretrainModel(wav2vec2, InjectedMask(model.hubert.masked_spec_embed, mask), head,
                              feature_grad_mult=model.cfg.feature_grad_mult)
    return ref.eval()


def test_masked_logits_and_loss_agree_with_torchaudio():
    torch.manual_seed(0)
    model = model_for((7,), {}).eval()
    wav, targets, mask, _ = batch((7,), padded=False, ignored=0)
    ref = torchaudio_copy(model, mask)
    with torch.no_grad():
        out = model(wav, targets, mask, with_unmasked=True)
        ours = compute_loss(out, model.cfg)
        logit_m, logit_u, pen = ref(wav, targets[0])
    # torchaudio's logits: column 0 the target class, then every class with the target's set to -inf.
    rows = torch.arange(len(out.target_m[0]))
    torch.testing.assert_close(logit_m[:, 0], out.logit_m[0][rows, out.target_m[0]], rtol=1e-5, atol=1e-5)
    theirs = logit_m[:, 1:].clone()
    theirs[rows, out.target_m[0]] = out.logit_m[0][rows, out.target_m[0]]
    torch.testing.assert_close(theirs, out.logit_m[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pen, out.feature_pen, rtol=1e-5, atol=1e-7)
    # fairseq / torchaudio recipe: summed CE over masked frames (target index 0) + weight x penalty x sample
    # size, divided by the sample size (the masked frames).
    n = len(logit_m)
    zeros = torch.zeros(n, dtype=torch.long)
    ref_loss = (F.cross_entropy(logit_m, zeros, reduction="sum") + model.cfg.feature_pen_weight * pen * n) / n
    torch.testing.assert_close(ours.loss, ref_loss, rtol=1e-5, atol=1e-5)
    assert ours.sample_size == n
    ref_loss_u = F.cross_entropy(logit_u, torch.zeros(len(logit_u), dtype=torch.long))
    torch.testing.assert_close(ours.metrics["loss_u"], ref_loss_u, rtol=1e-5, atol=1e-5)


def test_the_copy_is_a_real_copy():
    """A different model's weights give different logits: the comparison above is not vacuous."""
    torch.manual_seed(0)
    model = model_for((7,), {}).eval()
    wav, targets, mask, _ = batch((7,), padded=False, ignored=0)
    ref = torchaudio_copy(model, mask)
    with torch.no_grad():
        model.hubert.encoder.layers[0].feed_forward.output_dense.weight.mul_(1.5)
        out = model(wav, targets, mask)
        logit_m, _, _ = ref(wav, targets[0])
    rows = torch.arange(len(out.target_m[0]))
    assert not torch.allclose(logit_m[:, 0], out.logit_m[0][rows, out.target_m[0]], atol=1e-3)
