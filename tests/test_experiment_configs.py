"""The shipped comparison experiments, checked on a CPU without training: every stage's settings load
through the code that will read them, the baselines and seeds are there, and the GPU experiment is at
least 20x the demo's scale (model parameters x updates), as scripts/gpu_experiment.sh promises."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from bootstrap.evaluation.layers import EvalSettings
from bootstrap.pipeline.cache import resolve_config
from bootstrap.pipeline.experiment import load_experiment
from pretrain.config import load_config
from pretrain.ctc.asr_config import load_asr_config

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ["compare_sources", "compare_sources_cpu", "compare_sources_gpu", "compare_sources_librispeech"]
EVAL_FIELDS = {f.name for f in dataclasses.fields(EvalSettings)}


def _pretrain_cfg(params: dict):
    return load_config(resolve_config(params.get("config", "conf/pretrain/tiny.yaml")), values=params.get("overrides"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_settings_load_and_have_baselines(name):
    exp = load_experiment(ROOT / "conf" / "experiments" / f"{name}.yaml")
    kinds = {s.name: s.kind for s in exp.stages}
    assert "scratch" in kinds and kinds["scratch"] == "scratch"
    evals = [s for s in exp.stages if s.kind == "evaluate"]
    assert any(s.params.get("model") == "scratch" for s in evals)
    assert any(s.params.get("features") == "mfcc" for s in evals)
    finetunes = {str(s.params.get("finetune_overrides")) for s in evals if s.params.get("finetune")}
    assert len(finetunes) == 1, "every model gets the same fine-tuning settings"
    for s in exp.stages:
        if s.kind in ("pretrain", "scratch"):
            _pretrain_cfg(s.params)
        elif s.kind == "train_asr":
            load_asr_config(resolve_config(s.params["config"]), values=s.params.get("overrides"))
        elif s.kind == "evaluate":
            assert set(s.params) - {"model", "features", "finetune", "finetune_config", "finetune_overrides"} <= EVAL_FIELDS
            if s.params.get("finetune"):
                load_asr_config(resolve_config(s.params.get("finetune_config") or "conf/asr/finetune_tiny.yaml"),
                                values=s.params.get("finetune_overrides"))
    # the scratch baseline has the encoder of the models it is compared with
    scratch = _pretrain_cfg(exp.stage("scratch").params).model
    for s in exp.stages:
        if s.kind == "pretrain":
            assert _pretrain_cfg(s.params).model.arch() == scratch.arch(), s.name
    assert set(exp.compare["routes"]) == {"asr", "classic"}


def _scale(name: str) -> tuple[float, int]:
    """(encoder parameters, updates of the longest pre-training stage) of an experiment."""
    from pretrain.model import HubertPretrainModel

    exp = load_experiment(ROOT / "conf" / "experiments" / f"{name}.yaml")
    cfgs = [_pretrain_cfg(s.params) for s in exp.stages if s.kind == "pretrain"]
    params = sum(p.numel() for p in HubertPretrainModel(cfgs[0].model, [100]).hubert.parameters())
    return params, max(c.loop.max_steps for c in cfgs)


def test_seeds_of_the_demo_and_the_hour_scale_experiment():
    assert len(load_experiment(ROOT / "conf/experiments/compare_sources.yaml").seeds) >= 2
    assert len(load_experiment(ROOT / "conf/experiments/compare_sources_cpu.yaml").seeds) >= 3


def test_gpu_experiment_is_at_least_20x_the_demo():
    demo_params, demo_steps = _scale("compare_sources")
    gpu_params, gpu_steps = _scale("compare_sources_gpu")
    assert (gpu_params * gpu_steps) / (demo_params * demo_steps) >= 20
    exp = load_experiment(ROOT / "conf/experiments/compare_sources_gpu.yaml")
    assert exp.corpus["synth"]["minutes"] >= 120  # several hours


def test_gpu_script_dry_run_prints_the_plan():
    out = subprocess.run(["bash", "scripts/gpu_experiment.sh"], cwd=ROOT, capture_output=True, text=True,
                         env={"DRY_RUN": "1", "PY": sys.executable, "PATH": "/usr/bin:/bin",
                              "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "compare_sources_gpu" in out.stdout and "it1_asr" in out.stdout and "seeds [1, 2]" in out.stdout
