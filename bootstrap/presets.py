"""Config files the commands and the pipeline stages fall back on (shared, so stages never import commands).

They resolve through the `conf` package, so they are found in an installed wheel as in a checkout.
"""

from __future__ import annotations

from pathlib import Path

from conf import find_config

FINETUNE_EVAL_CONFIG = find_config("finetune_tiny", "asr")  # `evaluate --finetune`: a few minutes of labels
PRETRAIN_CONFIG = "tiny"  # a pre-training stage without `config:` (conf/pretrain/tiny.yaml)


def default_asr_config(init) -> Path:
    """From scratch: the small teacher; with a pre-trained encoder: fairseq-style fine-tuning."""
    return find_config("finetune_base" if init else "scratch_tiny", "asr")
