"""Stages call the library with typed settings: no argv round trip, no command-line parser, no sys.exit."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from bootstrap.pipeline import runner, stage_labels, stage_pretrain
from bootstrap.pipeline.runner import StageContext
from labelers.corpus.label_store import LabelSet
from labelers.labeler import LabelSourceError
from pretrain.config import load_config

from phone_corpus import make_phone_corpus

ROOT = Path(__file__).resolve().parents[1]
MICRO = {"model.hidden_size": 48, "model.num_hidden_layers": 2, "model.num_attention_heads": 4,
         "model.intermediate_size": 96, "model.conv_dim": [32] * 7, "model.final_dim": 32,
         "loop": {"max_steps": 2, "eval_every": 2, "save_every": 2, "log_every": 1, "trackers": ""},
         "data.num_workers": 0, "data.batch_seconds": 12}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_phone_corpus(tmp_path_factory.mktemp("phones") / "data")


@pytest.fixture
def no_command_line(monkeypatch):
    """Any command-line parsing or exit inside a stage fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a stage went through a command line")

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", refuse)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", refuse)
    monkeypatch.setattr(sys, "exit", refuse)
    import bootstrap.labels_cli
    import pretrain.__main__

    monkeypatch.setattr(bootstrap.labels_cli, "main", refuse)
    monkeypatch.setattr(pretrain.__main__, "main", refuse)


def test_argv_module_is_gone_and_stages_are_registered_functions():
    assert importlib.util.find_spec("bootstrap.pipeline.argv") is None
    assert runner.STAGES["labels"] is stage_labels.run and runner.STAGES["pretrain"] is stage_pretrain.run
    assert all(callable(f) for f in runner.STAGES.values())


def test_labels_then_pretrain_stage_without_a_command_line(corpus, tmp_path, no_command_line):
    ctx = StageContext(data_dir=corpus, splits={"unlabeled": "train", "valid": "valid", "labeled": "train"})
    labels = stage_labels.run({"source": "mfcc", "n_clusters": 6, "percent": 1, "n_init": 1, "max_iter": 5},
                              ctx, tmp_path / "labels")
    ls = LabelSet.open(labels["path"])
    assert ls.num_classes == 6 and ls.source == "mfcc" and set(ls.splits) == {"train", "valid"}
    assert 0 < labels["quality"]["pnmi"] <= 1 and labels["summary"]["utterances"] == 32
    km = json.loads((Path(labels["path"]) / "kmeans" / "kmeans.json").read_text())
    assert km["split"] == "train" and json.dumps(km["percent"]) == "1.0"  # the fit split; typed as from argv

    ctx.records["l"] = {"result": labels}
    params = {"config": "conf/pretrain/tiny.yaml", "labels": ["l"], "overrides": MICRO}
    result = stage_pretrain.run(params, ctx, tmp_path / "it1")
    assert Path(result["path"], "config.json").is_file() and result["summary"]["updates"] == 2


def test_pretrain_config_equals_the_old_command_line(corpus, tmp_path):
    ctx = StageContext(data_dir=corpus, splits={"unlabeled": "train", "valid": "valid"},
                       records={"l": {"result": {"path": str(tmp_path / "labels")}}})
    cfg = stage_pretrain.build_config({"labels": "l", "overrides": MICRO}, ctx, tmp_path / "run")
    argv = [f"data.data_dir={corpus}", "data.train_split=train", "data.valid_split=valid",
            f"data.label_dirs=[{tmp_path / 'labels'}]", f"loop.output_dir={tmp_path / 'run'}",
            "model.hidden_size=48", "model.num_hidden_layers=2", "model.num_attention_heads=4",
            "model.intermediate_size=96", "model.conv_dim=[32, 32, 32, 32, 32, 32, 32]", "model.final_dim=32",
            "loop.max_steps=2", "loop.eval_every=2", "loop.save_every=2", "loop.log_every=1", "loop.trackers=",
            "data.num_workers=0", "data.batch_seconds=12"]
    assert cfg == load_config(ROOT / "conf/pretrain/tiny.yaml", argv)


def test_a_bad_labels_stage_raises_a_typed_error(corpus, tmp_path, no_command_line):
    ctx = StageContext(data_dir=corpus, splits={"unlabeled": "train", "valid": "valid"})
    with pytest.raises(LabelSourceError, match="--blank is an option of asr, not of --source mfcc"):
        stage_labels.run({"source": "mfcc", "n_clusters": 4, "blank": "keep"}, ctx, tmp_path / "x")
    with pytest.raises(LabelSourceError, match="unknown label source 'mfc'"):
        stage_labels.run({"source": "mfc"}, ctx, tmp_path / "y")


def test_launch_mode_config_file_reads_back_to_the_same_config(corpus, tmp_path):
    """With `launch:`, the stage hands `accelerate launch -m pretrain` the resolved config as a file."""
    from pretrain.config import write_config

    ctx = StageContext(data_dir=corpus, splits={"unlabeled": "train", "valid": "valid"},
                       records={"l": {"result": {"path": str(tmp_path / "labels")}}})
    for conf in ("tiny", "base"):
        cfg = stage_pretrain.build_config({"labels": "l", "config": f"conf/pretrain/{conf}.yaml", "overrides": MICRO},
                                          ctx, tmp_path / "run")
        assert load_config(write_config(cfg, tmp_path / f"{conf}.yaml")) == cfg
