"""k-means label sources: fit with bounded memory, assign in torch, label through the Labeler interface.

Fitting follows fairseq's `learn_kmeans.py` (MiniBatchKMeans, k-means++, batch 10000, tol 0,
max_no_improvement 100, n_init 20, reassignment 0, on a `percent` sample of utterances) with one
change: fairseq loads every sampled frame into RAM (ESPnet notes ~120 GB at LibriSpeech scale).
Here sampled features are streamed once to a float32 cache file on disk, and the fit reads random
minibatches from it (scikit-learn's `partial_fit`, with scikit-learn's own early-stopping rule on the
smoothed minibatch inertia), so peak memory is one minibatch plus the k-means++ init sample.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.cluster import MiniBatchKMeans
from tqdm.auto import tqdm

from labelers.corpus.atomic import disk_full_as_error, write_model_folder
from labelers.corpus.batching import iter_audio_batches
from labelers.corpus.frames import SAMPLE_RATE
from labelers.corpus.split import open_split
from labelers.corpus.label_store import Skip
from labelers.corpus.temporaries import sweep_stale, temp_prefix
from labelers.labeler import FrameFeatures, Labeler, LabelSourceError, PerUtteranceFeatures

MODEL_FILE = "kmeans.joblib"
STATS_FILE = "kmeans.json"

# fairseq/examples/hubert/simple_kmeans/learn_kmeans.py defaults
FAIRSEQ_PARAMS = dict(
    init="k-means++", max_iter=100, batch_size=10000, tol=0.0, max_no_improvement=100, n_init=20,
    reassignment_ratio=0.0,
)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def assign(feats: torch.Tensor, centers: torch.Tensor, centers_sq: torch.Tensor | None = None,
           chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest center per row by squared Euclidean distance: (labels int64, squared distances).

    argmin ||x - c||^2 = argmin (||c||^2 - 2 x.c); done in row chunks (default: ~16 M values per
    temporary) so memory stays bounded whatever the number of rows.
    """
    if chunk is None:
        chunk = max(1024, (1 << 24) // max(centers.shape[0], feats.shape[1] if feats.ndim == 2 else 1))
    if centers_sq is None:
        centers_sq = (centers * centers).sum(1)
    labels, dists = [], []
    for s in range(0, feats.shape[0], chunk):
        x = feats[s : s + chunk].to(centers.device, centers.dtype)
        d = centers_sq.unsqueeze(0) - 2.0 * (x @ centers.T)
        m, idx = d.min(1)
        labels.append(idx)
        dists.append((m + (x * x).sum(1)).clamp_min_(0))
    if not labels:
        return torch.zeros(0, dtype=torch.long, device=centers.device), torch.zeros(0, device=centers.device)
    return torch.cat(labels), torch.cat(dists)


def kmeans_plusplus_torch(x: np.ndarray, n_clusters: int, rng: np.random.RandomState,
                          n_local_trials: int | None = None, device: torch.device | str = "cpu") -> np.ndarray:
    """Greedy k-means++ seeding, scikit-learn's algorithm (`_kmeans_plusplus`) in float32 torch.

    Same steps and random draws: the first center uniformly, then for each next one `2 + log(k)`
    candidates drawn proportionally to the squared distance to the nearest chosen center, keeping the
    candidate that lowers the potential most. scikit-learn computes the distances through
    `euclidean_distances`, which upcasts float32 input to float64 in chunks; that made 20 candidates
    (fairseq's n_init) most of a small corpus's MFCC route. Here: one float32 matmul per center (the
    running sums stay float64, so the sampling is as stable as scikit-learn's).
    """
    n_local_trials = n_local_trials or 2 + int(np.log(n_clusters))
    X = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32), device=device)
    x_sq = (X * X).sum(1)

    def sq_dist(rows: torch.Tensor) -> torch.Tensor:  # (len(rows), n)
        c = X[rows]
        return ((c * c).sum(1, keepdim=True) + x_sq.unsqueeze(0) - 2.0 * (c @ X.T)).clamp_min_(0)

    n = X.shape[0]
    ids = np.empty(n_clusters, dtype=np.int64)
    ids[0] = rng.choice(n, p=np.full(n, 1.0 / n))
    closest = sq_dist(torch.as_tensor(ids[:1], device=X.device))[0]
    pot = float(closest.double().sum())
    for c in range(1, n_clusters):
        rand_vals = rng.uniform(size=n_local_trials) * pot
        cum = torch.cumsum(closest.double(), 0).cpu().numpy()
        cand = np.clip(np.searchsorted(cum, rand_vals), None, n - 1)
        d = torch.minimum(closest.unsqueeze(0), sq_dist(torch.as_tensor(cand, device=X.device)))
        pots = d.double().sum(1)
        best = int(torch.argmin(pots))
        closest, pot, ids[c] = d[best], float(pots[best]), cand[best]
    return np.ascontiguousarray(x[ids], dtype=np.float32)


