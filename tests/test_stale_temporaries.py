"""Issue 10, defect 4: a run killed with SIGKILL during the k-means fit (streamed feature cache) or
mid-merge (`.*.tmp` beside the label files) leaves temporaries; the rerun sweeps the ones it owns and
still writes byte-identical labels. Temporaries of live processes are never swept."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from broken_audio import write_tone_corpus  # noqa: E402

from labelers.corpus.temporaries import owner_tag, stale_temporaries, sweep_stale, temp_prefix  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

KILL_IN_FIT = """
import labelers.kmeans as K
real = K._FeatureCache.close_writer
def close_and_die(self):
    real(self)
    os.kill(os.getpid(), signal.SIGKILL)
K._FeatureCache.close_writer = close_and_die
"""
KILL_IN_MERGE = """
real = os.replace
def replace_or_die(src, dst):
    if str(dst).endswith("train.km"):  # the merged label file (chunks are .npz)
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)
os.replace = replace_or_die
"""


def label_args(data, out):
    return ["--source", "mfcc", "--data", str(data), "--splits", "train", "--n-clusters", "3", "--n-init", "1",
            "--max-iter", "3", "--out", str(out), "--no-progress", "--threads", "1"]


def run_killed(patch: str, argv: list[str]) -> int:
    code = f"import os, signal, sys\n{patch}\nfrom bootstrap.labels_cli import main\nmain({argv!r})\n"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=300).returncode


def hidden(folder: Path, suffix: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(suffix))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from bootstrap.labels_cli import main

    tmp = tmp_path_factory.mktemp("ref")
    data = write_tone_corpus(tmp)
    assert main(label_args(data, tmp / "labels")) == 0
    return data, tmp / "labels"


@pytest.mark.parametrize("where,patch,folder,suffix", [
    ("fit", KILL_IN_FIT, "kmeans", ".f32"), ("merge", KILL_IN_MERGE, ".", ".tmp"),
])
def test_rerun_after_sigkill_sweeps_and_is_identical(reference, tmp_path, where, patch, folder, suffix):
    from bootstrap.labels_cli import main

    data, ref = reference
    out = tmp_path / "labels"
    assert run_killed(patch, label_args(data, out)) == -9
    left = hidden(out / folder, suffix)
    assert len(left) == 1, left  # the killed run's temporary
    assert main(label_args(data, out)) == 0
    assert hidden(out / folder, suffix) == []
    for name in ("train.km", "dict.km.txt"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_live_and_foreign_temporaries_are_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = owner_tag().rsplit(".", 1)[0]
    stale = tmp_path / f".train.km.{host}.{dead.pid}.abc.tmp"
    mine = tmp_path / f"{temp_prefix('train.km')}def.tmp"
    parent = tmp_path / f".train.km.{host}.{os.getppid()}.ghi.tmp"  # a live process on this host
    foreign = tmp_path / f".train.km.otherhost.{dead.pid}.jkl.tmp"  # cannot tell whether it is alive
    untagged = tmp_path / ".features.x1y2z3.f32"
    for p in (stale, mine, parent, foreign, untagged):
        p.write_bytes(b"x")
    assert stale_temporaries(tmp_path) == [stale]
    assert sweep_stale(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (mine, parent, foreign, untagged))
