"""Fixed batches and tiny seeded models whose pre-training loss and metrics are stored in
tests/fixtures/pretrain_loss.json (written once with the code before the loss module existed).

    PYTHONPATH=<checkout to record> python tests/loss_fixture.py    # rewrites the fixture
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "pretrain_loss.json"

SMALL = dict(size="tiny", hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             conv_dim=[16] * 7, final_dim=8, layerdrop=0.0, dropout=0.0, attention_dropout=0.0, dropout_input=0.0)

# name: (classes per label set, model overrides, train mode, with_unmasked, padded, ignored tail frames)
CASES = {
    "one_set_train": ((5,), {}, True, None, False, 0),
    "two_sets_unmasked_weighted": ((5, 3), {"pred_nomask_weight": 0.5}, True, None, False, 0),
    "eval_with_unmasked_ignored": ((7,), {}, False, True, False, 12),
    "padded_train": ((5,), {"pred_nomask_weight": 1.0, "feature_pen_weight": 2.0}, True, None, True, 0),
}


def batch(classes, padded: bool, ignored: int, seed: int = 0):
    """(wav, targets, mask, wav_lengths) of two utterances of 8000 samples (24 frames); padded: the second
    has (T - 7) * 320 + 80 samples, T - 7 frames."""
    from pretrain.masking import compute_mask
    from pretrain.model import IGNORE

    g = torch.Generator().manual_seed(seed)
    B, S = 2, 8000
    T = (S - 400) // 320 + 1
    wav = torch.randn(B, S, generator=g)
    targets = [torch.randint(0, k, (B, T), generator=g) for k in classes]
    lengths = [T, T - 7] if padded else [T] * B
    if padded:
        wav[1, (T - 7) * 320 + 80:] = 0.0
        for t in targets:
            t[1, T - 7:] = IGNORE
    if ignored:
        for t in targets:
            t[0, T - ignored:] = IGNORE
    mask = torch.from_numpy(compute_mask(lengths, T, 0.8, 5, 2, np.random.default_rng(seed)))
    wav_lengths = torch.tensor([S, (T - 7) * 320 + 80]) if padded else None
    return wav, targets, mask, wav_lengths


def model_for(classes, overrides: dict):
    from pretrain.model import HubertPretrainModel, ModelConfig

    torch.manual_seed(0)
    return HubertPretrainModel(ModelConfig(**SMALL, **overrides), list(classes))


def record() -> dict:
    """{case: {metric: float}} from the model's forward, plus the gradient's sum of squares."""
    torch.set_num_threads(1)
    from pretrain.model import HubertPretrainModel  # noqa: F401  (the checkout under test)

    result = {}
    for name, (classes, overrides, train, with_unmasked, padded, ignored) in CASES.items():
        model = model_for(classes, overrides).train(train)
        wav, targets, mask, lengths = batch(classes, padded, ignored)
        out = model(wav, targets, mask, lengths, with_unmasked=with_unmasked)
        if not isinstance(out, dict):  # since the loss module: the model returns what the loss needs
            from pretrain.loss import compute_loss

            res = compute_loss(out, model.cfg)
            out = {**res.metrics, "loss": res.loss}
        out["loss"].backward()
        grad_sq = sum(float(p.grad.double().pow(2).sum()) for p in model.parameters() if p.grad is not None)
        result[name] = {k: float(v.detach()) for k, v in out.items()} | {"grad_sq": grad_sq}
    return result


if __name__ == "__main__":
    import pretrain

    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    import subprocess

    where = Path(pretrain.__file__).parent
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True).stdout
    FIXTURE.write_text(json.dumps({"recorded_with": commit.strip() or str(where), **record()}, indent=1) + "\n")
    print(f"wrote {FIXTURE}", file=sys.stderr)
