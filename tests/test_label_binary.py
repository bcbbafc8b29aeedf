"""The memory-mapped label form: equal to the `.km` reader; a corrupt or stale one is refused, named, and rebuilt."""

import os
import pickle
import shutil

import numpy as np
import pytest

from labelers.corpus.frames import num_frames
from labelers.corpus.label_binary import binary_files, label_dtype, load_label_arrays, open_binary
from labelers.corpus.label_store import LabelSet, LabelStoreError, Skip, write_label_set
from labelers.corpus.split import open_split


@pytest.fixture
def data_dir(synth_corpus, tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    for p in synth_corpus.glob("*.*"):
        if p.is_file():
            shutil.copy(p, out / p.name)
    return out


def _label_set(data_dir, out, k, rate=100, seed=0):
    rng = np.random.default_rng(seed)
    labels = {s: [rng.integers(0, k, num_frames(n, rate)) for n in open_split(data_dir, s).manifest().num_samples]
              for s in ("train", "valid")}
    labels["train"][2] = Skip("nothing decoded")
    labels["train"][0][:3] = k - 1  # the largest id must survive the narrow dtype
    write_label_set(out, data_dir, labels, source="mfcc", label_rate=rate, symbols=[str(i) for i in range(k)])
    return LabelSet.open(out)


def _same(arrays, rows):
    assert len(arrays) == len(rows)
    for a, b in zip((arrays[i] for i in range(len(arrays))), rows):
        assert (a is None and b is None) or np.array_equal(a, b)


@pytest.mark.parametrize("k, dtype", [(100, np.uint8), (300, np.uint16)])
def test_reader_equals_the_km_reader_in_the_smallest_dtype(data_dir, tmp_path, k, dtype):
    ls = _label_set(data_dir, tmp_path / "km", k)
    for split in ("train", "valid"):
        arrays = load_label_arrays(ls, split, data_dir, log=lambda m: None)
        _same(arrays, ls.read(split, data_dir))
        assert arrays.flat.dtype == dtype and isinstance(arrays.flat, np.memmap)
        assert os.path.getsize(binary_files(ls.label_dir, split)[0]) == arrays.total * np.dtype(dtype).itemsize
    assert arrays[0].base is not None  # a view of the map, not a copy
    # a DataLoader worker / another rank gets the paths and maps the same file
    clone = pickle.loads(pickle.dumps(arrays))
    assert len(pickle.dumps(arrays)) < 1000
    _same(clone, ls.read("valid", data_dir))
    assert (label_dtype(256), label_dtype(257), label_dtype(70000)) == (np.uint8, np.uint16, np.uint32)


def test_corrupt_binary_is_refused_with_the_file_named_and_rebuilt(data_dir, tmp_path):
    ls = _label_set(data_dir, tmp_path / "km", 50)
    load_label_arrays(ls, "train", data_dir, log=lambda m: None)
    labels_bin, offsets_bin, _ = binary_files(ls.label_dir, "train")
    with open(labels_bin, "r+b") as f:  # one flipped byte in the middle
        f.seek(os.path.getsize(labels_bin) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x5]))
    with pytest.raises(LabelStoreError, match=f"{labels_bin}: corrupt"):
        open_binary(ls, "train", data_dir)
    messages = []
    arrays = load_label_arrays(ls, "train", data_dir, log=messages.append)
    assert len(messages) == 1 and str(labels_bin) in messages[0] and "rebuilding" in messages[0]
    _same(arrays, ls.read("train", data_dir))
    with open(offsets_bin, "r+b") as f:  # truncated index
        f.truncate(os.path.getsize(offsets_bin) - 8)
    with pytest.raises(LabelStoreError, match=f"{offsets_bin}: corrupt"):
        open_binary(ls, "train", data_dir)
    _same(load_label_arrays(ls, "train", data_dir, log=lambda m: None), ls.read("train", data_dir))


def test_stale_binary_is_refused_and_rebuilt_from_the_new_km(data_dir, tmp_path):
    ls = _label_set(data_dir, tmp_path / "km", 50)
    old = load_label_arrays(ls, "train", data_dir, log=lambda m: None)
    km = ls.label_dir / "train.km"
    st = km.stat()
    os.utime(km, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same content: still valid
    _same(open_binary(ls, "train", data_dir), ls.read("train", data_dir))
    # same size, other content (a relabelled .km copied over): stale
    lines = km.read_text().split("\n")
    lines[0] = " ".join(t[:-1] + str((int(t[-1]) + 1) % 10) for t in lines[0].split())  # ids stay < 50
    km.write_text("\n".join(lines))
    assert km.stat().st_size == st.st_size
    with pytest.raises(LabelStoreError, match=f"{binary_files(ls.label_dir, 'train')[0]}: stale"):
        open_binary(ls, "train", data_dir)
    new = load_label_arrays(ls, "train", data_dir, log=lambda m: None)
    assert not np.array_equal(np.asarray(new[0]), np.asarray(old[0]))
    _same(new, ls.read("train", data_dir))


def test_another_manifest_is_refused_not_rebuilt(data_dir, tmp_path):
    ls = _label_set(data_dir, tmp_path / "km", 50)
    load_label_arrays(ls, "train", data_dir, log=lambda m: None)
    tsv = data_dir / "train.tsv"
    lines = tsv.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    tsv.write_text("\n".join(lines) + "\n")
    messages = []
    with pytest.raises(LabelStoreError, match="made for another manifest"):
        load_label_arrays(ls, "train", data_dir, log=messages.append)
    assert messages == []
