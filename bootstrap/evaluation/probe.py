"""Linear phone probe on frozen features: frame-level accuracy of a softmax classifier."""

from __future__ import annotations

import numpy as np
import torch


def train_linear_probe(x_train: np.ndarray, y_train: np.ndarray, x_eval: np.ndarray, y_eval: np.ndarray,
                       num_classes: int, epochs: int = 10, batch_size: int = 512, lr: float = 2e-3, min_updates: int = 400,
                       weight_decay: float = 1e-4, seed: int = 0, device: str = "cpu") -> dict:
    """Fit a linear layer (features standardised with training statistics) with Adam; score frames.

    Eval frames whose phone never occurs in training (label -1) count as errors: the probe cannot
    name them, and dropping them would flatter the score.
    """
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xt = torch.from_numpy(np.asarray(x_train, dtype=np.float32))
    mean, std = xt.mean(0), xt.std(0).clamp_min(1e-5)
    xt = ((xt - mean) / std).to(device)
    yt = torch.from_numpy(np.asarray(y_train, dtype=np.int64)).to(device)
    keep = yt >= 0
    xt, yt = xt[keep], yt[keep]
    layer = torch.nn.Linear(xt.shape[1], num_classes).to(device)
    opt = torch.optim.Adam(layer.parameters(), lr=lr, weight_decay=weight_decay)
    n = xt.shape[0]
    # Small sets get more passes: at least `min_updates` Adam steps, so the probe is not scored unfitted.
    per_epoch = max(1, -(-n // batch_size))
    epochs = max(epochs, -(-min_updates // per_epoch))
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g).to(device)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            loss = torch.nn.functional.cross_entropy(layer(xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        train_acc = float((layer(xt).argmax(-1) == yt).float().mean())
        xe = ((torch.from_numpy(np.asarray(x_eval, dtype=np.float32)) - mean) / std).to(device)
        ye = torch.from_numpy(np.asarray(y_eval, dtype=np.int64)).to(device)
        pred = layer(xe).argmax(-1)
        eval_acc = float((pred == ye).float().mean()) if len(ye) else float("nan")
    return {"probe_accuracy": eval_acc, "probe_train_accuracy": train_acc, "probe_frames_train": int(n),
            "probe_frames_eval": int(len(y_eval)), "probe_unseen_eval_frames": int((y_eval < 0).sum()), "probe_epochs": epochs}
