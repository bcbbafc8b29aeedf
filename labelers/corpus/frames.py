"""The sample rate, the model frame rate, and the frame-count conventions shared by every label source and by pre-training.

A label sequence at `rate` Hz for `n` samples at 16 kHz has floor((n - 400) / hop) + 1 frames,
hop = 16000 / rate: HuBERT's CNN gives this at 50 Hz (hop 320), Kaldi MFCCs at 100 Hz (hop 160).
"""

from __future__ import annotations

import math

import numpy as np

SAMPLE_RATE = 16000  # every waveform in this project; audio.load_audio resamples to it
MODEL_RATE = 50  # HuBERT / wav2vec 2.0 frames: the CNN hops 320 samples
MODEL_HOP = SAMPLE_RATE // MODEL_RATE
WINDOW = 400  # 25 ms
LABEL_LENGTH_TOLERANCE = 1  # frames; a larger disagreement is an error naming the utterance


def hop_for_rate(rate: float) -> int:
    hop = SAMPLE_RATE / rate
    if abs(hop - round(hop)) > 1e-6:
        raise ValueError(f"label rate {rate} Hz does not divide 16 kHz into whole samples")
    return int(round(hop))


def num_frames(num_samples: int, rate: float = MODEL_RATE) -> int:
    """Frames at `rate` Hz for `num_samples` at 16 kHz; 0 when shorter than one window."""
    if num_samples < WINDOW:
        return 0
    return (num_samples - WINDOW) // hop_for_rate(rate) + 1


def nearest_frames(num_out: int, out_rate: float, in_rate: float) -> np.ndarray:
    """For each of `num_out` frames at `out_rate`, the index of the `in_rate` frame whose centre is
    nearest (ties go to the earlier frame). Every rate's first frame is centred at half a window
    (200 samples), so frame u at `out_rate` lies u * in_rate / out_rate input frames in.
    Callers clip the result to their sequence length."""
    x = np.arange(num_out) * (in_rate / out_rate)
    return np.maximum(np.ceil(x - 0.5), 0).astype(np.int64)


def check_label_length(n_labels: int, num_samples: int, rate: float, where: str, *, what: str = "labels",
                       error: type[Exception] = ValueError, tolerance: int = LABEL_LENGTH_TOLERANCE) -> int:
    """The frame count `num_samples` give at `rate`; raises `error` naming `where` when `n_labels` is
    further than `tolerance` from it (the labels then do not belong to this audio)."""
    expected = num_frames(num_samples, rate)
    if abs(n_labels - expected) > tolerance:
        raise error(f"{where}: {n_labels} {what} at {rate} Hz, but its {num_samples} samples give {expected} "
                    f"frames (tolerance {tolerance}): labels and audio would be misaligned")
    return expected


def frames_at_rate(labels: np.ndarray, in_rate: float, out_rate: float) -> np.ndarray:
    """Labels at `in_rate` re-timed to `out_rate` by frame centre (`nearest_frames`): ceil(len x
    out_rate / in_rate) frames. From 100 Hz to 50 Hz this is `labels[::2]` (frame t <- label 2t)."""
    num_out = math.ceil(len(labels) * out_rate / in_rate)
    return labels[np.minimum(nearest_frames(num_out, out_rate, in_rate), max(len(labels) - 1, 0))]
