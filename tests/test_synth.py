import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from labelers.corpus.audio import load_audio
from labelers.corpus.split import open_split
from labelers.corpus.frames import num_frames
from labelers.corpus.summary import summarize_corpus

SPLITS = ("train", "valid", "test", "labeled")


def frame_energy_db(wav: np.ndarray, n: int) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(wav, 400)[::160][:n]
    return 10 * np.log10((frames.astype(np.float64) ** 2).mean(axis=1) + 1e-12)


def corpus_digest(root: Path) -> dict[str, str]:
    files = sorted(root.glob("audio/**/*.flac")) + sorted(root.glob("*.phn")) + sorted(root.glob("*.wrd"))
    files += sorted(root.glob("*.ltr"))
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_corpus_layout(synth_corpus):
    info = json.loads((synth_corpus / "corpus.json").read_text())
    assert set(info["splits"]) == set(SPLITS)
    train = open_split(synth_corpus, "train").manifest()
    labeled = open_split(synth_corpus, "labeled").manifest()
    # labeled is a proper prefix subset of train, pointing at the same audio files
    assert labeled.root == train.root == str(synth_corpus.resolve())
    assert 0 < len(labeled) < len(train) and labeled.relpaths == train.relpaths[: len(labeled)]
    assert 0.4 < sum(labeled.num_samples) / sum(train.num_samples) < 0.7
    total = sum(info["splits"][s]["seconds"] for s in ("train", "valid", "test"))
    assert 1.5 * 60 <= total < 1.5 * 60 + 30
    for name in SPLITS:
        sp = open_split(synth_corpus, name)
        m = sp.manifest()
        words, letters = sp.words(), sp.letters()
        assert len(words) == len(letters) == len(sp.phones()) == len(m)
        for w, l in zip(words, letters):
            assert w == w.upper() and w.replace(" ", "").isalpha()
            assert l.endswith("|") and l.replace(" ", "").replace("|", "") == w.replace(" ", "")
    # voices rotate within every split: each split has min(utterances, 12) distinct voices
    for name in ("train", "valid", "test"):
        split = info["splits"][name]
        assert len(split["voices"]) == min(split["utterances"], 12) >= 2
    # transcripts vary: a real vocabulary, not a handful of phrases
    train_words = open_split(synth_corpus, "train").words()
    assert len(set(train_words)) == len(train_words)
    assert len({w for line in train_words for w in line.split()}) > 100
    summary = summarize_corpus(synth_corpus)
    assert summary["splits"]["train"]["utterances"] == len(train) and "sil" in summary["phones"]


def test_phone_frames_match_audio(synth_corpus):
    from labelers.corpus.synth.phones import PHONE_SET

    for name in ("train", "valid", "test"):
        sp = open_split(synth_corpus, name)
        m = sp.manifest()
        for i, phones in enumerate(sp.phones()):
            wav = load_audio(m.path(i))
            assert len(wav) == m.num_samples[i]
            assert len(phones) == num_frames(len(wav), 100) == (len(wav) - 400) // 160 + 1
            assert set(phones) <= set(PHONE_SET)
            assert len(phones[::2]) == num_frames(len(wav), 50)  # 50 Hz scoring: every other frame


def test_silence_and_boundaries_follow_the_audio(synth_corpus):
    sp = open_split(synth_corpus, "train")
    m = sp.manifest()
    sil_db, speech_db, run_lengths = [], [], []
    for i, phones in enumerate(sp.phones()):
        lab = np.array(phones)
        energy = frame_energy_db(load_audio(m.path(i)), len(lab))
        sil = lab == "sil"
        assert sil[0] and sil[-1], f"{m.relpaths[i]}: utterances start and end in silence"
        sil_db.extend(energy[sil])
        speech_db.extend(energy[~sil])
        # speech onset/offset in the labels agrees with the energy envelope within 3 frames (30 ms)
        threshold = (np.median(energy[sil]) + np.median(energy[~sil])) / 2
        loud = energy > threshold
        assert abs(np.argmax(loud) - np.argmax(~sil)) <= 3, m.relpaths[i]
        assert abs(np.argmax(loud[::-1]) - np.argmax(~sil[::-1])) <= 3, m.relpaths[i]
        changes = np.flatnonzero(lab[1:] != lab[:-1]) + 1
        bounds = np.concatenate([[0], changes, [len(lab)]])
        run_lengths.extend(b - a for a, b, p in zip(bounds, bounds[1:], lab[bounds[:-1]]) if p != "sil")
        # at least one phone per word
        assert np.sum(lab[bounds[:-1]] != "sil") >= len(sp.words()[i].split())
    assert np.median(sil_db) < np.median(speech_db) - 25  # dB
    assert np.percentile(speech_db, 25) > np.percentile(sil_db, 75) + 10
    # phones last tens of milliseconds: median 4-15 frames, none over a second
    assert 4 <= np.median(run_lengths) <= 15 and max(run_lengths) < 100


