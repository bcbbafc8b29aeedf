"""Broken and odd audio files for the reliability tests, built byte by byte in a temporary folder."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float, sr: int = 16000, hz: float = 220.0, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    noise = np.random.default_rng(seed).normal(scale=0.05, size=t.size)
    return (0.3 * np.sin(2 * np.pi * hz * t) + noise).astype(np.float32)


def wav_bytes(wav: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wav, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def absurd_rate_wav(rate: int = 1_092_676, size: int = 926) -> bytes:
    """A small PCM WAV whose header claims `rate` Hz (the fmt chunk's rate and byte rate patched)."""
    data = bytearray(wav_bytes(tone(0.1)[: (size - 44) // 2], 16000))
    assert data[12:16] == b"fmt "
    data[24:28] = struct.pack("<I", rate)
    data[28:32] = struct.pack("<I", rate * 2)
    return bytes(data)


def no_data_chunk_wav() -> bytes:
    """RIFF + WAVE + fmt chunk (36 bytes), no data chunk."""
    head = wav_bytes(tone(0.1), 16000)[:36]
    return b"RIFF" + struct.pack("<I", 28) + head[8:]


def write_broken_files(folder: Path) -> dict[str, str]:
    """Write one file per kind of damage into `folder`; returns {file name: kind}."""
    folder.mkdir(parents=True, exist_ok=True)
    good = wav_bytes(tone(1.0), 16000)
    files = {
        "absurd_header.wav": (absurd_rate_wav(), "absurd sample rate"),
        "no_data.wav": (no_data_chunk_wav(), "no data chunk"),
        "empty.wav": (b"", "empty"),
        "truncated.wav": (good[:30], "truncated"),
        "not_audio.wav": (b"this is a text file, not audio\n" * 20, "not audio"),
        "nan.wav": (wav_bytes(np.where(np.arange(16000) % 100 == 0, np.nan, tone(1.0)).astype(np.float32), 16000, "FLOAT"),
                    "NaN samples"),
        "short.wav": (wav_bytes(tone(1.0)[:100], 16000), "100 samples"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: kind for name, (_, kind) in files.items()}


def write_good_files(folder: Path, count: int = 4) -> list[str]:
    """`count` usable 16 kHz mono files plus one 8 kHz stereo file (resampled and mixed down)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        sf.write(folder / f"good_{i}.wav", tone(1.0 + 0.25 * i, hz=150.0 + 40 * i, seed=i), 16000, subtype="PCM_16")
        names.append(f"good_{i}.wav")
    stereo = np.stack([tone(1.5, 8000, 300.0, 7), tone(1.5, 8000, 500.0, 8)], axis=1)
    sf.write(folder / "stereo_8k.wav", stereo, 8000, subtype="PCM_16")
    names.append("stereo_8k.wav")
    return names


def write_tone_corpus(folder: Path, count: int = 3, split: str = "train") -> Path:
    """A tiny corpus folder: `count` one-second tone files and `{split}.tsv`; returns the folder."""
    audio, data = folder / "audio", folder / "data"
    audio.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        sf.write(audio / f"u{i}.wav", tone(1.0, seed=i), 16000)
        rows.append(f"u{i}.wav\t16000")
    (data / f"{split}.tsv").write_text(f"{audio}\n" + "\n".join(rows) + "\n")
    return data
