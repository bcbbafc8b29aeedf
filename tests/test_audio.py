import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF

from labelers.corpus.audio import (
    AudioDecodeError,
    AudioMissingError,
    AudioNonFiniteError,
    AudioTooShortError,
    AudioError,
    audio_info,
    load_audio,
    num_samples_at,
    resample,
    to_mono,
)


def dominant_hz(wav, sr):
    spec = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
    return np.fft.rfftfreq(len(wav), 1 / sr)[spec.argmax()]


@pytest.mark.parametrize("sr,hz", [(44100, 440.0), (8000, 1000.0), (22050, 2500.0), (48000, 300.0)])
def test_resample_keeps_frequency_and_length(tmp_path, sr, hz):
    t = np.arange(sr * 2) / sr
    sine = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    path = tmp_path / f"sine_{sr}.wav"
    sf.write(path, sine, sr, subtype="FLOAT")
    wav = load_audio(path)
    assert wav.dtype == np.float32
    assert len(wav) == num_samples_at(len(sine), sr) == int(np.ceil(len(sine) * 16000 / sr))
    assert abs(dominant_hz(wav, 16000) - hz) < 1.0
    assert np.abs(wav[1000:-1000]).max() == pytest.approx(0.5, abs=0.02)  # band-limited, no gain change
    # the cached-kernel implementation matches torchaudio.functional.resample
    ref = AF.resample(torch.from_numpy(sine), sr, 16000).numpy()
    assert np.abs(resample(sine, sr, 16000) - ref).max() < 1e-4


def test_resample_batch_and_identity():
    x = np.random.default_rng(0).normal(size=(3, 22050)).astype(np.float32)
    y = resample(x, 22050, 16000)
    assert y.shape == (3, 16000)
    assert np.allclose(y[1], resample(x[1], 22050, 16000), atol=1e-6)
    assert resample(x, 16000, 16000) is x


def test_stereo_mixdown(tmp_path):
    rng = np.random.default_rng(1)
    left, right = rng.uniform(-0.5, 0.5, 16000), rng.uniform(-0.5, 0.5, 16000)
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    assert np.allclose(to_mono(stereo), (left + right) / 2, atol=1e-6)
    sf.write(tmp_path / "st.wav", stereo, 16000, subtype="FLOAT")
    assert np.allclose(load_audio(tmp_path / "st.wav"), (left + right) / 2, atol=1e-6)
    assert audio_info(tmp_path / "st.wav") == (16000, 16000)


def test_typed_errors(tmp_path):
    with pytest.raises(AudioMissingError) as e:
        load_audio(tmp_path / "nope.flac")
    assert e.value.path.endswith("nope.flac") and "not found" in e.value.reason

    (tmp_path / "corrupt.flac").write_bytes(b"fLaC\x00\x01garbage" * 20)
    with pytest.raises(AudioDecodeError, match="corrupt.flac: cannot decode"):
        load_audio(tmp_path / "corrupt.flac")
    with pytest.raises(AudioDecodeError):
        audio_info(tmp_path / "corrupt.flac")

    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioTooShortError, match="empty"):
        load_audio(tmp_path / "empty.wav")

    sf.write(tmp_path / "short.wav", np.zeros(399, np.float32), 16000)
    with pytest.raises(AudioTooShortError, match="399 samples"):
        load_audio(tmp_path / "short.wav")
    sf.write(tmp_path / "ok.wav", np.zeros(400, np.float32), 16000)
    assert len(load_audio(tmp_path / "ok.wav")) == 400
    # 8 kHz: 250 samples become 500 at 16 kHz, long enough; 150 become 300, too short
    sf.write(tmp_path / "short8k.wav", np.zeros(150, np.float32), 8000)
    with pytest.raises(AudioTooShortError, match="300 samples"):
        load_audio(tmp_path / "short8k.wav")

    bad = np.zeros(1600, np.float32)
    bad[100] = np.nan
    sf.write(tmp_path / "nan.wav", bad, 16000, subtype="FLOAT")
    with pytest.raises(AudioNonFiniteError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
    assert issubclass(AudioNonFiniteError, AudioError)
