"""Labeling run: sharding, resume, skips, length checks, transcripts, label store validation, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from labelers.features_mfcc import MfccFeatures
from labelers.corpus.frames import num_frames
from labelers.kmeans import KMeansLabeler, KMeansModel, fit_kmeans
from labelers.corpus.label_store import LabelSet, LabelStoreError, export_fairseq, import_fairseq
from labelers.corpus.manifest import read_manifest, write_manifest
from labelers.labeling_run import LabelingError, label_corpus
from labelers.labeler import Labeler

from phone_corpus import make_phone_corpus

STORE_FILES = ("train.km", "valid.km", "dict.km.txt", "labels.json")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_phone_corpus(tmp_path_factory.mktemp("phones") / "data")


@pytest.fixture(scope="module")
def km_model(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("km")
    return fit_kmeans(MfccFeatures(), corpus, "train", 12, out, percent=0.5, n_init=2, max_iter=20,
                      progress=False, verbose=False)


@pytest.fixture(scope="module")
def reference(corpus, km_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    label_corpus(KMeansLabeler(MfccFeatures(), km_model, "cpu"), corpus, ["train", "valid"], out,
                 chunk_utterances=5, progress=False, verbose=False)
    return out


def copy_corpus(src: Path, dst: Path) -> Path:
    """A copy whose manifests point at the copied audio."""
    shutil.copytree(src, dst)
    for tsv in dst.glob("*.tsv"):
        m = read_manifest(tsv)
        m.root = str(dst)
        write_manifest(tsv, m)
    return dst


def same_files(a: Path, b: Path):
    for name in STORE_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_store_matches_manifest_and_lengths(corpus, reference):
    ls = LabelSet.open(reference)
    assert ls.source == "mfcc" and ls.label_rate == 100 and ls.num_classes == 12
    m = read_manifest(corpus / "train.tsv")
    labels = ls.read("train", corpus)
    assert [len(x) for x in labels] == [num_frames(n, 100) for n in m.num_samples]
    counts = [int(line.split()[1]) for line in (reference / "dict.km.txt").read_text().splitlines()]
    total = sum(len(x) for split in ("train", "valid") for x in ls.read(split, corpus))
    assert sum(counts) == total
    assert not (reference / ".work").exists()


def test_shards_merge_to_unsharded_bytes(corpus, km_model, reference, tmp_path):
    lab = KMeansLabeler(MfccFeatures(), km_model, "cpu")
    for shard in range(3):
        s = label_corpus(lab, corpus, ["train", "valid"], tmp_path, num_shards=3, shard_id=shard,
                         chunk_utterances=5, progress=False, verbose=False)
        assert s["merged"] == (shard == 2)
        assert (tmp_path / "labels.json").exists() == (shard == 2)
    same_files(reference, tmp_path)


class Crashing(Labeler):
    """Delegates to a labeler but dies after `after` batches, like a killed job."""

    def __init__(self, inner, after):
        self.inner, self.after, self.calls = inner, after, 0
        self.source, self.label_rate = inner.source, inner.label_rate

    def symbols(self):
        return self.inner.symbols()

    def describe(self):
        return self.inner.describe()

    def label_batch(self, wavs, texts=None):
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt("killed")
        return self.inner.label_batch(wavs)


def test_killed_and_resumed_run_is_identical(corpus, km_model, reference, tmp_path):
    lab = KMeansLabeler(MfccFeatures(), km_model, "cpu")
    with pytest.raises(KeyboardInterrupt):
        label_corpus(Crashing(lab, 3), corpus, ["train", "valid"], tmp_path, chunk_utterances=5,
                     progress=False, verbose=False)
    assert not (tmp_path / "labels.json").exists()
    done = list((tmp_path / ".work").rglob("*.npz"))
    assert done and not list((tmp_path / ".work").rglob("*.tmp"))
    s = label_corpus(lab, corpus, ["train", "valid"], tmp_path, chunk_utterances=5, progress=False, verbose=False)
    assert s["chunks"]["reused"] == len(done) == 3 and s["merged"]
    same_files(reference, tmp_path)
    # A finished folder is not redone.
    again = label_corpus(lab, corpus, ["train", "valid"], tmp_path, chunk_utterances=5, progress=False, verbose=False)
    assert again["chunks"]["labelled"] == 0 and again["merged"]


def test_split_added_to_a_finished_store(corpus, km_model, reference, tmp_path):
    lab = KMeansLabeler(MfccFeatures(), km_model, "cpu")
    label_corpus(lab, corpus, ["valid"], tmp_path, chunk_utterances=5, progress=False, verbose=False)
    s = label_corpus(lab, corpus, ["train"], tmp_path, chunk_utterances=5, progress=False, verbose=False)
    assert s["merged"] and sorted(LabelSet.open(tmp_path).splits) == ["train", "valid"]
    for name in ("train.km", "valid.km", "dict.km.txt"):
        assert (tmp_path / name).read_bytes() == (reference / name).read_bytes()
    again = label_corpus(lab, corpus, ["train", "valid"], tmp_path, chunk_utterances=5, progress=False, verbose=False)
    assert again["chunks"]["labelled"] == 0 and again["merged"]


def test_other_labeler_refused_without_overwrite(corpus, reference, tmp_path):
    shutil.copytree(reference, tmp_path / "l")
    other = KMeansLabeler(MfccFeatures(), KMeansModel.load(LabelSet.open(reference).info["origin"]["kmeans"]["path"]), "cpu")
    other.label_rate = other.label_rate  # same labeler, different batching -> different fingerprint
    with pytest.raises(FileExistsError):
        label_corpus(other, corpus, ["valid"], tmp_path / "l", chunk_utterances=7, progress=False, verbose=False)


def test_label_file_from_another_manifest_refused(corpus, reference, tmp_path):
    data = copy_corpus(corpus, tmp_path / "data")
    m = read_manifest(data / "valid.tsv")
    m.relpaths[0], m.relpaths[1] = m.relpaths[1], m.relpaths[0]
    m.num_samples[0], m.num_samples[1] = m.num_samples[1], m.num_samples[0]
    write_manifest(data / "valid.tsv", m)
    with pytest.raises(LabelStoreError, match="another manifest"):
        LabelSet.open(reference).read("valid", data)
    m.root = str(corpus)  # same rows, same root, but reordered: still refused
    write_manifest(data / "valid.tsv", m)
    with pytest.raises(LabelStoreError, match="another manifest"):
        LabelSet.open(reference).read("valid", data)
    LabelSet.open(reference).read("valid", corpus)


def test_bad_audio_skipped_with_reason(corpus, km_model, tmp_path):
    data = copy_corpus(corpus, tmp_path / "data")
    (data / "wav" / "valid_002.flac").write_bytes(b"not audio at all")
    (data / "wav" / "valid_005.flac").unlink()
    s = label_corpus(KMeansLabeler(MfccFeatures(), km_model, "cpu"), data, ["valid"], tmp_path / "l",
                     progress=False, verbose=False)
    assert {k["index"] for k in s["skipped"]} == {2, 5}
    ls = LabelSet.open(tmp_path / "l")
    labels = ls.read("valid", data)
    assert labels[2] is None and labels[5] is None and labels[0] is not None
    reasons = ls.skipped("valid")
    assert "decode" in reasons[2] and "not found" in reasons[5]
    lines = (tmp_path / "l" / "valid.km").read_text().split("\n")
    assert lines[2] == "" and lines[5] == ""


class WrongLength(Labeler):
    source, label_rate = "test", 50
    uses_transcripts = True

    def __init__(self, off=0):
        self.off, self.texts = off, []

    def symbols(self):
        return ["a", "b"]

    def describe(self):
        return {"off": self.off}

    def label_batch(self, wavs, texts=None):
        self.texts.extend(texts or [])
        return [np.zeros(num_frames(len(w), 50) + self.off, dtype=np.int64) for w in wavs]


def test_wrong_length_is_an_error_naming_the_utterance(corpus, tmp_path):
    with pytest.raises(LabelingError, match=r"valid_\d+\.flac.*misaligned"):
        label_corpus(WrongLength(off=1), corpus, ["valid"], tmp_path, progress=False, verbose=False)


def test_transcripts_passed_to_labelers_that_use_them(corpus, tmp_path):
    lab = WrongLength()
    label_corpus(lab, corpus, ["valid"], tmp_path, progress=False, verbose=False)
    words = (corpus / "valid.wrd").read_text().splitlines()
    assert sorted(lab.texts) == sorted(words)
    assert LabelSet.open(tmp_path).label_rate == 50


def test_fairseq_export_import_roundtrip(corpus, reference, tmp_path):
    export_fairseq(reference, tmp_path / "fs")
    assert (tmp_path / "fs" / "train.km").read_bytes() == (reference / "train.km").read_bytes()
    ls = import_fairseq(tmp_path / "fs", corpus, ["train", "valid"], tmp_path / "imp", source="mfcc", label_rate=100)
    for split in ("train", "valid"):
        a, b = ls.read(split, corpus), LabelSet.open(reference).read(split, corpus)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
    # one frame too many is trimmed; many more is refused, naming the line
    lines = (tmp_path / "fs" / "valid.km").read_text().splitlines()
    lines[0] += " 3"
    (tmp_path / "fs" / "valid.km").write_text("\n".join(lines) + "\n")
    ls = import_fairseq(tmp_path / "fs", corpus, ["valid"], tmp_path / "imp2", source="mfcc", label_rate=100)
    assert ls.info["origin"]["length_adjusted"]["valid"] == 1
    lines[0] += " 3 3 3"
    (tmp_path / "fs" / "valid.km").write_text("\n".join(lines) + "\n")
    with pytest.raises(LabelStoreError, match=r"valid.km:1 "):
        import_fairseq(tmp_path / "fs", corpus, ["valid"], tmp_path / "imp3", source="mfcc", label_rate=100)


def test_cli_labels_fits_and_scores(corpus, tmp_path, capsys):
    from bootstrap.labels_cli import main

    out = tmp_path / "cli"
    assert main(["--source", "mfcc", "--data", str(corpus), "--splits", "train,valid", "--n-clusters", "8",
                 "--n-init", "1", "--max-iter", "5", "--out", str(out), "--no-progress",
                 "--summary-json", str(tmp_path / "s.json")]) == 0
    assert (out / "kmeans" / "kmeans.joblib").is_file() and LabelSet.open(out).num_classes == 8
    assert json.loads((tmp_path / "s.json").read_text())["utterances"] == 32
    assert main(["quality", "--labels", str(out), "--reference", str(corpus), "--split", "valid"]) == 0
    q = json.loads((out / "quality.valid.json").read_text())
    assert 0 < q["pnmi"] <= 1 and "PNMI" in capsys.readouterr().out
    assert (out / "quality.valid.png").stat().st_size > 1000
    with pytest.raises(SystemExit) as e:
        main(["fit-kmeans", "--help"])
    assert e.value.code == 0
    with pytest.raises(SystemExit):
        main(["--source", "mfcc", "--data", str(corpus), "--splits", "valid", "--out", str(tmp_path / "x")])


class FakeState:
    """accelerate.PartialState as seen by one of two launched processes (run one after the other)."""

    def __init__(self, index):
        self.num_processes, self.process_index = 2, index
        self.is_main_process = index == 0

    def wait_for_everyone(self):
        pass


def test_accelerate_processes_shard_automatically(corpus, km_model, reference, tmp_path, monkeypatch):
    import labelers.labeling_run

    lab = KMeansLabeler(MfccFeatures(), km_model, "cpu")
    for index in (1, 0):
        monkeypatch.setattr(labelers.labeling_run, "distributed_state", lambda index=index: FakeState(index))
        s = label_corpus(lab, corpus, ["train", "valid"], tmp_path, chunk_utterances=5, progress=False, verbose=False)
        assert s["shard"] == {"id": index, "of": 2}
        assert s["merged"] == (index == 0)
    same_files(reference, tmp_path)
