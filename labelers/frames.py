"""Frame-count conventions shared by every label source and by pre-training.

A label sequence at `rate` Hz for `n` samples at 16 kHz has floor((n - 400) / hop) + 1 frames,
hop = 16000 / rate: HuBERT's CNN gives this at 50 Hz (hop 320), Kaldi MFCCs at 100 Hz (hop 160).
"""

from __future__ import annotations

SAMPLE_RATE = 16000
WINDOW = 400  # 25 ms
LABEL_LENGTH_TOLERANCE = 1  # frames; a larger disagreement is an error naming the utterance


def hop_for_rate(rate: float) -> int:
    hop = SAMPLE_RATE / rate
    if abs(hop - round(hop)) > 1e-6:
        raise ValueError(f"label rate {rate} Hz does not divide 16 kHz into whole samples")
    return int(round(hop))


def num_frames(num_samples: int, rate: float = 50) -> int:
    """Frames at `rate` Hz for `num_samples` at 16 kHz; 0 when shorter than one window."""
    if num_samples < WINDOW:
        return 0
    return (num_samples - WINDOW) // hop_for_rate(rate) + 1
