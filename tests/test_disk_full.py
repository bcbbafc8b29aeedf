"""Issue 10, defect 10: a full disk is reported as "disk full while writing X" (atomic writes, the label
store, the k-means cache, checkpoints), and the previous files stay intact."""

import errno
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from broken_audio import write_tone_corpus  # noqa: E402

import labelers.corpus.atomic as atomic  # noqa: E402
from labelers.corpus.atomic import DiskFullError, write_text  # noqa: E402
from labelers.corpus.frames import num_frames  # noqa: E402
from labelers.corpus.label_store import write_label_set  # noqa: E402
from pretrain.cli_errors import one_line  # noqa: E402


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_atomic_write_says_disk_full_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    write_text(target, "old\n")
    monkeypatch.setattr(atomic.os, "fsync", enospc)
    with pytest.raises(DiskFullError) as e:
        write_text(target, "new\n")
    assert one_line(e.value) == f"disk full while writing {target}"
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary left


def test_label_store_says_disk_full(tmp_path, monkeypatch):
    data = write_tone_corpus(tmp_path)
    monkeypatch.setattr(atomic.os, "fsync", enospc)
    labels = {"train": [np.zeros(num_frames(16000, 50), dtype=np.int64)] * 3}
    with pytest.raises(DiskFullError, match=r"^disk full while writing .*train\.km$"):
        write_label_set(tmp_path / "km", data, labels, source="mfcc", label_rate=50, symbols=["0", "1"])
    assert not (tmp_path / "km" / "labels.json").exists()


def test_short_write_messages_count_only_when_space_is_low(tmp_path, monkeypatch):
    raw = RuntimeError("[enforce fail at inline_container.cc:603] . unexpected pos 38961 vs 35423")
    monkeypatch.setattr(atomic, "_free_bytes", lambda folder: 10 * 2**30)
    assert not atomic.is_disk_full(raw, tmp_path)
    monkeypatch.setattr(atomic, "_free_bytes", lambda folder: 4096)
    assert atomic.is_disk_full(raw, tmp_path)
    assert atomic.is_disk_full(RuntimeError("basic_ios::clear: iostream error"), tmp_path)
    assert not atomic.is_disk_full(RuntimeError("CUDA out of memory"), tmp_path)


def test_checkpoint_says_disk_full_and_removes_the_partial_one(tmp_path, monkeypatch):
    from test_loop import ToyTask, _cfg

    from pretrain.loop import list_checkpoints, make_accelerator, run_training

    cfg = _cfg(tmp_path / "run", 6, save_every=3)
    accelerator = make_accelerator(cfg)
    real = accelerator.save_state
    calls = []

    def save_state(path):
        calls.append(path)
        if len(calls) == 2:  # the second checkpoint runs out of space half-way
            os.makedirs(path, exist_ok=True)
            Path(path, "model.safetensors").write_bytes(b"partial")
            raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")
        return real(path)

    accelerator.save_state = save_state
    monkeypatch.setattr(atomic, "_free_bytes", lambda folder: 0)
    with pytest.raises(DiskFullError, match=r"^disk full while writing checkpoint .*step_00000006$"):
        run_training(ToyTask(), cfg, accelerator)
    assert [p.name for p in list_checkpoints(cfg.output_dir)] == ["step_00000003"]
    assert not any(p.name.startswith(".tmp") for p in (tmp_path / "run" / "checkpoints").iterdir())
