"""Checks that need a CUDA device (skipped elsewhere; run by scripts/gpu_checks.sh on a GPU machine)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

ROOT = Path(__file__).resolve().parents[1]


def test_kmeans_assignment_on_gpu_equals_cpu():
    from labelers.kmeans import assign

    g = torch.Generator().manual_seed(0)
    feats, centers = torch.randn(50_000, 39, generator=g), torch.randn(100, 39, generator=g)
    cpu_labels, cpu_d = assign(feats, centers)
    gpu_labels, gpu_d = assign(feats, centers.cuda())
    # float32 matmul reorderings can flip exact near-ties; anything beyond that is a bug
    assert (gpu_labels.cpu() == cpu_labels).float().mean() > 0.9999
    torch.testing.assert_close(gpu_d.cpu(), cpu_d, rtol=1e-4, atol=1e-3)


def test_pretraining_in_bf16_on_gpu_learns_and_exports(tmp_path):
    from transformers import HubertModel

    from pretrain.__main__ import main
    from pretrain_helpers import make_tone_corpus, write_tone_labels

    corpus = make_tone_corpus(tmp_path / "corpus", {"train": (24, 1.5, 2.5), "valid": (4, 2.0, 2.5)})
    write_tone_labels(corpus, tmp_path / "l100", rate=100)
    out = tmp_path / "run"
    summary = main(["--config", str(ROOT / "conf/pretrain/tiny.yaml"), f"data.data_dir={corpus}",
                    f"data.label_dirs=[{tmp_path / 'l100'}]", "data.batch_seconds=6", "data.num_workers=0",
                    f"loop.output_dir={out}", "loop.max_steps=60", "loop.lr=4e-3", "loop.warmup_steps=8",
                    "loop.eval_every=0", "loop.save_every=1000", "loop.trackers=", "loop.mixed_precision=bf16"])
    assert summary["skipped_steps"] == 0
    assert summary["validation"]["acc_m"] > 0.4, summary["validation"]
    log = [json.loads(x) for x in (out / "train_log.jsonl").read_text().splitlines()]
    train = [r for r in log if r["split"] == "train"]
    assert np.isfinite([r["loss"] for r in train]).all() and train[-1]["loss"] < train[0]["loss"]
    hf = HubertModel.from_pretrained(out / "hf").cuda().eval()
    with torch.no_grad():
        assert torch.isfinite(hf(torch.randn(1, 16000, device="cuda")).last_hidden_state).all()


def test_asr_labels_on_gpu_in_bf16_agree_with_cpu(synth_corpus, trained_teacher):
    from labelers.asr_labeler import AsrLabeler
    from labelers.corpus.audio import load_audio
    from labelers.corpus.split import open_split
    from labelers.ctc_posteriors import CTCModel

    sp = open_split(synth_corpus, "valid")
    manifest, words = sp.manifest(), sp.words()
    wavs = [load_audio(manifest.path(i)) for i in range(len(manifest))]
    cpu = AsrLabeler(CTCModel.load(trained_teacher, device="cpu", dtype="fp32"), blank="hold")
    gpu = AsrLabeler(CTCModel.load(trained_teacher, device="cuda", dtype="bf16"), blank="hold")
    a, b = cpu.label_batch(wavs, words), gpu.label_batch(wavs, words)
    agree = np.mean(np.concatenate([x == y for x, y in zip(a, b)]))
    assert all(len(x) == len(y) for x, y in zip(a, b))
    assert agree > 0.9, agree  # bf16 posteriors may move a few boundaries by a frame
