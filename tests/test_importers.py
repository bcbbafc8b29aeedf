import json

import numpy as np
import pytest
import soundfile as sf

from labelers.corpus.audio import load_audio
from labelers.corpus.split import open_split
from labelers.corpus.importers.common import normalize_transcript


def tone(seconds, sr, hz=220.0, channels=1):
    t = np.arange(int(seconds * sr)) / sr
    x = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def skipped_reasons(report):
    return {s["item"]: s["reason"] for s in report.skipped}


def test_normalize_transcript():
    assert normalize_transcript("Hello, world!  It's   ok.") == "HELLO WORLD IT'S OK"
    assert normalize_transcript(" -- 'quoted' ") == "QUOTED"
    assert normalize_transcript("") == ""


@pytest.fixture
def librispeech_tree(tmp_path):
    root = tmp_path / "LibriSpeech" / "dev-clean"
    chapter = root / "84" / "121123"
    chapter.mkdir(parents=True)
    for i, sec in enumerate([1.0, 0.5, 0.8]):
        sf.write(chapter / f"84-121123-000{i}.flac", tone(sec, 16000, 200 + 50 * i), 16000)
    (chapter / "84-121123-0003.flac").write_bytes(b"not a flac file at all" * 10)  # corrupt
    sf.write(chapter / "84-121123-0004.flac", tone(0.01, 16000), 16000)  # 160 samples: too short
    sf.write(chapter / "84-121123-0005.flac", tone(0.5, 16000), 16000)  # no transcript line
    (chapter / "84-121123.trans.txt").write_text(
        "84-121123-0000 GO DO YOU HEAR\n84-121123-0001 BUT IN LESS THAN FIVE MINUTES\n"
        "84-121123-0002 AND WHEN I'VE DONE\n84-121123-0003 CORRUPT ONE\n84-121123-0004 TOO SHORT\n"
        "84-121123-0009 AUDIO IS MISSING\n84-121123-0010\n"
    )
    other = root / "174" / "50561"
    other.mkdir(parents=True)
    sf.write(other / "174-50561-0000.flac", tone(1.2, 16000), 16000)
    (other / "174-50561.trans.txt").write_text("174-50561-0000 FORGOTTEN TOO THE NAME OF GILLIAN\n")
    return root


def test_librispeech_import(librispeech_tree, tmp_path, capsys):
    from bootstrap.cli import main
    from labelers.corpus.importers.librispeech import import_librispeech

    out = tmp_path / "data"
    (report,) = import_librispeech(librispeech_tree, out, progress=False)
    assert report.split == "dev-clean"
    sp = open_split(out, "dev-clean")
    m = sp.manifest()
    assert m.root == str(librispeech_tree.resolve())
    assert m.relpaths == ["174/50561/174-50561-0000.flac"] + [f"84/121123/84-121123-000{i}.flac" for i in range(3)]
    assert m.num_samples == [19200, 16000, 8000, 12800]
    assert sp.words()[1] == "GO DO YOU HEAR" and sp.words()[3] == "AND WHEN I'VE DONE"
    assert sp.letters()[1] == "G O | D O | Y O U | H E A R |"
    reasons = skipped_reasons(report)
    assert "cannot decode" in reasons["84/121123/84-121123-0003.flac"]
    assert "shorter than one 25 ms frame" in reasons["84/121123/84-121123-0004.flac"]
    assert reasons["84/121123/84-121123-0005.flac"] == "no transcript line"
    assert reasons["84/121123/84-121123-0009.flac"] == "audio file missing"
    assert any("has no words" in r for r in reasons.values())
    assert report.kept == 4 and len(report.skipped) == 5
    saved = json.loads((out / "dev-clean.import.json").read_text())
    assert saved["kept"] == 4 and len(saved["skipped"]) == 5
    # the CLI on the LibriSpeech/ parent imports every subset as its own split, and reports skips
    assert main(["corpus", "librispeech", "--root", str(librispeech_tree.parent), "--out", str(tmp_path / "cli")]) == 0
    text = capsys.readouterr().out
    assert "dev-clean: kept 4 utterances" in text and "skipped 5" in text and "no transcript line" in text
    assert open_split(tmp_path / "cli", "dev-clean").manifest().relpaths == m.relpaths


