"""The generic training engine: schedule, accumulation, non-finite skipping, and exact kill-and-resume.

Run as a script, this file trains a toy task (dropout + DataLoader workers + random data) and can
SIGKILL itself right after a given update, mid-epoch, between checkpoints.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pretrain.loop import LoopConfig, accumulation_steps, list_checkpoints, make_scheduler, run_training  # noqa: E402


class _ToyData(torch.utils.data.Dataset):
    def __init__(self, epoch: int, seed: int):
        self.epoch, self.seed = epoch, seed

    def __len__(self):
        return 40

    def __getitem__(self, i):
        rng = np.random.default_rng((self.seed, self.epoch, i))
        x = rng.standard_normal(8).astype(np.float32)
        return torch.from_numpy(x), torch.tensor(x.sum() * 0.5, dtype=torch.float32)


class ToyTask:
    def __init__(self, kill_at: int = 0, nan_at: int = -1):
        self.kill_at, self.nan_at, self.calls = kill_at, nan_at, 0

    def build_model(self):
        return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Dropout(0.2), torch.nn.ReLU(), torch.nn.Linear(16, 1))

    def train_batches(self, epoch, start):
        order = np.random.default_rng((7, epoch)).permutation(40)
        batches = [order[i : i + 4].tolist() for i in range(0, 40, 4)][start:]
        return torch.utils.data.DataLoader(
            _ToyData(epoch, 7), batch_sampler=batches, num_workers=1, generator=torch.Generator()
        )

    def step(self, model, batch):
        x, y = batch
        self.calls += 1
        loss = torch.nn.functional.mse_loss(model(x).squeeze(-1), y)
        if self.calls == self.nan_at:
            loss = loss * float("nan")
        return loss, {"mse": loss.detach()}, float(len(x))

    def evaluate(self, model):
        return {"w_norm": float(sum(p.norm() for p in model.parameters()))}

    def finish(self, model, out_dir, accelerator):
        if accelerator.is_main_process:
            torch.save(model.state_dict(), Path(out_dir) / "final.pt")
        return {}


def _cfg(out, steps, **kw):
    base = dict(output_dir=str(out), max_steps=steps, lr=1e-2, warmup_steps=3, save_every=5, keep_last=2,
                log_every=2, eval_every=6, trackers="", seed=3)
    base.update(kw)
    return LoopConfig(**base)


def _run_script(out, steps, kill_at=0):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, __file__, str(out), str(steps), str(kill_at)], env=env,
                          capture_output=True, text=True, timeout=120)


def test_kill_and_resume_gives_identical_weights(tmp_path, capsys):
    run_training(ToyTask(), _cfg(tmp_path / "a", 17))  # never interrupted
    killed = _run_script(tmp_path / "b", 17, kill_at=13)  # 13: after checkpoint 10, mid-epoch (10 batches/epoch)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert [p.name for p in list_checkpoints(tmp_path / "b")] == ["step_00000005", "step_00000010"]
    assert not (tmp_path / "b" / "final.pt").exists()
    run_training(ToyTask(), _cfg(tmp_path / "b", 17))  # resume: auto
    assert "resumed from" in capsys.readouterr().out
    a = torch.load(tmp_path / "a" / "final.pt")
    b = torch.load(tmp_path / "b" / "final.pt")
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # The log has no duplicated updates after the resume, and keeps the last K checkpoints.
    steps = [json.loads(x)["step"] for x in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()
             if json.loads(x)["split"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 17
    assert [p.name for p in list_checkpoints(tmp_path / "b")] == ["step_00000015", "step_00000017"]
    assert (tmp_path / "b" / "curves.png").stat().st_size > 1000


def test_nonfinite_step_is_skipped_and_counted(tmp_path):
    task = ToyTask(nan_at=4)
    summary = run_training(task, _cfg(tmp_path, 6, save_every=100))
    assert summary["skipped_steps"] == 1
    assert all(torch.isfinite(p).all() for p in torch.load(tmp_path / "final.pt").values())


def test_accumulation_and_emulate_gpus():
    assert accumulation_steps(LoopConfig(grad_accum=2), 1) == 2
    assert accumulation_steps(LoopConfig(emulate_gpus=8), 2) == 4
    assert accumulation_steps(LoopConfig(grad_accum=2, emulate_gpus=32), 8) == 8
    with pytest.raises(ValueError, match="multiple"):
        accumulation_steps(LoopConfig(emulate_gpus=6), 4)


def test_accumulated_update_equals_big_batch_update(tmp_path):
    """Two micro-batches of 4 accumulated = one batch of 8 (no dropout, same data)."""

    class Lin(ToyTask):
        def build_model(self):
            return torch.nn.Linear(8, 1)

        def train_batches(self, epoch, start):
            x = torch.arange(64, dtype=torch.float32).reshape(8, 8) / 64
            y = x.sum(1)
            parts = [(x[i : i + self.bs], y[i : i + self.bs]) for i in range(0, 8, self.bs)]
            return parts[start:]

    outs = []
    for bs, accum in ((8, 1), (4, 2)):
        task = Lin()
        task.bs = bs
        run_training(task, _cfg(tmp_path / f"r{bs}", 3, grad_accum=accum, save_every=100, eval_every=0))
        outs.append(torch.load(tmp_path / f"r{bs}" / "final.pt"))
    for k in outs[0]:
        torch.testing.assert_close(outs[0][k], outs[1][k], rtol=1e-5, atol=1e-6)


def test_schedule_warmup_then_linear_decay():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make_scheduler(opt, LoopConfig(lr=1.0, warmup_steps=4, max_steps=14))
    lrs = []
    for _ in range(14):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert lrs[9] == pytest.approx(0.5) and lrs[13] == pytest.approx(0.1)


if __name__ == "__main__":
    out, steps, kill_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    class KillingTask(ToyTask):
        def step(self, model, batch):
            res = super().step(model, batch)
            if kill_at and self.calls == kill_at + 1:  # one micro-batch into update kill_at + 1
                os.kill(os.getpid(), signal.SIGKILL)
            return res

    run_training(KillingTask(), _cfg(out, steps))
