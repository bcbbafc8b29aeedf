"""The `input features` row of a comparison: the 39-d MFCC frames themselves, scored like a model layer.

Wraps labelers' fairseq MFCC in the interface `evaluate_layers` reads from a model extractor (one
"layer", index 0, at 100 Hz), so the probe and the k-means PNMI of the raw input are measured by the
same code, on the same utterances, as every model's layers.
"""

from __future__ import annotations

import numpy as np
import torch

from labelers.corpus.frames import hop_for_rate
from labelers.features_mfcc import MFCC_RATE, MfccFeatures

INPUT_FEATURES = ("mfcc",)


class InputFeatureLayers:
    layers = [0]
    rate = MFCC_RATE
    hop = hop_for_rate(MFCC_RATE)

    def __init__(self, name: str = "mfcc"):
        if name not in INPUT_FEATURES:
            raise ValueError(f"input features {name!r}: expected one of {INPUT_FEATURES}")
        self.name = name
        self.features = MfccFeatures()

    def extract_layers(self, wavs: list[np.ndarray]) -> dict[int, list[torch.Tensor]]:
        return {0: self.features.extract(wavs)}
