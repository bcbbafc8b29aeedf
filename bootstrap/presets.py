"""Config files the commands and the pipeline stages fall back on (shared, so stages never import commands)."""

from __future__ import annotations

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parents[1] / "conf" / "asr"
FINETUNE_EVAL_CONFIG = CONF_DIR / "finetune_tiny.yaml"  # `evaluate --finetune`: a few minutes of labels
PRETRAIN_CONFIG = "conf/pretrain/tiny.yaml"  # a pre-training stage without `config:`


def default_asr_config(init) -> Path:
    """From scratch: the small teacher; with a pre-trained encoder: fairseq-style fine-tuning."""
    return CONF_DIR / ("finetune_base.yaml" if init else "scratch_tiny.yaml")
