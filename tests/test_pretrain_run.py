"""End-to-end pre-training runs: a tiny model learns, exports hf/, and resumes exactly after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import HubertModel

from pretrain.__main__ import main
from pretrain.model import HubertPretrainModel
from pretrain.export import load_pretrain_model
from pretrain_helpers import K, make_tone_corpus, write_tone_labels

ROOT = Path(__file__).resolve().parents[1]
MICRO = ["model.hidden_size=48", "model.num_hidden_layers=2", "model.num_attention_heads=4",
         "model.intermediate_size=96", "model.conv_dim=[32,32,32,32,32,32,32]", "model.final_dim=32"]


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    root = tmp_path_factory.mktemp("tones")
    corpus = make_tone_corpus(root / "corpus", {"train": (24, 1.5, 2.5), "valid": (4, 2.0, 2.5)})
    write_tone_labels(corpus, root / "l100", rate=100)
    write_tone_labels(corpus, root / "l50", rate=50, shift=2)
    return root


def _args(tones, out, steps, labels=("l100",), extra=()):
    return ["--config", str(ROOT / "conf/pretrain/tiny.yaml"), f"data.data_dir={tones / 'corpus'}",
            "data.label_dirs=[" + ",".join(str(tones / x) for x in labels) + "]", "data.batch_seconds=8",
            "data.num_workers=0", "data.valid_max_batches=2", f"loop.output_dir={out}", f"loop.max_steps={steps}",
            "loop.trackers=", "loop.log_every=5", *MICRO, *extra]


def test_tiny_model_learns_two_label_sets_and_exports(tones, tmp_path):
    out = tmp_path / "run"
    summary = main(_args(tones, out, 60, labels=("l100", "l50"),
                         extra=["loop.lr=3e-3", "loop.warmup_steps=10", "loop.eval_every=0", "loop.save_every=1000"]))
    val = summary["validation"]
    # chance is 1/K (~0.17) for each label set; context makes masked frames predictable
    assert val["acc_m_0"] > 0.45 and val["acc_m_1"] > 0.45, val
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    train = [r for r in log if r["split"] == "train"]
    assert train[-1]["loss"] < train[0]["loss"] - 0.5
    assert (out / "curves.png").stat().st_size > 1000 and (out / "summary.json").is_file()
    # hf/ loads with from_pretrained and matches the trained weights stored in the final checkpoint
    hf = HubertModel.from_pretrained(out / "hf").eval()
    ckpt = load_file(out / "checkpoints" / "step_00000060" / "model.safetensors")
    trained = load_pretrain_model(out)
    trained.load_state_dict(ckpt)
    trained.eval()
    wav = torch.randn(1, 16000)
    with torch.no_grad():
        torch.testing.assert_close(hf(wav).last_hidden_state, trained.hubert(wav).last_hidden_state)
    assert json.loads((out / "head.json").read_text())["num_classes"] == [K, K]


def _launch(tones, out, steps):
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}")
    args = _args(tones, out, steps, extra=["loop.save_every=4", "loop.eval_every=6", "loop.keep_last=5",
                                           "data.num_workers=1", "loop.log_every=2"])
    return subprocess.Popen([sys.executable, "-m", "pretrain", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def test_sigkill_and_resume_ends_with_identical_weights(tones, tmp_path):
    steps = 14
    straight = _launch(tones, tmp_path / "a", steps)
    killed = _launch(tones, tmp_path / "b", steps)
    ckpt = tmp_path / "b" / "checkpoints" / "step_00000008"
    deadline = time.time() + 120
    while not ckpt.exists() and killed.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL and ckpt.exists()
    assert not (tmp_path / "b" / "hf").exists()
    resumed = _launch(tones, tmp_path / "b", steps)
    out_b, err_b = resumed.communicate(timeout=180)
    _, err_a = straight.communicate(timeout=180)
    assert straight.returncode == 0, err_a[-3000:]
    assert resumed.returncode == 0, err_b[-3000:]
    assert "resumed from" in out_b and "at update 8" in out_b
    a = load_file(tmp_path / "a" / "checkpoints" / f"step_{steps:08d}" / "model.safetensors")
    b = load_file(tmp_path / "b" / "checkpoints" / f"step_{steps:08d}" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert isinstance(load_pretrain_model(tmp_path / "b"), HubertPretrainModel)
