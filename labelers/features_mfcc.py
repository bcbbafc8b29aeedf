"""fairseq's MFCC features for HuBERT iteration 1: 13 Kaldi MFCCs + deltas + delta-deltas, 39 dims, 100 Hz.

`mfcc_fairseq(wav)` is the recipe exactly as fairseq's `dump_mfcc_feature.py` computes it.
`MfccFeatures` wraps it in the feature-extractor interface the k-means labeler uses
(`rate`, `dim`, `extract(wavs) -> list[(frames, dim) tensor]`, `describe()`).
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio.functional as AF
from torchaudio.compliance import kaldi

from labelers.corpus.frames import SAMPLE_RATE

MFCC_RATE = 100
MFCC_DIM = 39


def mfcc_fairseq(wav: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """(time, 39) features for one utterance, fairseq's MfccFeatureReader.get_feats verbatim."""
    x = torch.as_tensor(wav, dtype=torch.float32).view(1, -1)
    mfccs = kaldi.mfcc(waveform=x, sample_frequency=sample_rate, use_energy=False)  # (time, 13)
    mfccs = mfccs.transpose(0, 1)
    deltas = AF.compute_deltas(mfccs)
    ddeltas = AF.compute_deltas(deltas)
    return torch.cat([mfccs, deltas, ddeltas], dim=0).transpose(0, 1).contiguous()


class MfccFeatures:
    """Batched fairseq MFCC features (39 dims, 100 Hz) on CPU."""

    rate = MFCC_RATE
    dim = MFCC_DIM
    name = "mfcc"

    def __init__(self, sample_rate: int = SAMPLE_RATE):
        self.sample_rate = sample_rate

    def extract(self, wavs: list[np.ndarray]) -> list[torch.Tensor]:
        """One (num_frames(len(w), 100), 39) float32 tensor per waveform (each >= 400 samples)."""
        # Per utterance on purpose: measured on 2 cores, one Kaldi call per utterance beats framing
        # a concatenated batch once (~3x: large intermediates fall out of cache).
        return [self.extract_one(w) for w in wavs]

    def extract_one(self, wav: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return mfcc_fairseq(wav, self.sample_rate)

    def describe(self) -> dict:
        return {
            "features": "mfcc",
            "recipe": "torchaudio.compliance.kaldi.mfcc(use_energy=False) + compute_deltas x2 (fairseq)",
            "dim": self.dim,
            "rate": self.rate,
        }
