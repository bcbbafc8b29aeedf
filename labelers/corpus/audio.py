"""The one audio loader used everywhere: soundfile decode, mono mixdown, 16 kHz, float32 in [-1, 1].

What a header claims (sample rate, channels, frame count, duration) is checked before anything is
decoded or resampled: a hostile or corrupt header becomes an `AudioHeaderError`, never a huge
allocation. Resampling is bounded in memory for any rate pair (see `resample`).
"""

from __future__ import annotations

import math
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


class AudioHeaderError(AudioError):
    """The header claims something no speech file has (rate, channels, length beyond the file's bytes)."""


# Header limits: speech is recorded between telephone and studio rates; longer files are not utterances.
MIN_RATE, MAX_RATE = 4000, 192000
MAX_CHANNELS = 32
MAX_SECONDS = 3600.0
# Uncompressed containers, and the bytes per sample of their subtypes: the frame count must fit in the
# file. (FLAC/OGG/MP3 also report subtypes such as PCM_16 but are compressed: no such rule for them.)
_UNCOMPRESSED = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "RAW"}
_PCM_BYTES = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8,
              "ULAW": 1, "ALAW": 1}


def check_header(name, samplerate: int, channels: int, frames: int, subtype: str | None, file_bytes: int | None,
                 container: str | None = None, max_seconds: float = MAX_SECONDS) -> None:
    """Refuse (AudioHeaderError) a header whose claims are impossible or beyond the limits."""
    if not MIN_RATE <= samplerate <= MAX_RATE:
        raise AudioHeaderError(name, f"header claims a sample rate of {samplerate} Hz (allowed {MIN_RATE}-{MAX_RATE} Hz)")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioHeaderError(name, f"header claims {channels} channels (allowed 1-{MAX_CHANNELS})")
    if frames < 0:
        raise AudioHeaderError(name, f"header claims {frames} frames")
    if frames / samplerate > max_seconds:
        raise AudioHeaderError(name, f"header claims {frames / samplerate:.0f} s, longer than the {max_seconds:.0f} s limit")
    width = _PCM_BYTES.get(subtype or "") if container in _UNCOMPRESSED else None
    if width and file_bytes is not None and frames * channels * width > file_bytes:
        raise AudioHeaderError(
            name, f"header claims {frames} frames x {channels} channels of {subtype}, more than the file's {file_bytes} bytes"
        )


def _file_bytes(source) -> int | None:
    if isinstance(source, (str, os.PathLike)):
        return os.path.getsize(source)
    try:  # a seekable file-like object (bytes of a `datasets` row)
        pos = source.tell()
        size = source.seek(0, os.SEEK_END)
        source.seek(pos)
        return size
    except (AttributeError, OSError, ValueError):
        return None


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


# Above this many kernel entries (orig x taps after the gcd), the cached dense kernel is replaced by
# windowed-sinc taps computed per output chunk: 2,000,000 entries are 8 MB. Common rates (8, 22.05,
# 44.1, 48 kHz) stay on the dense path; odd rates (44,056 Hz: gcd 8 with 16 kHz) take the bounded one.
DENSE_KERNEL_MAX = 2_000_000
_LOWPASS_WIDTH, _ROLLOFF = 6, 0.99  # torchaudio's defaults
_CHUNK_TAPS = 1 << 20  # output samples x taps per chunk on the bounded path (~16 MB of temporaries)


def _dense_kernel_size(orig: int, new: int) -> int:
    base = min(orig, new) * _ROLLOFF
    width = math.ceil(_LOWPASS_WIDTH * orig / base)
    return new * (orig + 2 * width)


