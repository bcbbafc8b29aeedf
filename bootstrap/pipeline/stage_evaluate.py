"""Evaluation stage: per-layer PNMI / purity / phone probe of a model, and CER after fine-tuning."""

from __future__ import annotations

from pathlib import Path

from bootstrap.evaluation.layer_report import format_table
from bootstrap.evaluation.layers import EvalSettings
from bootstrap.evaluation.model_evaluation import evaluate_model
from bootstrap.pipeline.cache import resolve_config
from bootstrap.presets import FINETUNE_EVAL_CONFIG

FINETUNE_KEYS = ("finetune", "finetune_config", "finetune_overrides")


def run(params: dict, ctx, folder: Path) -> dict:
    settings = EvalSettings(train_split=ctx.splits["unlabeled"], eval_split=ctx.splits["valid"],
                            **{k: v for k, v in params.items() if k not in ("model", "features", *FINETUNE_KEYS)})
    features = params.get("features")  # `features: mfcc` scores the input frames instead of a model
    if features is None and not params.get("model"):
        raise ValueError("an evaluate stage needs 'model: STAGE' or 'features: mfcc'")
    finetune = params.get("finetune", False) and features is None
    result, json_path, png_path = evaluate_model(
        ctx.output_of(params["model"]) if features is None else None, ctx.data_dir, folder, settings,
        finetune_split=ctx.splits["labeled"] if finetune else None,
        finetune_config=resolve_config(params.get("finetune_config") or FINETUNE_EVAL_CONFIG, "asr"),
        finetune_values=params.get("finetune_overrides"),
        features=features,
    )
    print(format_table(result))
    return {"path": str(folder), "json": str(json_path), "png": str(png_path) if png_path else None,
            "evaluation": result}
