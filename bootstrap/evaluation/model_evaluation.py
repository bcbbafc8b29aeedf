"""`bootstrap evaluate` end to end: per-layer scores, optional CTC fine-tuning, JSON + PNG."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bootstrap.evaluation.layers import EvalSettings, evaluate_layers
from bootstrap.evaluation.layer_report import write_report


def finetune_cer(model_dir, data_dir, out_dir, split: str, eval_split: str, config, overrides: list[str],
                 values: dict | None = None) -> dict:
    """CTC fine-tuning of `model_dir` on `split` (a new character head), greedy CER/WER on `eval_split`."""
    from pretrain.ctc.asr_config import load_asr_config
    from pretrain.ctc.train import train_asr

    cfg = load_asr_config(config, overrides, values)
    summary = train_asr(data_dir, split, Path(out_dir) / "finetune", cfg, init=model_dir, valid_split=eval_split)
    v = summary["valid"]
    return {"split": split, "eval_split": eval_split, "cer": v["cer"], "wer": v["wer"], "updates": summary["updates"],
            "labeled_seconds": summary["train_seconds"], "folder": str(Path(out_dir) / "finetune")}


def has_reference_phones(data_dir, *splits: str) -> bool:
    from labelers.corpus.split import open_split

    return all(open_split(data_dir, split).has("phn") for split in splits)


def without_phones(model_dir, data_dir, settings: EvalSettings) -> dict:
    """The result of a corpus without reference phones: no layer scores (n/a), fine-tuning still runs."""
    return {"model": str(model_dir), "data_dir": str(data_dir), "settings": dict(vars(settings)), "layers": [],
            "best": None, "phones": None,
            "no_phones": f"no reference phones ({settings.train_split}.phn / {settings.eval_split}.phn): "
                         "probe and PNMI are n/a"}


def evaluate_model(model_dir: str | os.PathLike | None, data_dir: str | os.PathLike, out_dir: str | os.PathLike,
                   settings: EvalSettings, finetune_split: str | None = None, finetune_config=None,
                   finetune_overrides: list[str] | None = None, finetune_values: dict | None = None,
                   features: str | None = None):
    """Per-layer scores (of the model, or of the input `features` such as "mfcc"), then optional fine-tuning.
    `finetune_overrides`: `key=value` strings (command line); `finetune_values`: typed settings (code)."""
    t0 = time.time()
    if not has_reference_phones(data_dir, settings.train_split, settings.eval_split):
        result = without_phones(model_dir if features is None else f"input features ({features})", data_dir, settings)
    elif features is not None:
        from bootstrap.evaluation.input_features import InputFeatureLayers

        result = evaluate_layers(None, data_dir, settings, extractor=InputFeatureLayers(features))
    else:
        result = evaluate_layers(model_dir, data_dir, settings)
    if finetune_split:
        result["finetune"] = finetune_cer(model_dir, data_dir, out_dir, finetune_split, settings.eval_split,
                                          finetune_config, finetune_overrides or [], finetune_values)
    result["seconds"] = round(time.time() - t0, 2)
    json_path, png_path = write_report(result, out_dir)
    return result, json_path, png_path
