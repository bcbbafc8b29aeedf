"""Issue 10, done-when: a folder mixing good files with broken ones imports and labels; every bad file
is reported with a reason, the good ones are labelled, the exit code is 0."""

import json
import os
import sys
from pathlib import Path

import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from broken_audio import write_broken_files, write_good_files  # noqa: E402

from bootstrap.cli import main as bootstrap_main  # noqa: E402
from bootstrap.labels_cli import main as labels_main  # noqa: E402
from labelers.corpus.label_store import LabelSet  # noqa: E402

REASONS = {  # a word each reason must contain
    "absurd_header.wav": "1092676 Hz", "no_data.wav": "data", "empty.wav": "empty", "truncated.wav": "decode",
    "not_audio.wav": "not recognised", "nan.wav": "NaN", "short.wav": "100 samples",
}


def test_mixed_folder_imports_and_labels(tmp_path, capsys):
    audio = tmp_path / "audio"
    broken = write_broken_files(audio)
    good = write_good_files(audio)
    assert set(broken) == set(REASONS)
    data = tmp_path / "data"
    assert bootstrap_main(["corpus", "folder", "--root", str(audio), "--out", str(data), "--split-name", "mixed"]) == 0
    report = json.loads((data / "mixed.import.json").read_text())
    assert report["kept"] == len(good)
    reasons = {s["item"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == set(broken)
    for name, word in REASONS.items():
        assert word in reasons[name], (name, reasons[name])
    assert "skipped absurd_header.wav: header claims a sample rate" in capsys.readouterr().out

    # A manifest listing every file, as if the broken ones had been damaged after the import:
    # labeling must skip and record them too.
    rows = []
    for name in sorted(os.listdir(audio)):
        try:
            info = sf.info(audio / name)
            n = max(1, info.frames * 16000 // info.samplerate)
        except Exception:
            n = 16000
        rows.append(f"{name}\t{n}")
    (data / "all.tsv").write_text(f"{audio}\n" + "\n".join(rows) + "\n")

    out = tmp_path / "labels"
    assert labels_main(["--source", "mfcc", "--data", str(data), "--splits", "mixed,all", "--n-clusters", "4",
                        "--n-init", "1", "--max-iter", "5", "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    ls = LabelSet.open(out)
    assert all(lab is not None for lab in ls.read("mixed"))
    labels = ls.read("all")
    names = sorted(os.listdir(audio))
    skipped = {s["utt"]: s["reason"] for s in ls.info["skipped"]["all"]}
    assert set(skipped) == set(broken)
    for name, word in REASONS.items():
        assert word in skipped[name], (name, skipped[name])
    for name, lab in zip(names, labels):
        assert (lab is None) == (name in broken), name
    printed = capsys.readouterr().out
    assert "all/absurd_header.wav: header claims a sample rate" in printed
