"""The torch k-means++ seeding: scikit-learn's greedy algorithm, so the same quality of start."""

import numpy as np
from sklearn.cluster import kmeans_plusplus

from labelers.kmeans import kmeans_plusplus_torch


def _potential(x, centers):
    return float(((x[:, None, :] - centers[None]) ** 2).sum(-1).min(1).sum())


def test_seeds_are_data_rows_and_as_good_as_scikit_learns():
    rng = np.random.default_rng(0)
    true = rng.normal(0, 10, (40, 13))
    x = (true[rng.integers(0, 40, 4000)] + rng.normal(0, 1, (4000, 13))).astype(np.float32)
    ours, theirs = [], []
    for seed in range(5):
        c = kmeans_plusplus_torch(x, 40, np.random.RandomState(seed))
        assert c.shape == (40, 13) and c.dtype == np.float32
        rows = {tuple(r) for r in x.tolist()}
        assert all(tuple(r) in rows for r in c.tolist()) and len({tuple(r) for r in c.tolist()}) == 40
        ours.append(_potential(x, c))
        theirs.append(_potential(x, kmeans_plusplus(x, 40, random_state=seed)[0]))
    # greedy k-means++ finds (nearly) every blob: both land near the noise floor, within 5% on average
    assert abs(np.mean(ours) / np.mean(theirs) - 1) < 0.05
    # uniform random seeding, for scale, is far worse: the test can tell a bad seeding apart
    uniform = _potential(x, x[np.random.RandomState(0).choice(4000, 40, replace=False)])
    assert uniform > 1.5 * np.mean(ours)


def test_same_seed_same_centers():
    x = np.random.default_rng(1).normal(size=(500, 5)).astype(np.float32)
    a = kmeans_plusplus_torch(x, 10, np.random.RandomState(3))
    b = kmeans_plusplus_torch(x, 10, np.random.RandomState(3))
    assert np.array_equal(a, b)