def _as_sklearn(centers: np.ndarray, seed: int, **params) -> MiniBatchKMeans:
    """A fitted MiniBatchKMeans holding exactly `centers` (what `kmeans.joblib` stores and fairseq loads).

    Fitted through the public API: one `partial_fit` step on the centers themselves, initialised at the
    centers, so every center gets its own point and stays where it is (`fit` would sample the batch with
    replacement). Near-duplicate centers (silence, or the near-constant frames of an untrained encoder)
    can swap points through rounding in scikit-learn's expanded distances and move by a hair: the exact
    centers are then put back. The estimator reports fairseq's parameters (`params`).
    """
    k = len(centers)
    km = MiniBatchKMeans(n_clusters=k, init=centers, n_init=1, batch_size=k, reassignment_ratio=0.0,
                         random_state=seed).partial_fit(centers)
    moved = np.abs(km.cluster_centers_ - centers).max() if k else 0.0
    if moved > 1e-3 * (np.abs(centers).max() + 1.0):  # more than rounding: the trick no longer holds
        raise RuntimeError(f"scikit-learn moved the k-means centers while wrapping them (by {moved:.3g})")
    km.cluster_centers_ = np.array(centers, dtype=km.cluster_centers_.dtype)
    return km.set_params(**params)


@dataclass
class KMeansModel:
    """A fitted k-means model on disk: `kmeans.joblib` (scikit-learn) + `kmeans.json` (fit statistics)."""

    km: MiniBatchKMeans
    stats: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def n_clusters(self) -> int:
        return int(self.km.cluster_centers_.shape[0])

    @property
    def centers(self) -> np.ndarray:
        return self.km.cluster_centers_

    def save(self, out_dir: str | os.PathLike) -> Path:
        self.path = write_model_folder(out_dir, MODEL_FILE, lambda f: joblib.dump(self.km, f), STATS_FILE, self.stats)
        return self.path

    @classmethod
    def load(cls, km_dir: str | os.PathLike) -> KMeansModel:
        km_dir = Path(km_dir)
        model_path = km_dir / MODEL_FILE if km_dir.is_dir() else km_dir
        if not model_path.is_file():
            raise FileNotFoundError(f"{km_dir}: no k-means model ({MODEL_FILE}); run `bootstrap-labels fit-kmeans`")
        km = joblib.load(model_path)
        if not hasattr(km, "cluster_centers_"):
            raise ValueError(f"{model_path}: not a fitted k-means model")
        stats_path = model_path.parent / STATS_FILE
        stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
        return cls(km, stats, model_path.parent)

    def sha256(self) -> str | None:
        if self.path is None:
            return None
        h = hashlib.sha256()
        with open(self.path / MODEL_FILE, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


class KMeansLabeler(Labeler):
    """Labels = nearest k-means center of each feature frame.

    With per-utterance CPU features (MFCC: `features.extract_one`), `preparer` lets the labeling run
    compute them in its decoding threads, in parallel; `label_prepared` then only assigns.
    """

    def __init__(self, features: FrameFeatures, model: KMeansModel, device: str | torch.device | None = None):
        self.features = features
        self.model = model
        self.source = features.name
        self.label_rate = features.rate
        self.device = torch.device(device) if device is not None else default_device()
        centers = np.asarray(model.centers, dtype=np.float32)
        if centers.shape[1] != features.dim:
            raise LabelSourceError(
                f"k-means model {model.path} has {centers.shape[1]}-dim centers but the {features.name} "
                f"features have {features.dim} dims (fitted on other features?)"
            )
        self.centers = torch.from_numpy(centers).to(self.device)
        self.centers_sq = (self.centers * self.centers).sum(1)

    def preparer(self):
        return self.features.extract_one if isinstance(self.features, PerUtteranceFeatures) else None

    def symbols(self) -> list[str]:
        return [str(i) for i in range(self.model.n_clusters)]

    def label_batch(self, wavs: list[np.ndarray], texts: list[str] | None = None) -> list[np.ndarray | Skip]:
        return self.label_prepared(self.features.extract(wavs))

    def label_prepared(self, feats: list[torch.Tensor], texts: list[str] | None = None) -> list[np.ndarray]:
        """Labels for already computed (frames, dim) feature tensors."""
        if not feats:
            return []
        sizes = [f.shape[0] for f in feats]
        with torch.no_grad():
            labels, _ = assign(torch.cat(feats), self.centers, self.centers_sq)
        return [x.numpy() for x in torch.split(labels.cpu(), sizes)]

    def describe(self) -> dict:
        return {
            "labeler": "kmeans",
            "features": self.features.describe(),
            "kmeans": {
                "path": str(self.model.path.resolve()) if self.model.path else None,
                "sha256": self.model.sha256(),
                "n_clusters": self.model.n_clusters,
                "fit": {k: self.model.stats.get(k) for k in ("split", "frames", "utterances", "inertia", "params")},
            },
        }


def _release_freed_memory() -> None:
    """glibc keeps freed heap (many threads' arenas) resident; malloc_trim returns it. No-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def sample_utterances(n: int, percent: float, seed: int) -> list[int]:
    """fairseq's utterance sample: ceil(n * percent) rows without replacement (all when percent >= 1)."""
    if percent <= 0 or percent >= 1:
        return list(range(n))
    k = max(1, int(math.ceil(n * percent)))
    return sorted(np.random.default_rng(seed).choice(n, size=k, replace=False).tolist())


class _FeatureCache:
    """Append-only float32 (frames, dim) file; random row reads that do not keep pages resident."""

    def __init__(self, path: Path, dim: int):
        self.path, self.dim, self.rows = path, dim, 0
        self._f = open(path, "wb")

    def append(self, x: np.ndarray) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32)
        with disk_full_as_error(f"the k-means feature cache {self.path} (--cache-dir puts it elsewhere)", self.path.parent):
            x.tofile(self._f)  # no intermediate bytes copy
        self.rows += x.shape[0]

    def close_writer(self) -> None:
        self._f.close()
        self._mm = np.memmap(self.path, dtype=np.float32, mode="r", shape=(self.rows, self.dim)) if self.rows else None
        # Random reads: no readahead / fault-around, so only the touched pages come in.
        self._advise("MADV_RANDOM")

    def _advise(self, name: str) -> None:
        raw = getattr(self._mm, "_mmap", None)
        if raw is not None and hasattr(raw, "madvise") and hasattr(mmap, name):
            raw.madvise(getattr(mmap, name))

    def take(self, idx: np.ndarray, group: int = 4096) -> np.ndarray:
        """Rows `idx` (returned in sorted order), read in groups whose pages are dropped right after:
        resident memory stays about `group` rows however large the cache file is."""
        idx = np.sort(idx)
        out = np.empty((len(idx), self.dim), dtype=np.float32)
        for s in range(0, len(idx), group):
            out[s : s + group] = self._mm[idx[s : s + group]]
            self._advise("MADV_DONTNEED")
        return out

    def blocks(self, rows: int):
        for s in range(0, self.rows, rows):
            yield self.take(np.arange(s, min(s + rows, self.rows)))

    def remove(self) -> None:
        self._mm = None
        if self.path.exists():
            self.path.unlink()


