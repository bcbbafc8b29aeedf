"""Run configuration: YAML + dotted overrides, typed values, clear errors, --help lists every key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pretrain.config import SECTIONS, ConfigError, help_text, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_yaml_and_overrides_are_typed():
    cfg = load_config(ROOT / "conf/pretrain/tiny.yaml",
                      ["loop.max_steps=7", "data.label_dirs=[a,b]", "loop.betas=[0.8,0.9]", "model.conv_dim=[8,8,8,8,8,8,8]",
                       "data.pad_audio=true", "loop.lr=1e-3"])
    assert cfg.loop.max_steps == 7 and cfg.data.label_dirs == ["a", "b"] and cfg.loop.betas == (0.8, 0.9)
    assert cfg.model.conv_dim == [8] * 7 and cfg.data.pad_audio is True and cfg.loop.lr == 1e-3
    assert cfg.model.size == "tiny" and cfg.data.batch_seconds == 24


def test_large_inherits_base_and_matches_the_recipe():
    base = load_config(ROOT / "conf/pretrain/base.yaml")
    large = load_config(ROOT / "conf/pretrain/large.yaml")
    assert base.model.arch()["final_dim"] == 256 and large.model.arch()["final_dim"] == 768
    assert base.loop.emulate_gpus * base.data.batch_seconds == 2800 and base.loop.lr == 5e-4
    assert large.data.normalize and large.loop.warmup_steps == base.loop.warmup_steps == 32000


@pytest.mark.parametrize("bad,match", [("loop.nope=1", "unknown key 'loop.nope'"), ("oops.x=1", "unknown section"),
                                       ("loop.max_steps=many", "bad value"), ("max_steps=3", "section.key=value")])
def test_bad_overrides_are_refused_clearly(bad, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, [bad])


def test_help_lists_every_key_with_default():
    text = help_text()
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f"{section}.{f.name} = " in text
            assert f.metadata.get("help"), f"{section}.{f.name} has no description"
