"""Random-projection quantizer targets (BEST-RQ, Chiu et al. 2022): no k-means, no fitting pass.

Each 50 Hz frame is two stacked 100 Hz log-mel frames (Kaldi fbank, 80 bins, 25/10 ms), normalised
with global mean/std measured on the data, projected by a fixed Xavier-initialised matrix,
l2-normalised, and labelled with the nearest entry of a fixed random codebook of unit vectors
(standard normal, then normalised). Nothing is trained; the only thing read from the data is the
normalisation statistics.

Everything needed to reproduce the labels (statistics, projection, codebook, seed) lives in one
`rq.npz` beside `rq.json`; a rerun or another split loads it instead of drawing a new one.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchaudio.compliance import kaldi
from tqdm.auto import tqdm

from labelers.corpus.atomic import atomic_open, write_json
from labelers.corpus.batching import iter_audio_batches
from labelers.corpus.frames import num_frames
from labelers.corpus.split import open_split
from labelers.kmeans import sample_utterances
from labelers.labeler import Labeler

QUANTIZER_FILE = "rq.npz"
INFO_FILE = "rq.json"
RQ_RATE = 50
MEL_BINS = 80
STACK = 2  # 100 Hz fbank frames per 50 Hz label frame
CODE_DIM = 16  # BEST-RQ's codebook dimension


def stacked_logmel(wav: np.ndarray | torch.Tensor, sample_rate: int = 16000, mel_bins: int = MEL_BINS) -> torch.Tensor:
    """(num_frames(len(wav), 50), mel_bins * 2) log-mel features: pairs of 100 Hz frames side by side.

    The 100 Hz count can be one short of twice the 50 Hz count; the last frame is then repeated so
    the labels have exactly `num_frames(n, 50)` frames, like every other 50 Hz source.
    """
    x = torch.as_tensor(wav, dtype=torch.float32).view(1, -1)
    with torch.no_grad():
        fb = kaldi.fbank(x, sample_frequency=sample_rate, num_mel_bins=mel_bins, dither=0.0)  # (T100, bins)
    t50 = num_frames(x.shape[1], RQ_RATE)
    need = t50 * STACK
    if fb.shape[0] < need:
        fb = torch.cat([fb, fb[-1:].expand(need - fb.shape[0], -1)])
    return fb[:need].reshape(t50, STACK * mel_bins)


def random_quantizer(in_dim: int, n_codes: int, code_dim: int = CODE_DIM, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(projection (in_dim, code_dim) Xavier-uniform, codebook (n_codes, code_dim) unit rows), from `seed` only."""
    g = torch.Generator().manual_seed(seed)
    proj = torch.empty(in_dim, code_dim)
    bound = float(np.sqrt(6.0 / (in_dim + code_dim)))  # torch.nn.init.xavier_uniform_, with our generator
    proj.uniform_(-bound, bound, generator=g)
    codes = torch.randn(n_codes, code_dim, generator=g)
    codes = codes / codes.norm(dim=1, keepdim=True)
    return proj.numpy(), codes.numpy()


@dataclass
class RandomProjectionQuantizer:
    """Normalisation statistics + fixed projection + fixed codebook; `quantize(feats) -> codes`."""

    mean: np.ndarray
    std: np.ndarray
    projection: np.ndarray
    codebook: np.ndarray
    seed: int
    info: dict
    path: Path | None = None

    @property
    def n_codes(self) -> int:
        return int(self.codebook.shape[0])

    @property
    def in_dim(self) -> int:
        return int(self.projection.shape[0])

    def quantize(self, feats: torch.Tensor) -> torch.Tensor:
        """Code index per row of (frames, in_dim) features: argmax cosine = nearest unit code."""
        mean, std = torch.from_numpy(self.mean), torch.from_numpy(self.std)
        proj, codes = torch.from_numpy(self.projection), torch.from_numpy(self.codebook)
        with torch.no_grad():
            z = ((feats.float() - mean) / std) @ proj
            z = z / z.norm(dim=1, keepdim=True).clamp_min(1e-8)
            return (z @ codes.T).argmax(1)

    def save(self, out_dir: str | os.PathLike) -> Path:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_open(out_dir / QUANTIZER_FILE, "wb") as f:
            np.savez(f, mean=self.mean, std=self.std, projection=self.projection, codebook=self.codebook,
                     seed=np.int64(self.seed))
        write_json(out_dir / INFO_FILE, self.info)  # last: marks the quantizer complete
        self.path = out_dir
        return out_dir

    @classmethod
    def load(cls, q_dir: str | os.PathLike) -> RandomProjectionQuantizer:
        q_dir = Path(q_dir)
        if not (q_dir / INFO_FILE).is_file():
            raise FileNotFoundError(f"{q_dir}: no random-projection quantizer ({QUANTIZER_FILE} + {INFO_FILE})")
        import json

        with np.load(q_dir / QUANTIZER_FILE) as z:
            return cls(z["mean"], z["std"], z["projection"], z["codebook"], int(z["seed"]),
                       json.loads((q_dir / INFO_FILE).read_text()), q_dir)

    def sha256(self) -> str | None:
        if self.path is None:
            return None
        return hashlib.sha256((self.path / QUANTIZER_FILE).read_bytes()).hexdigest()