def fit_kmeans(
    features,
    data_dir: str | os.PathLike,
    split: str,
    n_clusters: int,
    out_dir: str | os.PathLike,
    *,
    percent: float = 0.1,
    seed: int = 0,
    max_iter: int = FAIRSEQ_PARAMS["max_iter"],
    batch_size: int = FAIRSEQ_PARAMS["batch_size"],
    tol: float = FAIRSEQ_PARAMS["tol"],
    max_no_improvement: int = FAIRSEQ_PARAMS["max_no_improvement"],
    n_init: int = FAIRSEQ_PARAMS["n_init"],
    init_size: int | None = None,
    batch_seconds: float = 200.0,
    cache_dir: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    verbose: bool = True,
) -> KMeansModel:
    """Fit k-means on `features` of a `percent` sample of `split`'s utterances; save to `out_dir`."""
    t0 = time.perf_counter()
    dev = torch.device(device) if device is not None else default_device()
    sp = open_split(data_dir, split)
    manifest = sp.manifest()
    rows = sample_utterances(len(manifest), percent, seed)
    cache_root = Path(cache_dir) if cache_dir else Path(out_dir)
    cache_root.mkdir(parents=True, exist_ok=True)
    sweep_stale(cache_root)  # the feature cache of a killed fit (GBs on a large corpus)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix("features"), suffix=".f32", dir=cache_root)
    os.close(fd)
    cache = _FeatureCache(Path(tmp), features.dim)
    skipped: list[dict] = []
    try:
        # 1. stream the sampled utterances' features to disk (bounded memory: one audio batch)
        total_samples = sum(manifest.num_samples[i] for i in rows)
        bar = tqdm(total=total_samples / SAMPLE_RATE, unit="s", desc=f"features {split}", disable=not progress,
                   file=sys.stderr, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} audio-s [{elapsed}<{remaining}]")
        one = features.extract_one if isinstance(features, PerUtteranceFeatures) else None  # CPU features: computed in the decoding threads
        for batch in iter_audio_batches(manifest, rows, batch_seconds, rate=features.rate, transform=one):
            for i, s in batch.skips.items():
                skipped.append({"index": i, "utt": manifest.relpaths[i], "reason": s.reason})
            if batch.wavs:
                with torch.no_grad():
                    feats = batch.wavs if one is not None else features.extract(batch.wavs)
                    for f in feats:
                        cache.append(f.float().cpu().numpy())
            bar.update(sum(manifest.num_samples[i] for i in batch.indices + list(batch.skips)) / SAMPLE_RATE)
        bar.close()
        cache.close_writer()
        _release_freed_memory()  # the feature batches are gone: give their heap back before fitting
        t_feat = time.perf_counter() - t0
        n = cache.rows
        if n < n_clusters:
            raise ValueError(f"{split}: only {n} feature frames in the {percent:.0%} sample, fewer than "
                             f"{n_clusters} clusters; raise --percent or lower --n-clusters")
        rng = np.random.RandomState(seed)
        # 2. k-means++ init as MiniBatchKMeans.fit does it: n_init candidates, each on a fresh random
        #    init_size sample, the one with the lowest inertia on a common validation sample wins.
        init_size = min(n, init_size or max(3 * batch_size, n_clusters))
        # randint (with replacement) as scikit-learn does: O(init_size) memory however large n is.
        valid = torch.from_numpy(cache.take(rng.randint(0, n, init_size)))
        best, best_inertia = None, math.inf
        for _ in tqdm(range(n_init), desc="k-means++ init", disable=not progress, file=sys.stderr):
            sample = None  # free the previous candidate's sample before reading the next
            sample = cache.take(rng.randint(0, n, init_size))
            centers = kmeans_plusplus_torch(sample, n_clusters, rng, device=dev)
            c = torch.from_numpy(centers)
            inertia = float(assign(valid, c)[1].sum())
            if inertia < best_inertia:
                best, best_inertia = centers, inertia
        del valid
        # 3. minibatch steps from the cache, with MiniBatchKMeans' early stopping (smoothed inertia).
        #    The step is scikit-learn's `_mini_batch_step` without reassignment (fairseq: ratio 0), in
        #    torch: assign the batch to the current centers (that also gives the batch inertia the early
        #    stopping needs, which partial_fit would compute a second time), then move each center that
        #    got points to the running mean of everything assigned to it so far.
        bs = min(batch_size, n)
        max_steps = (max_iter * n) // bs
        alpha = min(1.0, bs * 2.0 / (n + 1))
        ewa = ewa_min = None
        no_improvement, steps, stop = 0, 0, "max_iter"
        centers = torch.from_numpy(np.array(best, dtype=np.float32)).to(dev)
        counts = torch.zeros(n_clusters, dtype=torch.float32, device=dev)
        bar = tqdm(total=max_steps, desc="k-means steps", disable=not progress, file=sys.stderr)
        for steps in range(1, max_steps + 1):
            x = torch.from_numpy(cache.take(rng.randint(0, n, bs))).to(dev)
            labels, dist = assign(x, centers)
            batch_inertia = float(dist.sum()) / bs
            hits = torch.bincount(labels, minlength=n_clusters).to(centers.dtype)
            sums = torch.zeros_like(centers).index_add_(0, labels, x)
            moved = hits > 0
            new_counts = counts + hits
            centers_before = centers
            centers = centers.clone()
            centers[moved] = (centers_before[moved] * counts[moved, None] + sums[moved]) / new_counts[moved, None]
            counts = new_counts
            bar.update(1)
            if steps == 1:
                ewa = batch_inertia
                continue
            ewa = ewa * (1 - alpha) + batch_inertia * alpha
            if tol > 0:
                shift = float(((centers - centers_before) ** 2).sum())
                if shift <= tol * float(x.var(0, unbiased=False).mean()):
                    stop = "tol"
                    break
            if ewa_min is None or ewa < ewa_min:
                no_improvement, ewa_min = 0, ewa
            else:
                no_improvement += 1
            if max_no_improvement is not None and no_improvement >= max_no_improvement:
                stop = "no_improvement"
                break
        bar.close()
        km = _as_sklearn(centers.cpu().numpy(), seed, max_iter=max_iter, batch_size=batch_size, tol=tol,
                         max_no_improvement=max_no_improvement, n_init=n_init)
        # 4. inertia over every cached frame (fairseq reports -score / frames), streamed.
        c = torch.from_numpy(np.asarray(km.cluster_centers_, dtype=np.float32)).to(dev)
        csq = (c * c).sum(1)
        sse = sum(float(assign(torch.from_numpy(b), c, csq)[1].double().sum()) for b in cache.blocks(bs))
    finally:
        cache.remove()
    seconds = time.perf_counter() - t0
    stats = {
        "n_clusters": n_clusters,
        "features": features.describe(),
        "data_dir": str(Path(data_dir).resolve()),
        "split": split,
        "percent": percent,
        "seed": seed,
        "utterances": len(rows) - len(skipped),
        "skipped": skipped,
        "frames": n,
        "hours": round(n / features.rate / 3600, 4),
        "inertia": sse / n,
        "steps": steps,
        "stopped_by": stop,
        "init_inertia": best_inertia / init_size,
        "params": dict(FAIRSEQ_PARAMS, max_iter=max_iter, batch_size=batch_size, tol=tol,
                       max_no_improvement=max_no_improvement, n_init=n_init, init_size=init_size),
        "seconds": {"features": round(t_feat, 3), "total": round(seconds, 3)},
        "streamed": True,
    }
    model = KMeansModel(km, stats)
    model.save(out_dir)
    if verbose:
        print(
            f"k-means K={n_clusters} on {split}: {len(rows) - len(skipped)} utterances ({stats['hours']:.3f} h, "
            f"{n} frames), skipped {len(skipped)}; inertia {stats['inertia']:.4f} after {steps} steps "
            f"({stop}); {seconds:.1f} s -> {Path(out_dir) / MODEL_FILE}"
        )
        for s in skipped[:10]:
            print(f"  skipped {s['utt']}: {s['reason']}")
    return model
