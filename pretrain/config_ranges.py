"""Range checks for every numeric config key, and YAML parsing whose errors are one line.

A value outside its range is refused by name before anything runs: `loop.max_steps = -5: must be
>= 1`. The rules cover the pre-training sections (data, model, loop) and the CTC run's top-level
keys; keys without a rule (strings, new keys) are left to their owners.
"""

from __future__ import annotations

import dataclasses
import math

import yaml


class Rule:
    """lo <= x (or lo < x when lo_open) and x <= hi (x < hi when hi_open); None = unbounded."""

    def __init__(self, lo=None, hi=None, lo_open=False, hi_open=False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open

    def ok(self, x) -> bool:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(x):
            return False
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        if self.hi is not None and (x >= self.hi if self.hi_open else x > self.hi):
            return False
        return True

    def describe(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {self.hi}")
        return " and ".join(parts) or "a number"


AT_LEAST_1, NON_NEG, POSITIVE = Rule(1), Rule(0), Rule(0, lo_open=True)
PROBABILITY, DROPOUT = Rule(0, 1), Rule(0, 1, hi_open=True)

LOOP_RULES = {
    "max_steps": AT_LEAST_1, "lr": POSITIVE, "betas": Rule(0, 1, hi_open=True), "eps": POSITIVE,
    "weight_decay": NON_NEG, "warmup_steps": NON_NEG, "decay_power": POSITIVE, "end_lr": NON_NEG,
    "clip_norm": NON_NEG, "grad_accum": AT_LEAST_1, "emulate_gpus": NON_NEG, "seed": NON_NEG,
    "log_every": AT_LEAST_1, "eval_every": NON_NEG, "save_every": NON_NEG, "keep_last": NON_NEG,
}
DATA_RULES = {
    "batch_seconds": POSITIVE, "min_sample_size": NON_NEG, "max_sample_size": Rule(400), "num_workers": NON_NEG,
    "valid_max_batches": NON_NEG,
}
MODEL_RULES = {
    "hidden_size": AT_LEAST_1, "num_hidden_layers": AT_LEAST_1, "num_attention_heads": AT_LEAST_1,
    "intermediate_size": AT_LEAST_1, "conv_dim": AT_LEAST_1, "final_dim": AT_LEAST_1,
    "dropout": DROPOUT, "attention_dropout": DROPOUT, "activation_dropout": DROPOUT, "dropout_input": DROPOUT,
    "layerdrop": DROPOUT, "feature_grad_mult": NON_NEG, "feature_pen_weight": NON_NEG, "mask_prob": PROBABILITY,
    "mask_length": AT_LEAST_1, "min_masks": NON_NEG, "logit_temp": POSITIVE, "pred_masked_weight": NON_NEG,
    "pred_nomask_weight": NON_NEG,
}
ASR_RULES = {
    "max_seconds": POSITIVE, "min_seconds": NON_NEG, "batch_seconds": POSITIVE, "max_batch_size": NON_NEG,
    "num_workers": NON_NEG, "max_eval_utterances": NON_NEG, "freeze_encoder_steps": NON_NEG,
}


def check_values(prefix: str, values: dict, rules: dict[str, Rule]) -> None:
    """Raise ValueError naming the first `prefix.key` whose value (or list item) breaks its rule."""
    for key, rule in rules.items():
        value = values.get(key)
        if value is None:  # unset: the default or the size preset applies
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if not rule.ok(v):
                raise ValueError(f"{prefix}{key} = {value!r}: must be {rule.describe()}")


def check_config_ranges(cfg) -> None:
    """Every numeric key of a PretrainConfig (sections data, model, loop), plus cross-key rules."""
    for section, rules in (("data", DATA_RULES), ("model", MODEL_RULES), ("loop", LOOP_RULES)):
        check_values(f"{section}.", dataclasses.asdict(getattr(cfg, section)), rules)
    if cfg.data.max_sample_size < cfg.data.min_sample_size:
        raise ValueError(f"data.max_sample_size = {cfg.data.max_sample_size}: must be >= data.min_sample_size "
                         f"({cfg.data.min_sample_size})")


def check_asr_ranges(values: dict) -> None:
    """The CTC run's top-level keys and its `loop:` keys."""
    check_values("", values, ASR_RULES)
    check_values("loop.", values.get("loop") or {}, LOOP_RULES)
    if values.get("min_seconds", 0) > values.get("max_seconds", math.inf):
        raise ValueError(f"min_seconds = {values['min_seconds']}: must be <= max_seconds ({values['max_seconds']})")


def safe_yaml(text: str, origin: str):
    """yaml.safe_load, with a syntax error as one ValueError line: `origin: YAML syntax error at line N: ...`."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"{origin}: YAML syntax error{where}: {problem}") from None
