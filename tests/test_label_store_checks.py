"""Issue 10, defect 7: opening a label set checks dict.km.txt against labels.json's num_classes."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from broken_audio import write_tone_corpus  # noqa: E402

from labelers.corpus.frames import num_frames  # noqa: E402
from labelers.corpus.label_store import DICT_FILE, LabelSet, LabelStoreError, export_fairseq, write_label_set  # noqa: E402


def make_store(tmp_path, k=10):
    data = write_tone_corpus(tmp_path)
    labels = {"train": [np.arange(num_frames(16000, 50)) % k for _ in range(3)]}
    write_label_set(tmp_path / "km", data, labels, source="mfcc", label_rate=50, symbols=[str(i) for i in range(k)])
    return tmp_path / "km"


def test_dictionary_must_match_num_classes(tmp_path):
    km = make_store(tmp_path)
    assert LabelSet.open(km).num_classes == 10
    lines = (km / DICT_FILE).read_text().splitlines()
    (km / DICT_FILE).write_text("\n".join(lines[:5]) + "\n")  # 5 classes listed, labels.json says 10
    with pytest.raises(LabelStoreError, match=r"dict.km.txt: lists 5 classes but .*labels.json says num_classes 10"):
        LabelSet.open(km)
    with pytest.raises(LabelStoreError, match="lists 5 classes"):  # so export cannot copy the wrong dictionary
        export_fairseq(km, tmp_path / "fs")
    (km / DICT_FILE).unlink()
    with pytest.raises(LabelStoreError, match="dict.km.txt: missing"):
        LabelSet.open(km)
