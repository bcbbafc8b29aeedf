import json

import numpy as np
import pytest

from labelers.corpus.split import open_split
from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import LabelSet, LabelStoreError, Skip, write_label_set


def fake_labels(data_dir, split, rate=50, k=20, seed=0):
    m = open_split(data_dir, split).manifest()
    rng = np.random.default_rng(seed)
    return [rng.integers(0, k, num_frames(n, rate)) for n in m.num_samples]


def test_write_read_round_trip(data_dir, tmp_path):
    labels = {s: fake_labels(data_dir, s, seed=i) for i, s in enumerate(("train", "valid"))}
    labels["valid"][1] = Skip("decoder produced nothing")
    symbols = [str(i) for i in range(20)]
    write_label_set(tmp_path / "km", data_dir, labels, source="mfcc", label_rate=50, symbols=symbols, origin={"k": 20})
    ls = LabelSet.open(tmp_path / "km")
    assert (ls.source, ls.label_rate, ls.num_classes, sorted(ls.splits)) == ("mfcc", 50, 20, ["train", "valid"])
    assert ls.symbols() == symbols
    train = ls.read("train", data_dir)
    assert all(np.array_equal(a, b) for a, b in zip(train, labels["train"]))
    valid = ls.read("valid")  # data_dir recorded in labels.json
    assert valid[1] is None and np.array_equal(valid[0], labels["valid"][0])
    assert ls.skipped("valid") == {1: "decoder produced nothing"}
    info = json.loads((tmp_path / "km" / "labels.json").read_text())
    assert info["counts"]["valid"]["labelled"] == len(labels["valid"]) - 1
    counts = [int(line.split()[1]) for line in (tmp_path / "km" / "dict.km.txt").read_text().splitlines()]
    assert sum(counts) == sum(len(x) for s in labels.values() for x in s if isinstance(x, np.ndarray))


def test_refuses_other_manifest(data_dir, tmp_path):
    write_label_set(tmp_path / "km", data_dir, {"test": fake_labels(data_dir, "test")}, source="mfcc", label_rate=50,
                    symbols=[str(i) for i in range(20)])
    tsv = data_dir / "test.tsv"
    lines = tsv.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]  # same rows, other order: labels would be misaligned
    tsv.write_text("\n".join(lines) + "\n")
    with pytest.raises(LabelStoreError, match="made for another manifest"):
        LabelSet.open(tmp_path / "km").read("test", data_dir)


def test_refuses_wrong_length_naming_the_utterance(data_dir, tmp_path):
    labels = fake_labels(data_dir, "test")
    labels[2] = np.concatenate([labels[2], [0, 0, 0]])  # 3 frames too many
    write_label_set(tmp_path / "km", data_dir, {"test": labels}, source="mfcc", label_rate=50,
                    symbols=[str(i) for i in range(20)])
    utt = open_split(data_dir, "test").manifest().relpaths[2]
    with pytest.raises(LabelStoreError, match=utt):
        LabelSet.open(tmp_path / "km").read("test", data_dir)
    # one frame off is within tolerance
    labels[2] = labels[2][:-2]
    write_label_set(tmp_path / "km2", data_dir, {"test": labels}, source="mfcc", label_rate=50,
                    symbols=[str(i) for i in range(20)])
    assert len(LabelSet.open(tmp_path / "km2").read("test", data_dir)[2]) == len(labels[2])


def test_other_validation(data_dir, tmp_path):
    symbols = [str(i) for i in range(20)]
    with pytest.raises(LabelStoreError, match="label rows for"):
        write_label_set(tmp_path / "a", data_dir, {"test": fake_labels(data_dir, "test")[:-1]}, source="mfcc",
                        label_rate=50, symbols=symbols)
    labels = fake_labels(data_dir, "test", k=30)
    labels[0][0] = 25
    write_label_set(tmp_path / "b", data_dir, {"test": labels}, source="mfcc", label_rate=50, symbols=symbols)
    with pytest.raises(LabelStoreError, match="class id outside"):
        LabelSet.open(tmp_path / "b").read("test", data_dir)
    with pytest.raises(LabelStoreError, match="labels.json missing"):
        LabelSet.open(tmp_path / "nothing")
    # 100 Hz labels from the .phn convention fit the same length rule
    phn = open_split(data_dir, "valid").phones()
    inventory = sorted({p for seq in phn for p in seq})
    ids = [np.array([inventory.index(p) for p in seq]) for seq in phn]
    write_label_set(tmp_path / "phn", data_dir, {"valid": ids}, source="phones", label_rate=100, symbols=inventory)
    assert [len(x) for x in LabelSet.open(tmp_path / "phn").read("valid", data_dir)] == [len(s) for s in phn]
