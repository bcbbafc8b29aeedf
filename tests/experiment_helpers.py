"""Stage settings for the experiment tests (test_pipeline, test_compare_seeds): a micro HuBERT that
pre-trains in seconds and a quick k-means, so whole experiments run on a shared 2-core CPU."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KMEANS = {"n_clusters": 8, "percent": 1.0, "n_init": 1, "max_iter": 10}


def micro_pretrain_stage(*, max_steps: int, eval_every: int, save_every: int, log_every: int) -> dict:
    """A `kind: pretrain` stage on conf/pretrain/tiny.yaml shrunk to 2 layers of width 48, no trackers,
    no loader workers; the labels are for the caller to add."""
    overrides = {"model.hidden_size": 48, "model.num_hidden_layers": 2, "model.num_attention_heads": 4,
                 "model.intermediate_size": 96, "model.conv_dim": [32] * 7, "model.final_dim": 32,
                 "loop.max_steps": max_steps, "loop.eval_every": eval_every, "loop.save_every": save_every,
                 "loop.log_every": log_every, "loop.trackers": "", "data.num_workers": 0, "data.batch_seconds": 12}
    return {"kind": "pretrain", "config": str(ROOT / "conf/pretrain/tiny.yaml"), "overrides": overrides}
