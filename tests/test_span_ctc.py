"""CTC over masked spans (CTCBERT): span extraction, collapsed targets, equality with F.ctc_loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pretrain.span_ctc import IGNORE, collapse_repeats, masked_spans, span_ctc


def test_collapse_repeats():
    assert collapse_repeats(torch.tensor([5, 5, 5, 2, 2, 7, 5, 5])).tolist() == [5, 2, 7, 5]
    assert collapse_repeats(torch.tensor([3])).tolist() == [3]
    assert collapse_repeats(torch.tensor([], dtype=torch.long)).tolist() == []


def test_spans_stop_at_unmasked_and_unlabelled_frames():
    mask = torch.tensor([[0, 1, 1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    targets = torch.tensor([[1, 2, 2, 3, 4, 4, 5, 6], [0, 0, 1, 1, IGNORE, IGNORE, 2, 2]])
    assert masked_spans(mask, targets) == [(0, 1, 4), (0, 5, 7), (1, 0, 4)]


def test_equals_ctc_loss_on_a_hand_made_case():
    torch.manual_seed(0)
    K = 4
    logits = torch.randn(1, 8, K)
    blank = torch.randn(1, 8)
    mask = torch.tensor([[0, 1, 1, 1, 1, 0, 1, 1]], dtype=torch.bool)
    targets = torch.tensor([[0, 2, 2, 1, 1, 3, 3, 3]])
    loss, n_spans, n_frames = span_ctc(logits, blank, targets, mask)
    assert (n_spans, n_frames) == (2, 6)

    logp = torch.cat([logits, blank[..., None]], -1).log_softmax(-1)[0]  # (8, K+1), blank = K
    # span 1: frames 1-4, labels 2 2 1 1 -> target [2, 1]; span 2: frames 6-7, labels 3 3 -> [3]
    first = F.ctc_loss(logp[1:5, None], torch.tensor([[2, 1]]), torch.tensor([4]), torch.tensor([2]),
                       blank=K, reduction="sum")
    second = F.ctc_loss(logp[6:8, None], torch.tensor([[3]]), torch.tensor([2]), torch.tensor([1]),
                        blank=K, reduction="sum")
    assert torch.allclose(loss, first + second, atol=1e-5)

    # by hand for the one-label span: paths over 2 frames emitting "3": (3,3), (3,b), (b,3)
    p = logp[6:8].exp()
    by_hand = -torch.log(p[0, 3] * p[1, 3] + p[0, 3] * p[1, K] + p[0, K] * p[1, 3])
    assert torch.allclose(second, by_hand, atol=1e-5)


def test_no_masked_frames_gives_zero_with_a_graph():
    logits = torch.randn(2, 5, 3, requires_grad=True)
    loss, n, frames = span_ctc(logits, torch.zeros(2, 5), torch.zeros(2, 5, dtype=torch.long),
                               torch.zeros(2, 5, dtype=torch.bool))
    assert (n, frames) == (0, 0) and float(loss.detach()) == 0.0
    loss.backward()


# ---------------------------------------------------------------- `model.loss: ctc` through the model

SMALL = dict(size="tiny", hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             conv_dim=[16] * 7, final_dim=8, layerdrop=0.0)


def _tone_batch(B=4, seconds=1.0, seed=0):
    """Tone sequences whose 50 Hz labels are each frame's tone (see tests/pretrain_helpers.py)."""
    import numpy as np

    from pretrain.masking import compute_mask
    from pretrain_helpers import labels_at, tone_utterance

    rng = np.random.default_rng(seed)
    wavs, labs = zip(*(tone_utterance(rng, seconds) for _ in range(B)))
    wav = torch.from_numpy(np.stack(wavs))
    targets = torch.from_numpy(np.stack([labels_at(c, 50) for c in labs]))
    T = targets.shape[1]
    mask = torch.from_numpy(compute_mask([T] * B, T, 0.8, 5, 2, np.random.default_rng(seed)))
    return wav, [targets], mask


def _loss_and_by_hand(**cfg):
    """A tiny model's loss on the tone batch, and the pieces to compute it by hand (no gradients)."""
    from pretrain.loss import LOSSES, compute_loss
    from pretrain.model import HubertPretrainModel, ModelConfig

    torch.manual_seed(0)
    model = HubertPretrainModel(ModelConfig(**SMALL, **cfg), [6]).eval()
    wav, targets, mask = _tone_batch()
    with torch.no_grad():
        res = compute_loss(model(wav, targets, mask, per_frame=LOSSES["ctc"].per_frame), model.cfg)
        lg = model.logits(model.hubert(wav, mask_time_indices=mask.clone()).last_hidden_state, 0)
        total, _, frames = span_ctc(lg[..., :6], lg[..., 6], targets[0], mask)
        pen = model.hubert.feature_extractor(wav).pow(2).mean()
    return model, res, (lg, targets, mask, total, frames, pen)


def test_ctc_loss_through_the_model_equals_span_ctc():
    model, res, (lg, targets, mask, total, frames, pen) = _loss_and_by_hand(loss="ctc")
    assert model.label_embs[0].num_embeddings == 7  # 6 classes + the blank
    torch.testing.assert_close(res.loss, total / frames + 10 * pen, rtol=1e-4, atol=1e-4)
    assert res.sample_size == frames == int(mask.sum()) and "ctc_m" in res.metrics


def test_ctc_with_unmasked_frames_adds_their_cross_entropy_over_the_real_classes():
    import torch.nn.functional as F

    _, res, (lg, targets, mask, total, frames, pen) = _loss_and_by_hand(loss="ctc", pred_nomask_weight=1.0)
    ce_u = F.cross_entropy(lg[~mask][:, :6], targets[0][~mask], reduction="sum")
    n_u = int((~mask).sum())
    assert res.sample_size == frames + n_u
    torch.testing.assert_close(res.loss, (total + ce_u) / (frames + n_u) + 10 * pen, rtol=1e-4, atol=1e-4)
    assert "loss_u" in res.metrics and res.weights["loss_u"] == n_u


def test_training_a_tiny_model_lowers_the_ctc_loss():
    from pretrain.loss import compute_loss
    from pretrain.model import HubertPretrainModel, ModelConfig

    torch.manual_seed(0)
    model = HubertPretrainModel(ModelConfig(**SMALL, loss="ctc"), [6]).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    wav, targets, mask = _tone_batch(seed=1)

    def ctc_value():
        model.eval()
        with torch.no_grad():
            v = float(compute_loss(model(wav, targets, mask, per_frame=True), model.cfg).metrics["ctc_m"])
        model.train()
        return v

    before = ctc_value()
    for step in range(60):
        w, t, m = _tone_batch(seed=100 + step % 6)
        loss = compute_loss(model(w, t, m, per_frame=True), model.cfg).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = ctc_value()
    assert after < 0.8 * before, (before, after)