def test_folder_import(tmp_path):
    from labelers.corpus.importers.folder import import_folder

    root = tmp_path / "recordings"
    (root / "day1").mkdir(parents=True)
    sf.write(root / "day1" / "a.wav", tone(1.0, 44100, channels=2), 44100)  # stereo 44.1 kHz
    sf.write(root / "day1" / "b.flac", tone(0.5, 16000), 16000)
    sf.write(root / "c.ogg", tone(0.7, 8000), 8000)
    (root / "day1" / "a.txt").write_text("Hello there, world.\n")
    (root / "day1" / "b.txt").write_text("second one")
    (root / "c.txt").write_text("third")
    (root / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    sf.write(root / "tiny.wav", tone(0.005, 16000), 16000)
    nan = tone(0.5, 16000)
    nan[10] = np.nan
    sf.write(root / "nan.wav", nan, 16000, subtype="FLOAT")
    (root / "notes.md").write_text("not audio")

    out = tmp_path / "data"
    report = import_folder(root, out, progress=False)
    assert report.split == "recordings" and report.kept == 3
    m = open_split(out, "recordings").manifest()
    assert m.relpaths == ["c.ogg", "day1/a.wav", "day1/b.flac"]
    assert m.num_samples == [11200, 16000, 8000]  # 16 kHz counts, whatever the file rate
    assert [len(load_audio(m.path(i))) for i in range(3)] == m.num_samples
    assert open_split(out, "recordings").words() == ["THIRD", "HELLO THERE WORLD", "SECOND ONE"]
    reasons = skipped_reasons(report)
    assert set(reasons) == {"broken.wav", "tiny.wav", "nan.wav"}
    assert "NaN" in reasons["nan.wav"] and "cannot decode" in reasons["broken.wav"]

    # a file without transcript: no .wrd unless --require-text drops it
    sf.write(root / "untranscribed.flac", tone(0.6, 16000), 16000)
    report = import_folder(root, out, "mixed", progress=False)
    assert report.kept == 4 and not open_split(out, "mixed").has("wrd") and "3 of 4" in report.notes[0]
    report = import_folder(root, out, "texts", require_text=True, convert=True, progress=False)
    sp = open_split(out, "texts")
    assert report.kept == 3 and sp.has("wrd") and "untranscribed.flac" in skipped_reasons(report)
    m = sp.manifest()
    assert m.root == str(out.resolve()) and m.relpaths[1] == "audio/texts/day1/a.flac"
    assert sf.info(m.path(1)).samplerate == 16000 and sf.info(m.path(1)).channels == 1
    assert sf.info(m.path(1)).frames == m.num_samples[1] == 16000


def test_hf_import_from_disk(tmp_path, capsys):
    import io

    from datasets import Audio, Dataset, DatasetDict

    from bootstrap.cli import main

    def flac_bytes(x, sr):
        buf = io.BytesIO()
        sf.write(buf, x, sr, format="FLAC")
        return buf.getvalue()

    sf.write(tmp_path / "on_disk.wav", tone(0.5, 8000, hz=300), 8000)
    rows = {
        "audio": [
            {"bytes": flac_bytes(tone(1.0, 22050, hz=440), 22050), "path": "one.flac"},
            {"bytes": None, "path": str(tmp_path / "on_disk.wav")},
            {"bytes": b"\x00\x01 definitely not audio", "path": "bad.flac"},
            {"bytes": flac_bytes(tone(0.01, 16000), 16000), "path": "short.flac"},
            {"bytes": flac_bytes(tone(0.5, 16000), 16000), "path": "notext.flac"},
        ],
        "sentence": ["Hello world!", "a second, sentence", "bad", "short", ""],
    }
    ds = Dataset.from_dict(rows).cast_column("audio", Audio(decode=False))
    DatasetDict({"train": ds, "test": ds.select([0])}).save_to_disk(str(tmp_path / "saved"))

    out = tmp_path / "data"
    assert main(["corpus", "hf", "--dataset", str(tmp_path / "saved"), "--out", str(out), "--split", "train"]) == 0
    printed = capsys.readouterr().out
    assert "train: kept 2 utterances" in printed and "skipped 3" in printed
    sp = open_split(out, "train")
    m = sp.manifest()
    assert m.num_samples == [16000, 16000 // 2]
    assert sp.words() == ["HELLO WORLD", "A SECOND SENTENCE"]
    for i in range(2):
        info = sf.info(m.path(i))
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, m.num_samples[i])
    wav = load_audio(m.path(0))
    peak_hz = np.fft.rfftfreq(len(wav), 1 / 16000)[np.abs(np.fft.rfft(wav)).argmax()]
    assert abs(peak_hz - 440) < 2
    report = json.loads((out / "train.import.json").read_text())
    reasons = {s["item"]: s["reason"] for s in report["skipped"]}
    assert "cannot decode" in reasons["row 2 (bad.flac)"]
    assert "shorter than one 25 ms frame" in reasons["row 3 (short.flac)"]
    assert "empty transcript" in reasons["row 4 (notext.flac)"]
    assert not (out / "test.tsv").exists()  # only the requested split

    # all splits, and a renamed single split
    from labelers.corpus.importers.hf import import_hf

    reports = import_hf(str(tmp_path / "saved"), tmp_path / "all", progress=False)
    assert [r.split for r in reports] == ["train", "test"]
    (r,) = import_hf(str(tmp_path / "saved"), tmp_path / "one", split="test", split_name="eval", progress=False)
    assert r.kept == 1 and open_split(tmp_path / "one", "eval").words() == ["HELLO WORLD"]
    with pytest.raises(ValueError, match="no split"):
        import_hf(str(tmp_path / "saved"), tmp_path / "x", split="validation", progress=False)


def test_hf_import_audiofolder(tmp_path, monkeypatch):
    from labelers.corpus.importers.hf import import_hf

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # datasets' csv cache stays in tmp
    root = tmp_path / "af"
    (root / "test").mkdir(parents=True)
    sf.write(root / "x.wav", tone(1.0, 16000), 16000)
    sf.write(root / "y.flac", tone(0.5, 8000), 8000)
    sf.write(root / "test" / "z.wav", tone(0.3, 16000), 16000)
    (root / "metadata.csv").write_text("file_name,transcription\nx.wav,Hello there\ny.flac,second\n")
    (root / "test" / "metadata.csv").write_text("file_name,transcription\nz.wav,third one\n")
    reports = import_hf(str(root), tmp_path / "data", progress=False)
    assert sorted((r.split, r.kept) for r in reports) == [("test", 1), ("train", 2)]
    sp = open_split(tmp_path / "data", "train")
    assert sp.words() == ["HELLO THERE", "SECOND"] and sp.manifest().num_samples == [16000, 8000]
    assert open_split(tmp_path / "data", "test").words() == ["THIRD ONE"]


def test_cli_reports_bad_arguments(tmp_path, capsys):
    from bootstrap.cli import main

    assert main(["corpus", "folder", "--root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 1
    assert "missing: not a folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["corpus", "librispeech", "--root", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 1
    assert "no LibriSpeech layout" in capsys.readouterr().err
