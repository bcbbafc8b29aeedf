"""The pre-training head and masking against straightforward reference computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers import HubertModel

from pretrain.export import export_run, load_pretrain_model
from pretrain.loss import compute_loss
from pretrain.masking import compute_mask, expected_masked
from pretrain.model import IGNORE, HubertPretrainModel, ModelConfig


SMALL = dict(size="tiny", hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             conv_dim=[16] * 7, final_dim=8, layerdrop=0.0)


def _loss(model, *args, **kwargs) -> torch.Tensor:
    return compute_loss(model(*args, **kwargs), model.cfg).loss


def _batch(B=2, S=8000, classes=(5,), seed=0):
    g = torch.Generator().manual_seed(seed)
    wav = torch.randn(B, S, generator=g)
    T = (S - 400) // 320 + 1
    targets = [torch.randint(0, k, (B, T), generator=g) for k in classes]
    mask = torch.from_numpy(compute_mask([T] * B, T, 0.8, 5, 2, np.random.default_rng(seed)))
    return wav, targets, mask


def _reference_loss(model: HubertPretrainModel, wav, targets, mask, w_m=1.0, w_u=0.0):
    """Per-frame, per-class cosine similarities through HubertModel.forward (eval mode, same mask)."""
    h = model.hubert(wav, mask_time_indices=mask.clone()).last_hidden_state
    feats = model.hubert.feature_extractor(wav)
    loss = model.cfg.feature_pen_weight * feats.pow(2).mean()
    n_masked = int(mask.sum())
    for i, t in enumerate(targets):
        proj = model.final_proj(h).chunk(len(targets), dim=-1)[i]
        emb = model.label_embs[i].weight
        total_m, total_u = 0.0, 0.0
        for b in range(h.shape[0]):
            for f in range(h.shape[1]):
                logits = torch.stack([F.cosine_similarity(proj[b, f], emb[c], dim=0) for c in range(len(emb))]) / 0.1
                ce = -torch.log_softmax(logits, 0)[t[b, f]]
                if mask[b, f]:
                    total_m = total_m + ce
                else:
                    total_u = total_u + ce
        # fairseq normalises by the frames of every weighted term (sample_size)
        loss = loss + (w_m * total_m + w_u * total_u) / (n_masked + (mask.numel() - n_masked if w_u > 0 else 0))
    return loss


@pytest.mark.parametrize("classes,w_u", [((5,), 0.0), ((5, 3), 0.5)])
def test_head_loss_equals_reference(classes, w_u):
    torch.manual_seed(0)
    model = HubertPretrainModel(ModelConfig(**SMALL, pred_nomask_weight=w_u), list(classes)).eval()
    wav, targets, mask = _batch(classes=classes)
    with torch.no_grad():
        out = _loss(model, wav, targets, mask)
        ref = _reference_loss(model, wav, targets, mask, w_u=w_u)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    assert len(model.label_embs) == len(classes) and model.final_proj.out_features == 8 * len(classes)


def test_ignored_frames_are_left_out_of_the_loss():
    torch.manual_seed(0)
    model = HubertPretrainModel(ModelConfig(**SMALL), [5]).eval()
    wav, targets, mask = _batch()
    cut = targets[0].clone()
    cut[1, 10:] = IGNORE
    keep = mask.clone()
    keep[1, 10:] = False
    with torch.no_grad():
        res = compute_loss(model(wav, [cut], mask), model.cfg)
        a = res.loss
        # Same frames by hand: only masked frames with a label, normalised by their count.
        h = model.hubert(wav, mask_time_indices=mask.clone()).last_hidden_state
        lg = model.logits(h[keep], 0)
        ref = F.cross_entropy(lg, targets[0][keep]) + 10 * model.hubert.feature_extractor(wav).pow(2).mean()
    torch.testing.assert_close(a, ref, rtol=1e-4, atol=1e-5)
    assert int(res.metrics["n_masked"]) == res.sample_size == int(keep.sum())


def test_feature_grad_mult_scales_cnn_gradients():
    grads = {}
    for mult in (1.0, 0.1):
        torch.manual_seed(0)
        model = HubertPretrainModel(ModelConfig(**SMALL, feature_grad_mult=mult, dropout=0.0, attention_dropout=0.0,
                                                dropout_input=0.0), [5])
        wav, targets, mask = _batch()
        _loss(model, wav, targets, mask).backward()
        grads[mult] = (model.hubert.feature_extractor.conv_layers[0].conv.weight.grad.clone(),
                       model.hubert.encoder.layers[0].attention.q_proj.weight.grad.clone())
    torch.testing.assert_close(grads[0.1][0], 0.1 * grads[1.0][0], rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(grads[0.1][1], grads[1.0][1])


def _expected_coverage(n, p, L, eps_draws=2000, rng=None):
    """E[masked fraction] for fairseq-style masking without same-count trimming (exact per span count)."""
    M = n - L + 1
    cover = np.array([min(t + 1, L, M, n - t) for t in range(n)])  # starts covering frame t
    total = 0.0
    for u in np.linspace(0, 1, eps_draws, endpoint=False) + 0.5 / eps_draws:
        N = max(2, int(p * n / L + u))
        # P(frame t uncovered) = C(M - c, N) / C(M, N)
        log_c = lambda a, b: math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)
        unc = np.array([math.exp(log_c(M - c, N) - log_c(M, N)) if M - c >= N else 0.0 for c in cover])
        total += 1 - unc.mean()
    return total / eps_draws


def test_mask_statistics_match_fairseq_expectation():
    rng = np.random.default_rng(0)
    n, L, p = 200, 10, 0.8
    m = compute_mask([n] * 400, n, p, L, 2, rng, same_count=False)
    expected = _expected_coverage(n, p, L)
    assert 0.5 < expected < 0.6  # ~1 - exp(-p): spans overlap
    assert m.mean() == pytest.approx(expected, abs=0.01)
    spans = (m[:, 1:] & ~m[:, :-1]).sum(1) + m[:, 0]
    assert spans.max() <= int(p * n / L) + 1


def test_mask_same_count_per_row_and_respects_lengths():
    rng = np.random.default_rng(1)
    lengths = [120, 80, 100]
    m = compute_mask(lengths, 120, 0.8, 10, 2, rng)
    counts = m.sum(1)
    assert len(set(counts.tolist())) == 1 and counts[0] > 0
    for b, n in enumerate(lengths):
        assert not m[b, n:].any()


def test_mask_min_masks_and_short_utterances():
    rng = np.random.default_rng(2)
    # 15 frames at p=0.8, L=10: int(1.2 + u) is 1 or 2 spans, min_masks raises it to 2 starts among 6.
    m = compute_mask([15] * 200, 15, 0.8, 10, 2, rng, same_count=False)
    assert (m.sum(1) >= 11).all()
    # Shorter than a span: masked but never out of range, no crash; empty rows stay empty.
    m = compute_mask([4, 0, 30], 30, 0.8, 10, 2, rng, same_count=False)
    assert m[0, :4].all() and not m[0, 4:].any() and not m[1].any() and m[2].sum() >= 10
    assert not compute_mask([50], 50, 0.0, 10, 0, rng).any()


def test_fixed_count_masks_exactly_that_many_in_spans_at_the_fairseq_rate():
    n, L, p = 200, 10, 0.8
    count = expected_masked(n, p, L, 2)
    assert count == pytest.approx(_expected_coverage(n, p, L) * n, rel=0.03)  # what same_count=False averages
    rng = np.random.default_rng(3)
    for lengths in ([n] * 50, [n, n - 1, 180]):
        m = compute_mask(lengths, n, p, L, 2, rng, count=count)
        assert (m.sum(1) == count).all()
        for b, length in enumerate(lengths):
            assert not m[b, length:].any()
    # rows are still span masks, not scattered frames: most masked frames have a masked neighbour
    m = compute_mask([n] * 50, n, p, L, 2, rng, count=count)
    neighbour = m[:, 1:-1] & (m[:, :-2] | m[:, 2:])
    assert neighbour.sum() / m[:, 1:-1].sum() > 0.8
    # a count above what fits is cut to the shortest row
    assert (compute_mask([30, 12], 30, 0.8, 10, 2, rng, count=25).sum(1) == 12).all()


def test_export_loads_with_from_pretrained_and_same_hidden_states(tmp_path):
    torch.manual_seed(0)
    model = HubertPretrainModel(ModelConfig(**SMALL), [5, 3]).eval()
    export_run(model, tmp_path, ["a", "b"], normalize=False)
    hf = HubertModel.from_pretrained(tmp_path / "hf").eval()
    assert hf.config.mask_time_prob == 0.05 and torch.equal(hf.masked_spec_embed, model.hubert.masked_spec_embed)
    wav = torch.randn(2, 6400)
    with torch.no_grad():
        ref = model.hubert(wav, output_hidden_states=True)
        got = hf(wav, output_hidden_states=True)
    for a, b in zip(ref.hidden_states, got.hidden_states):
        torch.testing.assert_close(a, b)
    again = load_pretrain_model(tmp_path).eval()
    wav, targets, mask = _batch(classes=(5, 3))
    with torch.no_grad():
        torch.testing.assert_close(_loss(again, wav, targets, mask), _loss(model, wav, targets, mask))
    assert (tmp_path / "hf" / "preprocessor_config.json").is_file()
