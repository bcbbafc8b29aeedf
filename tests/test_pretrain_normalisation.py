"""fairseq-exact normalisation: an update's gradient is that of its whole effective batch, whatever the
accumulation and the number of processes; CPU multi-process runs are one job (or are refused)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from loss_fixture import SMALL
from torch.optim.optimizer import register_optimizer_step_pre_hook

from pretrain.loop import LaunchError, LoopConfig, make_accelerator, run_training
from pretrain.masking import compute_mask
from pretrain.model import HubertPretrainModel, ModelConfig
from pretrain.task import PretrainTask
from pretrain_helpers import make_tone_corpus, write_tone_labels

ROOT = Path(__file__).resolve().parents[1]


class FixedBatchTask(PretrainTask):
    """The HuBERT task's step and loss over given batches (no corpus, no export)."""

    def __init__(self, model_cfg: ModelConfig, batches: list[dict], accelerator):
        from pretrain.loss import LOSSES

        self.model_cfg, self.acc, self.batches = model_cfg, accelerator, batches
        self.loss, self.skipped_in_batches, self.valid = LOSSES[model_cfg.loss], [], None

    def build_model(self):
        return HubertPretrainModel(self.model_cfg, [5])

    def train_batches(self, epoch, start):
        return self.batches[start:]

    def finish(self, model, out_dir, accelerator):
        return {}


def _rows(n: int, T: int = 24, seed: int = 0):
    """n utterances of one length: waveforms, targets, and masks with the same count per row."""
    g = torch.Generator().manual_seed(seed)
    S = (T - 1) * 320 + 400
    wav = torch.randn(n, S, generator=g)
    targets = torch.randint(0, 5, (n, T), generator=g)
    mask = torch.from_numpy(compute_mask([T] * n, T, 0.8, 5, 2, np.random.default_rng(seed)))
    return wav, targets, mask


def _batch(wav, targets, mask) -> dict:
    return {"wav": wav, "targets": [targets], "mask": mask, "frame_lengths": None, "padded": False,
            "skipped": [], "audio_seconds": wav.shape[1] / 16000 * len(wav)}


def _first_update_gradients(batches, accum, tmp_path, overrides=None):
    grads = []

    def capture(optimizer, args, kwargs):
        grads.append([p.grad.clone() for g in optimizer.param_groups for p in g["params"]])

    cfg = ModelConfig(**SMALL, **(overrides or {}))
    loop = LoopConfig(output_dir=str(tmp_path), max_steps=1, grad_accum=accum, clip_norm=0.0, trackers="",
                      eval_every=0, warmup_steps=0, resume="none")
    handle = register_optimizer_step_pre_hook(capture)
    try:
        run_training(FixedBatchTask(cfg, batches, make_accelerator(loop)), loop)
    finally:
        handle.remove()
    return grads[0]


@pytest.mark.parametrize("overrides", [{}, {"pred_nomask_weight": 0.5}])
def test_accumulated_micro_batches_give_the_gradient_of_the_whole_batch(tmp_path, overrides):
    torch.set_num_threads(1)
    wav, targets, mask = _rows(4)
    whole = _first_update_gradients([_batch(wav, targets, mask)], 1, tmp_path / "one", overrides)
    # The same frames as micro-batches of 1 and 3 utterances: their sample sizes differ 1:3, so a mean
    # of the two micro-batch losses would weight the first utterance three times too much.
    parts = [_batch(wav[:1], targets[:1], mask[:1]), _batch(wav[1:], targets[1:], mask[1:])]
    accumulated = _first_update_gradients(parts, 2, tmp_path / "two", overrides)
    assert len(whole) == len(accumulated)
    for a, b in zip(whole, accumulated):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-7)


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    corpus = make_tone_corpus(root / "corpus", {"train": (16, 1.5, 2.5)})
    write_tone_labels(corpus, root / "l100", rate=100, splits=("train",))
    return root


def _pretrain_args(tones, out, extra=()):
    return ["--config", str(ROOT / "conf/pretrain/tiny.yaml"), f"data.data_dir={tones / 'corpus'}",
            f"data.label_dirs=[{tones / 'l100'}]", "data.valid_split=", "data.batch_seconds=5",
            "data.num_workers=0", f"loop.output_dir={out}", "loop.max_steps=3", "loop.warmup_steps=1",
            "loop.trackers=", "loop.log_every=1", "model.hidden_size=32", "model.num_attention_heads=2",
            "model.intermediate_size=64", "model.conv_dim=[16,16,16,16,16,16,16]", "model.final_dim=8",
            "model.dropout=0", "model.attention_dropout=0", "model.dropout_input=0", "model.layerdrop=0", *extra]


