"""k-means over one layer's frames (labelers' fairseq settings and torch assignment) and its label quality."""

from __future__ import annotations

import numpy as np
import torch

from labelers.kmeans import FAIRSEQ_PARAMS, assign
from labelers.quality import quality_from_joint


def fit_assign(train: np.ndarray, evaluate: np.ndarray, k: int, seed: int = 0, n_init: int = 3) -> tuple[np.ndarray, dict]:
    """Fit k-means on `train` frames (held in memory: the caller caps them); nearest-center labels of `evaluate`.

    fairseq's MiniBatchKMeans settings except `n_init` (fairseq 20): the per-layer fits of an evaluation
    compare layers with one another, and 20 restarts per layer would dominate its run time on a CPU.
    """
    from sklearn.cluster import MiniBatchKMeans

    k = min(k, len(train))
    params = dict(FAIRSEQ_PARAMS, n_init=n_init)
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, **params).fit(train)
    centers = torch.from_numpy(np.asarray(km.cluster_centers_, dtype=np.float32))
    labels, _ = assign(torch.from_numpy(np.ascontiguousarray(evaluate, dtype=np.float32)), centers)
    return labels.numpy(), {"k": k, "inertia_per_frame": float(km.inertia_ / len(train)), "n_init": n_init}


def label_quality(phones: np.ndarray, labels: np.ndarray, num_phones: int, num_labels: int) -> dict:
    """PNMI, phone purity, cluster purity (fairseq's measure_teacher_quality) of frame-aligned sequences."""
    counts = np.zeros((num_phones, num_labels), dtype=np.int64)
    np.add.at(counts, (phones, labels), 1)
    q = quality_from_joint(counts)
    return {key: q[key] for key in ("pnmi", "phone_purity", "cluster_purity", "label_perplexity", "used_labels")}
