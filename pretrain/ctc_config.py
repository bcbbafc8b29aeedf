"""Settings of a CTC fine-tuning / teacher training run: YAML file + `key=value` overrides."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class ASRConfig:
    # data
    max_seconds: float = 30.0            # longer utterances are skipped (reported)
    min_seconds: float = 0.0
    batch_seconds: float = 16.0          # padded audio seconds per batch per device
    max_batch_size: int = 0              # 0: no cap on utterances per batch
    num_workers: int = 0
    # model: from scratch (ParakeetForCTC fields) or, with `init`, config fields to override
    arch: dict = field(default_factory=dict)
    init_overrides: dict = field(default_factory=dict)
    freeze_encoder_steps: int = 0        # with init: train only the output layer first (fairseq freeze_finetune_updates)
    # optimisation
    max_steps: int = 400
    max_train_seconds: float = 0.0       # wall-clock budget; 0 = none (tests and quick demos set it)
    lr: float = 2e-3
    betas: tuple = (0.9, 0.98)
    eps: float = 1e-8
    weight_decay: float = 0.01
    warmup_steps: int = 40
    schedule: str = "tri_stage"          # tri_stage (fairseq fine-tuning: warmup, hold, decay) | linear | constant
    hold_fraction: float = 0.4
    final_lr_scale: float = 0.05
    clip_norm: float = 5.0
    grad_accum: int = 1
    mixed_precision: str = "no"          # no | fp16 | bf16
    seed: int = 1
    # evaluation / checkpoints
    eval_every: int = 100
    max_eval_utterances: int = 0         # 0: whole valid split
    save_every: int = 0                  # 0: only at the end
    log_every: int = 10

    @classmethod
    def from_dict(cls, d: dict) -> "ASRConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ASR config keys {unknown}; known keys: {sorted(known)}")
        cfg = cls(**d)
        cfg.betas = tuple(cfg.betas)
        return cfg

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d


def apply_overrides(d: dict, overrides: list[str]) -> dict:
    """`key=value` (value parsed as YAML); `arch.hidden_size=96` sets a nested key."""
    d = dict(d)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override '{item}' is not key=value")
        key, raw = item.split("=", 1)
        value = yaml.safe_load(raw)
        parts = key.strip().split(".")
        node = d
        for p in parts[:-1]:
            node[p] = dict(node.get(p) or {})
            node = node[p]
        node[parts[-1]] = value
    return d


def load_asr_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> ASRConfig:
    d = {}
    if path:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: ASR config not found")
        d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(d, dict):
            raise ValueError(f"{path}: expected a mapping of settings")
    return ASRConfig.from_dict(apply_overrides(d, overrides or []))