def _run(cmd, env_extra=None, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", **(env_extra or {}))
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _weights(out: Path) -> dict:
    from pretrain.export import load_pretrain_model

    return load_pretrain_model(out).state_dict()


@pytest.fixture(scope="module")
def one_process_accumulating_two(tones, tmp_path_factory):
    out = tmp_path_factory.mktemp("one") / "run"
    r = _run([sys.executable, "-m", "pretrain", *_pretrain_args(tones, out, ["loop.grad_accum=2"])])
    assert r.returncode == 0, r.stderr[-2000:]
    return out


LAUNCHERS = {
    "torchrun": [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "pretrain"],
    # accelerate starts CPU processes through torchrun only with --multi_gpu (its --cpu runs one process)
    "accelerate": [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                   "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "pretrain"],
}


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_cpu_processes_train_like_one_process_accumulating_two(tones, one_process_accumulating_two, tmp_path,
                                                                   launcher):
    one, two = one_process_accumulating_two, tmp_path / "two"
    cmd = LAUNCHERS[launcher][:-2] + (["--main_process_port", str(_free_port())] if launcher == "accelerate" else [])
    r = _run([*cmd, "-m", "pretrain", *_pretrain_args(tones, two)])
    assert r.returncode == 0, r.stderr[-3000:]
    s1 = json.loads((one / "summary.json").read_text())
    s2 = json.loads((two / "summary.json").read_text())
    assert (s1["processes"], s1["accumulation"]) == (1, 2) and (s2["processes"], s2["accumulation"]) == (2, 1)
    assert s1["audio_hours"] == pytest.approx(s2["audio_hours"], rel=1e-9)  # the same utterances
    w1, w2 = _weights(one), _weights(two)
    assert w1.keys() == w2.keys()
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-4, atol=1e-6, msg=k)


def test_processes_that_do_not_join_one_job_are_refused(tones, tmp_path):
    # A launcher that says two processes were started, without the rendezvous that would join them.
    r = _run([sys.executable, "-m", "pretrain", *_pretrain_args(tones, tmp_path / "run")],
             {"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1"}, timeout=300)
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("launch error: 2 processes were launched (WORLD_SIZE=2)") and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


def test_a_single_process_job_under_a_multi_process_launcher_is_refused(monkeypatch, tmp_path):
    from accelerate import PartialState

    PartialState(cpu=True)  # this process already runs as a job of one (the singleton accelerate keeps)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(LaunchError, match=r"started 2 processes \(WORLD_SIZE=2\) but this one joined a job of 1"):
        make_accelerator(LoopConfig(output_dir=str(tmp_path), trackers=""))


class _Valid:
    def __init__(self, batches):
        self.batches = batches

    def loader(self, epoch, start, max_batches=0):
        return self.batches


def test_validation_weights_each_metric_by_its_own_frames(tmp_path):
    from pretrain.data import DataConfig

    torch.set_num_threads(1)
    wav, targets, mask = _rows(4)
    sparse = torch.from_numpy(compute_mask([24] * 2, 24, 0.2, 5, 1, np.random.default_rng(3)))
    batches = [_batch(wav[:2], targets[:2], mask[:2]), _batch(wav[2:], targets[2:], sparse)]
    task = FixedBatchTask(ModelConfig(**SMALL), [], make_accelerator(LoopConfig(output_dir=str(tmp_path), trackers="")))
    task.valid, task.data_cfg = _Valid(batches), DataConfig()
    torch.manual_seed(0)
    model = task.build_model().eval()
    with torch.no_grad():
        got = task.evaluate(model)
        ce = {"m": [0.0, 0], "u": [0.0, 0]}
        for b in batches:
            out = model(b["wav"], b["targets"], b["mask"], with_unmasked=True)
            for kind, lg, t in (("m", out.logit_m[0], out.target_m[0]), ("u", out.logit_u[0], out.target_u[0])):
                ce[kind][0] += float(torch.nn.functional.cross_entropy(lg, t, reduction="sum"))
                ce[kind][1] += len(t)
    assert ce["m"][1] != ce["u"][1]
    assert got["loss_m"] == pytest.approx(ce["m"][0] / ce["m"][1], rel=1e-6)
    assert got["loss_u"] == pytest.approx(ce["u"][0] / ce["u"][1], rel=1e-6)
