"""A real 2-process CPU labeling job writes the same label store, byte for byte, as one process: what a
multi-GPU node or the SLURM array does, at CPU scale.

The two processes come from torchrun (`torch.distributed.run`), which sets the same RANK / WORLD_SIZE /
LOCAL_RANK that `accelerate launch` sets on GPUs; `accelerate launch --cpu --num_processes 2` starts a
single process (accelerate 1.x), so it would not test anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labelers.features_mfcc import MfccFeatures
from labelers.kmeans import fit_kmeans

from phone_corpus import make_phone_corpus

ROOT = Path(__file__).resolve().parents[1]
STORE_FILES = ("train.km", "valid.km", "dict.km.txt", "labels.json")


def _label(launch: list[str], corpus: Path, km: Path, out: Path) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    cmd = [*launch, "-m", "bootstrap.labels_cli", "--source", "mfcc", "--kmeans", str(km), "--data", str(corpus),
           "--splits", "train,valid", "--out", str(out), "--chunk-utterances", "4", "--threads", "1", "--no-progress"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def test_two_cpu_processes_label_like_one(tmp_path):
    corpus = make_phone_corpus(tmp_path / "data")
    km = tmp_path / "km"
    fit_kmeans(MfccFeatures(), corpus, "train", 12, km, percent=0.5, n_init=2, max_iter=20, progress=False,
               verbose=False)
    _label([sys.executable], corpus, km, tmp_path / "one")
    two = _label([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"],
                 corpus, km, tmp_path / "two")
    for name in STORE_FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert "shard 0 of 2" in two and "shard 1 of 2" in two  # both processes labelled a part
