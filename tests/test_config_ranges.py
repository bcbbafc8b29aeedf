"""Issue 10, defect 6: every numeric config key is range-checked, with one line naming the key."""

from pathlib import Path

import pytest

from pretrain.config import ConfigError, load_config
from pretrain.ctc.asr_config import load_asr_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("override,key", [
    ("loop.max_steps=-5", "loop.max_steps"), ("loop.max_steps=0", "loop.max_steps"), ("loop.lr=0", "loop.lr"),
    ("loop.betas=[0.9,1.5]", "loop.betas"), ("loop.warmup_steps=-1", "loop.warmup_steps"),
    ("loop.save_every=-1", "loop.save_every"), ("loop.log_every=0", "loop.log_every"),
    ("loop.grad_accum=0", "loop.grad_accum"), ("model.mask_prob=1.5", "model.mask_prob"),
    ("model.layerdrop=1.0", "model.layerdrop"), ("model.dropout=-0.1", "model.dropout"),
    ("model.logit_temp=0", "model.logit_temp"), ("model.hidden_size=0", "model.hidden_size"),
    ("model.conv_dim=[64,0]", "model.conv_dim"), ("model.mask_length=0", "model.mask_length"),
    ("data.batch_seconds=0", "data.batch_seconds"), ("data.min_sample_size=-1", "data.min_sample_size"),
    ("data.max_sample_size=100", "data.max_sample_size"), ("data.num_workers=-2", "data.num_workers"),
    ("data.min_sample_size=300000", "data.max_sample_size"), ("loop.lr=.nan", "loop.lr"),
])
def test_out_of_range_keys_are_named(override, key):
    with pytest.raises(ConfigError, match=rf"^{key} = "):
        load_config(ROOT / "conf/pretrain/tiny.yaml", [override])


def test_shipped_configs_are_in_range():
    for path in sorted((ROOT / "conf/pretrain").glob("*.yaml")):
        load_config(path)
    for path in sorted((ROOT / "conf/asr").glob("*.yaml")):
        load_asr_config(path)
    load_config(ROOT / "conf/pretrain/tiny.yaml", ["loop.save_every=0", "loop.eval_every=0", "model.mask_prob=1"])


@pytest.mark.parametrize("override,key", [
    ("loop.max_steps=-5", "loop.max_steps"), ("batch_seconds=0", "batch_seconds"), ("max_seconds=-1", "max_seconds"),
    ("loop.lr=-1e-3", "loop.lr"), ("num_workers=-1", "num_workers"),
])
def test_asr_config_ranges(override, key):
    with pytest.raises(ValueError, match=rf"^{key} = "):
        load_asr_config(ROOT / "conf/asr/scratch_tiny.yaml", [override])


def test_yaml_syntax_error_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_seconds: [1\nbatch_seconds: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml: YAML syntax error at line 2") as e:
        load_asr_config(bad)
    assert "\n" not in str(e.value)
