"""The one audio loader used everywhere: soundfile decode, mono mixdown, 16 kHz, float32 in [-1, 1]."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
import soundfile as sf
import torch
import torchaudio.transforms as T

from labelers.corpus.frames import SAMPLE_RATE, WINDOW as MIN_SAMPLES  # shortest usable audio: one 25 ms window


class AudioError(Exception):
    """A file that cannot be used as speech input. Carries the path and a human reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class AudioMissingError(AudioError):
    pass


class AudioDecodeError(AudioError):
    pass


class AudioTooShortError(AudioError):
    pass


class AudioNonFiniteError(AudioError):
    pass


@lru_cache(maxsize=16)
def _resampler_args(orig: int, new: int) -> tuple[int, int]:
    g = np.gcd(orig, new)
    return orig // g, new // g


@lru_cache(maxsize=16)
def _sinc_kernel(orig: int, new: int) -> tuple[torch.Tensor, int]:
    # torchaudio's own kernel (sinc interpolation, Hann window, width 6, rolloff 0.99), built once per
    # rate pair: building it costs ~0.25 s for 22050 -> 16000, far more than applying it.
    r = T.Resample(orig, new)
    return r.kernel.detach()[:, 0, :].T.contiguous(), int(r.width)


def resample(wav: np.ndarray, orig_sr: int, new_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling with torchaudio's sinc kernel (Hann window); time is the last axis.

    Same result as `torchaudio.functional.resample`, applied as strided windows x matrix (a cached
    kernel; torch's conv1d with stride 441 is slow on CPU). Output length: ceil(n * new / orig).
    """
    if orig_sr == new_sr:
        return wav
    orig, new = _resampler_args(orig_sr, new_sr)
    kernel, width = _sinc_kernel(orig, new)
    wav = np.asarray(wav)
    shape = wav.shape
    flat = wav.reshape(-1, shape[-1])
    padded = torch.from_numpy(np.pad(flat, ((0, 0), (width, width + orig))))  # np.pad: torch's is slow here
    with torch.inference_mode():
        frames = padded.unfold(-1, kernel.shape[0], orig)  # (wavs, blocks, taps)
        out = (frames @ kernel.to(padded.dtype)).reshape(flat.shape[0], -1)  # (wavs, blocks * new)
        out = out[:, : int(np.ceil(new * shape[-1] / orig))]
    return out.reshape(*shape[:-1], -1).numpy()


def to_mono(wav: np.ndarray) -> np.ndarray:
    """(samples,) or (samples, channels) -> (samples,) by averaging channels."""
    return wav if wav.ndim == 1 else wav.mean(axis=1)


def check_waveform(wav: np.ndarray, path: str | os.PathLike, min_samples: int = MIN_SAMPLES) -> np.ndarray:
    if wav.shape[0] < min_samples:
        raise AudioTooShortError(path, f"{wav.shape[0]} samples at 16 kHz, shorter than one 25 ms frame ({min_samples})")
    if not np.isfinite(wav).all():
        raise AudioNonFiniteError(path, "contains NaN or infinite samples")
    return wav


def decode_audio(source, name: str | os.PathLike, sample_rate: int = SAMPLE_RATE, min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Decode a path or a binary file-like object (e.g. bytes from a `datasets` row) to mono float32
    at `sample_rate`. `name` labels errors. Raises an AudioError subclass."""
    try:
        wav, sr = sf.read(source, dtype="float32", always_2d=False)
    except Exception as e:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise AudioDecodeError(name, f"cannot decode audio ({type(e).__name__}: {e})") from None
    wav = to_mono(np.asarray(wav, dtype=np.float32))
    if wav.size == 0:
        raise AudioTooShortError(name, "empty audio (0 samples)")
    if not np.isfinite(wav).all():
        raise AudioNonFiniteError(name, "contains NaN or infinite samples")
    wav = resample(wav, sr, sample_rate).astype(np.float32, copy=False)
    return check_waveform(wav, name, min_samples)


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE, min_samples: int = MIN_SAMPLES) -> np.ndarray:
    """Decode `path` to mono float32 at `sample_rate`. Raises an AudioError subclass naming the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioMissingError(path, "file not found")
    return decode_audio(path, path, sample_rate, min_samples)


def audio_info(path: str | os.PathLike) -> tuple[int, int]:
    """(frames, sample_rate) from the header, without decoding. Raises AudioError."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise AudioMissingError(path, "file not found")
    try:
        info = sf.info(path)
    except Exception as e:
        raise AudioDecodeError(path, f"cannot read audio header ({type(e).__name__}: {e})") from None
    return int(info.frames), int(info.samplerate)


def num_samples_at(frames: int, sr: int, target_sr: int = SAMPLE_RATE) -> int:
    """Sample count after resampling `frames` at `sr` to `target_sr` (torchaudio's ceil rule)."""
    if sr == target_sr:
        return frames
    orig, new = _resampler_args(sr, target_sr)
    return int(np.ceil(new * frames / orig))
