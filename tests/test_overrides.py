"""The one key=value override parser and the three config kinds that use it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.pipeline.experiment import ExperimentError, apply_overrides as experiment_overrides
from pretrain.config import ConfigError, load_config
from pretrain.ctc.asr_config import load_asr_config
from pretrain.overrides import OverrideError, apply_overrides, flatten, parse_override, parse_value

ROOT = Path(__file__).resolve().parents[1]


def test_values_are_yaml_with_two_declared_choices():
    assert parse_override("loop.max_steps=200") == (["loop", "max_steps"], 200)
    assert parse_override("data.label_dirs=[a,b]") == (["data", "label_dirs"], ["a", "b"])
    assert parse_value("true") is True and parse_value("x: 1") == {"x": 1}
    assert parse_value("3e-3") == "3e-3" and parse_value("3e-3", exponent_floats=True) == 0.003
    assert parse_value("") is None and parse_value("", empty="") == ""
    assert parse_value("abc", exponent_floats=True) == "abc"


def test_nested_keys_are_set_on_a_copy():
    tree = {"loop": {"lr": 1.0}, "arch": None}
    out = apply_overrides(tree, ["loop.max_steps=5", "arch.hidden_size=96", "new.deep.key=x", "loop.lr=2"])
    assert out == {"loop": {"lr": 2, "max_steps": 5}, "arch": {"hidden_size": 96}, "new": {"deep": {"key": "x"}}}
    assert tree == {"loop": {"lr": 1.0}, "arch": None}  # the caller's dict is untouched
    with pytest.raises(OverrideError, match=r"'loop.lr.x=1': 'lr' is not a mapping"):
        apply_overrides(tree, ["loop.lr.x=1"])
    with pytest.raises(OverrideError, match="is not key=value"):
        apply_overrides(tree, ["loop.lr"])
    with pytest.raises(OverrideError, match="empty part"):
        apply_overrides(tree, ["loop..lr=1"])
    assert issubclass(OverrideError, ValueError)


def test_flatten_turns_typed_mappings_into_dotted_keys():
    assert flatten({"loop": {"max_steps": 2, "betas": [0.9, 0.98]}, "model.x": 1, "empty": {}}) == {
        "loop.max_steps": 2, "loop.betas": [0.9, 0.98], "model.x": 1}
    assert flatten(None) == {}


def test_pretrain_config_from_strings_equals_config_from_values():
    conf = ROOT / "conf/pretrain/tiny.yaml"
    strings = load_config(conf, ["loop.max_steps=7", "loop.lr=3e-3", "data.label_dirs=[a,b]", "loop.trackers=",
                                 "model.conv_dim=[32,32,32,32,32,32,32]"])
    values = load_config(conf, values={"loop": {"max_steps": 7, "lr": "3e-3", "trackers": ""},
                                       "data.label_dirs": ["a", "b"], "model.conv_dim": [32] * 7})
    assert strings == values and values.loop.lr == 0.003 and values.loop.trackers == ""
    with pytest.raises(ConfigError, match="unknown key 'loop.nope'"):
        load_config(conf, values={"loop.nope": 1})
    with pytest.raises(ConfigError, match="expected section.key"):
        load_config(conf, values={"max_steps": 1})


def test_asr_config_from_strings_equals_config_from_values():
    conf = ROOT / "conf/asr/scratch_tiny.yaml"
    strings = load_asr_config(conf, ["loop.max_steps=20", "loop.lr=3e-3", "arch.hidden_size=96"])
    values = load_asr_config(conf, values={"loop": {"max_steps": 20, "lr": "3e-3"}, "arch.hidden_size": 96})
    assert strings == values and values.loop["lr"] == 0.003 and values.arch["num_hidden_layers"] == 1


def test_experiment_overrides_raise_experiment_errors():
    raw = {"stages": {"a": {"kind": "labels"}}}
    out = experiment_overrides(raw, ["stages.a.n_clusters=8", "stages.b.overrides.loop.max_steps=3"])
    assert out["stages"]["a"] == {"kind": "labels", "n_clusters": 8}
    assert out["stages"]["b"] == {"overrides": {"loop": {"max_steps": 3}}}
    with pytest.raises(ExperimentError, match="'kind' is not a mapping"):
        experiment_overrides(raw, ["stages.a.kind.x=1"])
    with pytest.raises(ExperimentError, match="not key=value"):
        experiment_overrides(raw, ["stages"])
