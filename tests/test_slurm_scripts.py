"""The SLURM scripts' launch commands, from fake SLURM variables (dry run, and through stand-in srun/scontrol)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conf import find_config

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="the sbatch scripts are bash")

PRETRAIN = find_config("conf/slurm/pretrain.sbatch")
LABELS = find_config("conf/slurm/labels.sbatch")


def _stubs(tmp_path: Path) -> Path:
    """`scontrol show hostnames` and `srun` (one task per node, SLURM_NODEID set) as small scripts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text('#!/bin/bash\n[[ "$1 $2" == "show hostnames" ]] && printf "gpu-a01\\ngpu-a02\\n"\n')
    (bin_dir / "srun").write_text(
        '#!/bin/bash\nwhile [[ "$1" == --* ]]; do shift; done\n'
        'for ((n = 0; n < SLURM_NNODES; n++)); do SLURM_NODEID=$n "$@" || exit $?; done\n')
    # stands in for accelerate: prints the node's argv, one quoted word each
    (bin_dir / "fake-accelerate").write_text('#!/bin/bash\nprintf "%q " "$0" "$@"; printf "\\n"\n')
    for p in bin_dir.iterdir():
        p.chmod(0o755)
    return bin_dir


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["PATH"] = f"{_stubs(tmp_path)}:{env['PATH']}"
    env.update(SLURM_NNODES="2", SLURM_JOB_NODELIST="gpu-a[01-02]", SLURM_JOB_ID="4242", **extra)
    return env


ARGS = ["--config", "base", "data.data_dir=/data/ls 960", "data.label_dirs=[/l/a,/l/b]", "loop.emulate_gpus=32"]


def _run(script, args, env):
    proc = subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()


def test_pretrain_dry_run_prints_each_nodes_accelerate_command(tmp_path):
    lines = _run(PRETRAIN, ARGS, _env(tmp_path, DRY_RUN="1"))
    assert len(lines) == 2
    for node, line in enumerate(lines):
        assert line.startswith(f"node {node}: ")
        argv = shlex.split(line.split(": ", 1)[1])
        assert argv[:2] == ["accelerate", "launch"]
        opts = dict(zip(argv[2::1], argv[3::1]))
        assert opts["--num_machines"] == "2" and opts["--num_processes"] == "16"
        assert opts["--machine_rank"] == str(node)
        assert opts["--main_process_ip"] == "gpu-a01" and opts["--main_process_port"] == str(20000 + 4242)
        assert "--multi_gpu" in argv and opts["--rdzv_backend"] == "static"
        assert argv[argv.index("-m") + 1] == "pretrain" and argv[argv.index("-m") + 2 :] == ARGS


def test_pretrain_real_path_runs_the_same_command_on_every_node(tmp_path):
    env = _env(tmp_path, ACCELERATE="fake-accelerate", GPUS_PER_NODE="4")
    lines = _run(PRETRAIN, ARGS, env)
    assert len(lines) == 2  # one task per node, through srun
    for node, line in enumerate(lines):
        argv = shlex.split(line)
        assert argv[argv.index("--machine_rank") + 1] == str(node)
        assert argv[argv.index("--num_processes") + 1] == "8"
        assert argv[argv.index("-m") + 1 :] == ["pretrain", *ARGS]  # the space in a value survives srun


def test_labels_array_task_gets_its_shard(tmp_path):
    env = _env(tmp_path, DRY_RUN="1", SLURM_ARRAY_TASK_ID="13", SLURM_ARRAY_TASK_MIN="10",
               SLURM_ARRAY_TASK_COUNT="4", SLURM_CPUS_PER_TASK="8")
    args = ["--source", "mfcc", "--kmeans", "/km", "--data", "/data", "--splits", "train,valid", "--out", "/labels"]
    (line,) = _run(LABELS, args, env)
    argv = shlex.split(line)
    assert argv[1:3] == ["-m", "bootstrap.labels_cli"] and argv[3:13] == args
    assert argv[13:] == ["--num-shards", "4", "--shard-id", "3", "--threads", "8"]


def test_labels_refuses_to_run_outside_an_array(tmp_path):
    proc = subprocess.run(["bash", str(LABELS), "--source", "mfcc"], env=_env(tmp_path, DRY_RUN="1"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "not an array task" in proc.stderr
