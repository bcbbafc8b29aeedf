"""Defect 1 of issue 10: hostile headers are refused before decoding; resampling is bounded in memory."""

import io
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio.functional as AF

sys.path.insert(0, str(Path(__file__).parent))
from broken_audio import absurd_rate_wav, tone, wav_bytes  # noqa: E402

from labelers.corpus import audio as A  # noqa: E402
from labelers.corpus.audio import AudioHeaderError, check_header, decode_audio, load_audio, resample  # noqa: E402


def test_absurd_sample_rate_is_refused_before_decoding(tmp_path):
    path = tmp_path / "hostile.wav"
    path.write_bytes(absurd_rate_wav(1_092_676, 926))
    assert path.stat().st_size == 926
    with pytest.raises(AudioHeaderError, match="1092676 Hz"):
        load_audio(path)
    with pytest.raises(AudioHeaderError):
        A.audio_info(path)
    with pytest.raises(AudioHeaderError):  # bytes of a `datasets` row go through the same guard
        decode_audio(io.BytesIO(path.read_bytes()), "row 3")


def test_header_claims_are_checked():
    check_header("ok.wav", 44100, 2, 44100 * 10, "PCM_16", 44100 * 10 * 4 + 44, "WAV")
    with pytest.raises(AudioHeaderError, match="sample rate of 2000 Hz"):
        check_header("a.wav", 2000, 1, 100, "PCM_16", 1000)
    with pytest.raises(AudioHeaderError, match="0 channels"):
        check_header("a.wav", 16000, 0, 100, "PCM_16", 1000)
    with pytest.raises(AudioHeaderError, match="more than the file's 1000 bytes"):
        check_header("a.wav", 16000, 1, 16000, "PCM_16", 1000, "WAV")
    with pytest.raises(AudioHeaderError, match="longer than the 3600 s limit"):
        check_header("a.flac", 16000, 1, 16000 * 7200, "PCM_16", None)
    check_header("a.flac", 16000, 1, 16000 * 600, "PCM_16", 1000, "FLAC")  # compressed: no size rule


@pytest.mark.parametrize("sr", [44056, 22254, 4001])
def test_odd_rates_match_torchaudio(sr):
    x = np.random.default_rng(sr).normal(scale=0.3, size=(2, sr)).astype(np.float32)
    orig, new = A._resampler_args(sr, 16000)
    assert A._dense_kernel_size(orig, new) > A.DENSE_KERNEL_MAX  # these take the bounded path
    ref = AF.resample(torch.from_numpy(x).double(), sr, 16000).numpy()
    y = resample(x, sr, 16000)
    assert y.shape == ref.shape and y.dtype == np.float32
    assert np.abs(y - ref).max() < 1e-5


def test_bounded_path_equals_dense_path():
    x = tone(2.0, 22050)[None]
    orig, new = A._resampler_args(22050, 16000)
    dense = resample(x, 22050, 16000)
    bounded = A._resample_bounded(x, orig, new, dense.shape[-1])
    assert np.abs(dense - bounded).max() < 1e-5


def test_resampling_a_coprime_rate_stays_small():
    """191,999 Hz is coprime with 16 kHz: the dense kernel would be 16,000 x 192,000 floats (12 GB)."""
    x = tone(1.0, 191_999)
    tracemalloc.start()
    try:
        y = resample(x, 191_999, 16000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(y) == 16000
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    ref_hz = np.fft.rfftfreq(16000, 1 / 16000)[np.abs(np.fft.rfft(y * np.hanning(16000))).argmax()]
    assert abs(ref_hz - 220.0) < 1.0


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("WAV", "PCM_24"), ("WAV", "FLOAT")])
def test_ordinary_files_pass_the_header_checks(tmp_path, fmt, subtype):
    """A compressed file holds fewer bytes than frames x width: only uncompressed containers get that rule."""
    wav = tone(2.0, 22050)
    path = tmp_path / f"a.{fmt.lower()}"
    import soundfile as sf

    sf.write(path, wav, 22050, format=fmt, subtype=subtype)
    assert path.stat().st_size < len(wav) * 4 or fmt == "WAV"
    out = load_audio(path)
    assert len(out) == 32000 and A.audio_info(path)[1] == 22050


def test_pcm_claiming_more_frames_than_bytes_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "a.wav"
    path.write_bytes(wav_bytes(tone(0.5), 16000))
    monkeypatch.setattr(A, "_file_bytes", lambda source: 100)  # as if the file were cut after its header
    with pytest.raises(AudioHeaderError, match="more than the file's 100 bytes"):
        load_audio(path)
