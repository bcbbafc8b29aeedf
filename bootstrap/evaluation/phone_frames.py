"""Reference phones (100 Hz `.phn`) brought to a model's frame rate, with a shared phone inventory."""

from __future__ import annotations

import numpy as np

from labelers.corpus.split import PHONE_RATE
from labelers.corpus.frames import SAMPLE_RATE, check_label_length, nearest_frames


class PhoneInventory:
    """Phone symbol <-> id, grown from the training split; unseen symbols map to -1."""

    def __init__(self):
        self.ids: dict[str, int] = {}

    def fit(self, rows: list[list[str]]) -> "PhoneInventory":
        for row in rows:
            for p in row:
                if p not in self.ids:
                    self.ids[p] = len(self.ids)
        return self

    def encode(self, row: list[str]) -> np.ndarray:
        return np.array([self.ids.get(p, -1) for p in row], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def symbols(self) -> list[str]:
        return list(self.ids)


def phones_at_rate(phones: np.ndarray, num_samples: int, n_frames: int, hop_samples: int, utt: str) -> np.ndarray:
    """Phone of each model frame: frame t (centre t*hop + 200 samples) takes the 100 Hz phone whose
    centre (u*160 + 200) is nearest, u = round(t*hop/160); for HuBERT's 50 Hz frames u = 2t exactly.

    The `.phn` row must have num_frames(num_samples, 100) symbols (+-1), else the file does not belong
    to this audio and we refuse rather than score misaligned labels.
    """
    check_label_length(len(phones), num_samples, PHONE_RATE, utt, what="reference phones")
    u = nearest_frames(n_frames, SAMPLE_RATE / hop_samples, PHONE_RATE)
    return phones[np.minimum(u, len(phones) - 1)]
