"""Teacher stage: a CTC ASR model trained on the labeled split (as `bootstrap train-asr` does)."""

from __future__ import annotations

from pathlib import Path

from bootstrap.pipeline.cache import resolve_config
from bootstrap.presets import default_asr_config
from pretrain.ctc.asr_config import load_asr_config
from pretrain.ctc.train import print_summary, train_asr


def run(params: dict, ctx, folder: Path) -> dict:
    model_dir = folder / "model"
    init = ctx.output_of(params["init"]) if params.get("init") else None
    config = resolve_config(params["config"], "asr") if params.get("config") else default_asr_config(init)
    cfg = load_asr_config(config, values=params.get("overrides"))
    summary = train_asr(ctx.data_dir, params.get("split", ctx.splits["labeled"]), model_dir, cfg, init=init,
                        valid_split=ctx.splits["valid"])
    print_summary(summary, model_dir)
    return {"path": str(model_dir), "valid": summary.get("valid"), "summary": summary}
