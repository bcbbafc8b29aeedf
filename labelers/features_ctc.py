"""`asr-features`: encoder hidden states of a CTC ASR model as k-means features at the label rate.

The other ASR route: instead of reading tokens off the CTC head, cluster a hidden layer of the same
model's encoder (what the paper's authors appear to have done). Works for every model `CTCModel`
loads (wav2vec2 family at 20 ms, Parakeet at 40/80 ms): features are computed at the model's frame
rate, with the same batching and chunk stitching as the posteriors, then each label frame takes the
model frame owning its centre (the convention of `labelers.ctc_targets`), so a 50 Hz label set has
exactly `num_frames(n, 50)` frames whatever the model's rate. Plugs into `labelers.kmeans`
(`fit_kmeans`, `KMeansLabeler`) through the feature interface: `name`, `rate`, `dim`, `extract`,
`describe`.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from labelers.ctc_posteriors import CTCModel
from labelers.ctc_targets import model_frame_index


def default_layer(num_layers: int) -> int:
    """The second-to-last block's output (the best layer found on the synthetic corpus, DESIGN.md);
    the only block's output for a one-block model."""
    return num_layers - 1 if num_layers > 1 else num_layers


class CtcEncoderFeatures:
    name = "asr-features"

    def __init__(self, model: CTCModel | str | os.PathLike, layer: int | None = None, rate: int = 50,
                 device: str | torch.device | None = None, batch_seconds: float = 160.0,
                 chunk_seconds: float = 30.0, overlap_seconds: float = 4.0):
        if not isinstance(model, CTCModel):
            dev = str(device) if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
            model = CTCModel.load(model, device=dev)
        self.model = model
        self.layer = default_layer(model.num_layers) if layer is None else int(layer)
        if not 0 <= self.layer <= model.num_layers:
            raise ValueError(f"{model.name}: layer {self.layer} outside [0, {model.num_layers}] (0 = encoder input)")
        self.rate = rate
        self.dim = model.hidden_size
        self.batch_seconds, self.chunk_seconds, self.overlap_seconds = batch_seconds, chunk_seconds, overlap_seconds

    def extract(self, wavs: list[np.ndarray]) -> list[torch.Tensor]:
        """(num_frames(len(w), rate), dim) float32 tensor per waveform."""
        mats = self.model.hidden_states(wavs, self.layer, batch_seconds=self.batch_seconds,
                                        chunk_seconds=self.chunk_seconds, overlap_seconds=self.overlap_seconds)
        g = self.model.geometry
        out = []
        for w, m in zip(wavs, mats):
            idx = model_frame_index(len(w), self.rate, g.frame_seconds, g.offset_seconds, m.shape[0])
            out.append(torch.from_numpy(np.ascontiguousarray(m[idx])))
        return out

    def describe(self) -> dict:
        d = self.model.describe()
        d.pop("device", None)
        return {"features": "ctc_encoder_hidden_states", **d, "layer": self.layer, "dim": self.dim, "rate": self.rate,
                "chunk_seconds": self.chunk_seconds, "overlap_seconds": self.overlap_seconds}
