"""Pre-training stage: a PretrainConfig from the stage's config file and settings, then
`pretrain.pretraining.run_pretraining` (or `accelerate launch -m pretrain` on the resolved config)."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from bootstrap.pipeline.cache import resolve_config
from bootstrap.pipeline.errors import StageError
from bootstrap.presets import PRETRAIN_CONFIG
from pretrain.config import load_config, write_config
from pretrain.overrides import flatten
from pretrain.pretraining import run_pretraining


def build_config(params: dict, ctx, folder: Path):
    """The run's PretrainConfig: the YAML file, the corpus and labels of this experiment, then `overrides`."""
    labels = params["labels"] if isinstance(params["labels"], list) else [params["labels"]]
    values = {
        "data.data_dir": str(ctx.data_dir),
        "data.train_split": ctx.splits["unlabeled"],
        "data.valid_split": ctx.splits["valid"],
        "data.label_dirs": [ctx.output_of(ref) for ref in labels],
        "loop.output_dir": str(folder),
        **flatten(params.get("overrides")),
    }
    return load_config(resolve_config(params.get("config", PRETRAIN_CONFIG), "pretrain"), values=values)


def run(params: dict, ctx, folder: Path) -> dict:
    labels = params["labels"] if isinstance(params["labels"], list) else [params["labels"]]
    cfg = build_config(params, ctx, folder)
    launch = params.get("launch")  # e.g. "accelerate launch --config_file conf/accelerate/multi_gpu_8.yaml"
    if launch:
        config_file = write_config(cfg, folder / "pretrain_config.yaml")
        subprocess.run(shlex.split(launch) + ["-m", "pretrain", "--config", str(config_file)], check=True)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    else:
        summary = run_pretraining(cfg)
    hf_dir = Path(summary.get("hf_dir") or folder / "hf")
    if not hf_dir.is_dir():
        raise StageError(f"pre-training in {folder} finished without an hf/ export")
    return {"path": str(hf_dir), "run_dir": str(folder), "log": str(folder / "train_log.jsonl"),
            "labels": labels, "summary": summary}