def _resample_bounded(flat: np.ndarray, orig: int, new: int, out_len: int) -> np.ndarray:
    """torchaudio's kernel (same formula: sinc, Hann window, width 6, rolloff 0.99), evaluated only at the
    ~2 x width input samples around each output sample, in chunks: memory O(chunk), whatever the rates.

    Output m sits at input position m * orig / new; tap i weighs f(i / orig - m / new). The offset is
    computed with integers so that it stays exact for long files."""
    base = min(orig, new) * _ROLLOFF
    width = math.ceil(_LOWPASS_WIDTH * orig / base)
    d = np.arange(-width, width + 2, dtype=np.int64)
    n = flat.shape[-1]
    out = np.empty((flat.shape[0], out_len), dtype=np.float32)
    step = max(1, _CHUNK_TAPS // len(d))
    for s in range(0, out_len, step):
        m = np.arange(s, min(s + step, out_len), dtype=np.int64)
        i0 = (m * orig) // new
        r = m * orig - i0 * new  # in [0, new)
        t = np.clip((d[None, :] * new - r[:, None]) / (orig * new) * base, -_LOWPASS_WIDTH, _LOWPASS_WIDTH)
        window = np.cos(t * (np.pi / _LOWPASS_WIDTH / 2)) ** 2
        t *= np.pi
        with np.errstate(invalid="ignore", divide="ignore"):
            taps = np.where(t == 0, 1.0, np.sin(t) / t) * window * (base / orig)
        idx = i0[:, None] + d[None, :]
        inside = (idx >= 0) & (idx < n)
        taps = (taps * inside).astype(np.float32)
        vals = flat[:, np.clip(idx, 0, n - 1)]  # (wavs, chunk, taps)
        out[:, s : s + len(m)] = np.einsum("wct,ct->wc", vals, taps)
    return out


def resample(wav: np.ndarray, orig_sr: int, new_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling with torchaudio's sinc kernel (Hann window); time is the last axis.

    Same result as `torchaudio.functional.resample`, applied as strided windows x matrix (a cached
    kernel; torch's conv1d with stride 441 is slow on CPU). Output length: ceil(n * new / orig).
    Rate pairs whose dense kernel would be large (a small gcd with 16 kHz) use `_resample_bounded`.
    """
    if orig_sr == new_sr:
        return wav
    orig, new = _resampler_args(orig_sr, new_sr)
    wav = np.asarray(wav)
    shape = wav.shape
    flat = wav.reshape(-1, shape[-1])
    out_len = int(np.ceil(new * shape[-1] / orig))
    if _dense_kernel_size(orig, new) > DENSE_KERNEL_MAX:
        out = _resample_bounded(flat.astype(np.float32, copy=False), orig, new, out_len)
        return out.reshape(*shape[:-1], -1)
    kernel, width = _sinc_kernel(orig, new)
    padded = torch.from_numpy(np.pad(flat, ((0, 0), (width, width + orig))))  # np.pad: torch's is slow here
    with torch.inference_mode():
        frames = padded.unfold(-1, kernel.shape[0], orig)  # (wavs, blocks, taps)
        out = (frames @ kernel.to(padded.dtype)).reshape(flat.shape[0], -1)  # (wavs, blocks * new)
        out = out[:, :out_len]
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
        file_bytes = _file_bytes(source)
        with sf.SoundFile(source) as f:
            sr = f.samplerate
            check_header(name, sr, f.channels, f.frames, f.subtype, file_bytes, f.format)
            wav = f.read(dtype="float32", always_2d=False)
    except AudioError:
        raise
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
    if os.path.getsize(path) == 0:
        raise AudioDecodeError(path, "empty file (0 bytes)")
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
    check_header(path, int(info.samplerate), int(info.channels), int(info.frames), info.subtype, os.path.getsize(path),
                 info.format)
    return int(info.frames), int(info.samplerate)


def num_samples_at(frames: int, sr: int, target_sr: int = SAMPLE_RATE) -> int:
    """Sample count after resampling `frames` at `sr` to `target_sr` (torchaudio's ceil rule)."""
    if sr == target_sr:
        return frames
    orig, new = _resampler_args(sr, target_sr)
    return int(np.ceil(new * frames / orig))