def fit_quantizer(data_dir: str | os.PathLike, split: str, n_codes: int, out_dir: str | os.PathLike, *,
                  code_dim: int = CODE_DIM, seed: int = 0, percent: float = 0.1, batch_seconds: float = 100.0,
                  progress: bool = True) -> RandomProjectionQuantizer:
    """Measure global mean/std of the stacked log-mels on a `percent` sample of `split`, draw the
    projection and codebook from `seed`, save to `out_dir`. The only pass over data is the statistics."""
    t0 = time.perf_counter()
    manifest = open_split(data_dir, split).manifest()
    rows = sample_utterances(len(manifest), percent, seed)
    in_dim = STACK * MEL_BINS
    total = torch.zeros(in_dim, dtype=torch.float64)
    total_sq = torch.zeros(in_dim, dtype=torch.float64)
    frames = utts = 0
    bar = tqdm(total=sum(manifest.num_samples[i] for i in rows) / 16000, unit="audio-s", disable=not progress,
               desc=f"rq statistics ({split})")
    for batch in iter_audio_batches(manifest, rows, batch_seconds, rate=RQ_RATE, transform=stacked_logmel):
        for f in batch.wavs:
            f = f.double()
            total += f.sum(0)
            total_sq += (f * f).sum(0)
            frames += f.shape[0]
            utts += 1
        bar.update(sum(manifest.num_samples[i] for i in batch.indices + list(batch.skips)) / 16000)
    bar.close()
    if frames == 0:
        raise ValueError(f"{data_dir}/{split}: no readable audio to measure normalisation statistics on")
    mean = total / frames
    std = (total_sq / frames - mean * mean).clamp_min(1e-10).sqrt()
    proj, codes = random_quantizer(in_dim, n_codes, code_dim, seed)
    info = {"source": "rq", "features": f"kaldi fbank {MEL_BINS} bins, 25/10 ms, {STACK} frames stacked (50 Hz)",
            "n_codes": n_codes, "code_dim": code_dim, "seed": seed, "split": split, "percent": percent,
            "utterances": utts, "frames": frames, "seconds": round(time.perf_counter() - t0, 3)}
    q = RandomProjectionQuantizer(mean.float().numpy(), std.float().numpy(), proj, codes, seed, info)
    q.save(out_dir)
    return q


class RandomProjectionLabeler(Labeler):
    """Labels = nearest random code of each projected 50 Hz frame (`labelers.labeler.Labeler`)."""

    source = "rq"
    label_rate = RQ_RATE

    def __init__(self, quantizer: RandomProjectionQuantizer):
        if quantizer.in_dim != STACK * MEL_BINS:
            raise ValueError(f"quantizer {quantizer.path} projects {quantizer.in_dim}-dim features, "
                             f"not the {STACK * MEL_BINS}-dim stacked log-mels")
        self.quantizer = quantizer

    def symbols(self) -> list[str]:
        return [str(i) for i in range(self.quantizer.n_codes)]

    def preparer(self):  # the log-mels are computed in the labeling run's decoding threads
        return stacked_logmel

    def label_prepared(self, feats: list[torch.Tensor], texts: list[str] | None = None) -> list[np.ndarray]:
        if not feats:
            return []
        codes = self.quantizer.quantize(torch.cat(feats))
        return [x.numpy() for x in torch.split(codes, [f.shape[0] for f in feats])]

    def label_batch(self, wavs: list[np.ndarray], texts: list[str] | None = None) -> list[np.ndarray]:
        return self.label_prepared([stacked_logmel(w) for w in wavs])

    def describe(self) -> dict:
        q = self.quantizer
        return {"labeler": "random-projection", "quantizer": {
            "path": str(q.path.resolve()) if q.path else None, "sha256": q.sha256(), **q.info}}
