"""Scratch stage: the baseline of every comparison, the pre-training encoder with random weights.

Built from the same pre-training config (`config`, `overrides` as a pretrain stage takes them) and
exported like a trained run (`hf/`), so the evaluation stages fine-tune and probe it exactly as they do
the pre-trained models. Only the seed sets its weights.
"""

from __future__ import annotations

from pathlib import Path

from bootstrap.pipeline.cache import resolve_config
from bootstrap.presets import PRETRAIN_CONFIG


def build_scratch(config: str | Path, folder: Path, seed: int = 0, values: dict | None = None) -> Path:
    from accelerate.utils import set_seed

    from pretrain.config import load_config
    from pretrain.export import export_run
    from pretrain.model import HubertPretrainModel

    cfg = load_config(config, values=values or {})
    set_seed(seed)
    model = HubertPretrainModel(cfg.model, [1])  # the head is not used: one dummy label class
    return export_run(model, folder, [], cfg.data.normalize)


def run(params: dict, ctx, folder: Path) -> dict:
    config = resolve_config(params.get("config", PRETRAIN_CONFIG))
    seed = int(params.get("seed", 0))
    hf_dir = build_scratch(config, folder, seed, params.get("overrides"))
    return {"path": str(hf_dir), "run_dir": str(folder), "seed": seed, "labels": []}