def test_phone_map_covers_every_voice_and_word():
    from labelers.corpus.synth.espeak import Espeak
    from labelers.corpus.synth.phones import PHONE_SET, map_phoneme
    from labelers.corpus.synth.sentences import vocabulary
    from labelers.corpus.synth.voices import VOICES

    engine = Espeak.get()
    text = ". ".join(w.lower() for w in vocabulary()) + "."
    seen = set()
    for voice in VOICES:
        syn = engine.synthesize(text, voice)
        seen.update(map_phoneme(p.name) for p in syn.phonemes)  # raises on an unmapped phoneme
        # the struct layout agrees with espeak's own clock: events lie inside the audio, in order
        samples = [p.sample for p in syn.phonemes]
        assert samples == sorted(samples) and samples[-1] <= len(syn.samples)
    assert seen == set(PHONE_SET)


def test_unknown_phoneme_is_an_error():
    from labelers.corpus.synth.phones import UnknownPhonemeError, map_phoneme, segments_from_events

    assert map_phoneme("'aI@") == "AY" and map_phoneme(",oU") == "OW" and map_phoneme("_:") == "sil"
    with pytest.raises(UnknownPhonemeError, match="'Q!'"):
        map_phoneme("Q!")
    # zero-length events vanish, pauses merge, segments tile the audio
    events = [("h", 100), ("p", 300), ("@", 300), ("_", 500), ("_:", 500), ("_", 600)]
    segs = segments_from_events(events, 700, 1000)
    assert segs == [("sil", 0.0, 0.1), ("HH", 0.1, 0.3), ("AH", 0.3, 0.5), ("sil", 0.5, 0.7)]


def test_frame_labels_use_frame_centres():
    from labelers.corpus.synth.phones import frame_labels

    # 1 s of audio: 98 frames; centres at 12.5 ms + 10 ms * t
    segs = [("sil", 0.0, 0.1), ("AA", 0.1, 0.5), ("sil", 0.5, 1.0)]
    lab = frame_labels(segs, 16000)
    assert len(lab) == 98
    centres = 0.0125 + 0.01 * np.arange(98)
    expected = np.where((centres >= 0.1) & (centres < 0.5), "AA", "sil")
    assert lab == expected.tolist()


def test_determinism_and_default_cache(tmp_path, monkeypatch, synth_corpus):
    from labelers.corpus.synth import default, generate

    monkeypatch.setenv("HUBERT_BOOTSTRAP_CACHE", str(tmp_path / "cache"))
    first = default.default_corpus(minutes=0.2, seed=7, progress=False)
    assert first.parent == tmp_path / "cache" and (first / "corpus.json").is_file()
    again = generate.generate_corpus(tmp_path / "again", minutes=0.2, seed=7, progress=False)
    a, b = corpus_digest(first), corpus_digest(tmp_path / "again")
    assert len(a) > 8 and a == b  # same seed: byte-identical FLAC files and labels
    other = corpus_digest(synth_corpus)  # another seed: other sentences and audio
    assert a["train.wrd"] != other["train.wrd"]
    assert all(a[k] != other[k] for k in set(a) & set(other) if k.endswith(".flac"))
    assert again["splits"] == json.loads((first / "corpus.json").read_text())["splits"]
    assert again["elapsed_s"] > 0 and "elapsed_s" not in json.loads((first / "corpus.json").read_text())
    # reused, not regenerated
    monkeypatch.setattr(default, "generate_corpus", lambda *a, **k: pytest.fail("regenerated a cached corpus"))
    assert default.default_corpus(minutes=0.2, seed=7) == first
    with pytest.raises(FileExistsError):
        generate.generate_corpus(tmp_path / "again", minutes=0.2, seed=7)
    assert not list(tmp_path.glob(".*.tmp"))  # no temp folders left behind


def test_missing_extra_gives_install_hint(tmp_path, monkeypatch):
    import importlib.util

    from labelers.corpus.synth.default import default_corpus
    from labelers.corpus.synth.espeak import SynthUnavailableError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "espeakng_loader" else real(name, *a))
    monkeypatch.setenv("HUBERT_BOOTSTRAP_CACHE", str(tmp_path))
    with pytest.raises(SynthUnavailableError, match=r"pip install 'hubert-bootstrap\[synth\]'"):
        default_corpus(minutes=0.1, seed=3, progress=False)
    from bootstrap.cli import main

    assert main(["corpus", "synth", "--out", str(tmp_path / "c"), "--minutes", "0.1"]) == 2
    assert not (tmp_path / "c").exists()


def test_core_never_imports_espeak():
    code = (
        "import sys, bootstrap.cli, labelers.corpus.importers.common, labelers.corpus.label_store, labelers.corpus.summary\n"
        "bootstrap.cli.build_parser()\n"
        "bad = [m for m in sys.modules if m.startswith(('espeakng_loader', 'labelers.corpus.synth'))]\n"
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env={"PYTHONPATH": str(root), "PATH": ""})
