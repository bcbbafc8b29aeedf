"""The stage pipeline and the comparison report on a small corpus: caching, resuming, every report section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bootstrap.commands.compare import compare
from bootstrap.pipeline import runner
from bootstrap.pipeline.experiment import ExperimentError, load_experiment

ROOT = Path(__file__).resolve().parents[1]
MICRO_PRETRAIN = {"model.hidden_size": 48, "model.num_hidden_layers": 2, "model.num_attention_heads": 4,
                  "model.intermediate_size": 96, "model.conv_dim": [32] * 7, "model.final_dim": 32,
                  "loop.max_steps": 12, "loop.eval_every": 6, "loop.save_every": 6, "loop.log_every": 3,
                  "loop.trackers": "", "data.num_workers": 0, "data.batch_seconds": 12}
KMEANS = {"n_clusters": 8, "percent": 1.0, "n_init": 1, "max_iter": 10}
EVAL = {"k": 8, "probe_epochs": 2, "finetune": True, "finetune_overrides": {"loop.max_steps": 4, "loop.eval_every": 0}}


def write_experiment(path: Path, corpus: Path, teacher: Path, workdir: Path) -> Path:
    pretrain = {"kind": "pretrain", "config": str(ROOT / "conf/pretrain/tiny.yaml"), "overrides": MICRO_PRETRAIN}
    spec = {
        "name": "mini", "workdir": str(workdir), "corpus": {"path": str(corpus)},
        "stages": {
            "mfcc_km": {"kind": "labels", "source": "mfcc", **KMEANS},
            "asr_hold": {"kind": "labels", "source": "asr", "model": str(teacher), "blank": "hold"},
            "it1_mfcc": {**pretrain, "labels": ["mfcc_km"]},
            "it1_asr": {**pretrain, "labels": ["asr_hold"]},
            "scratch": {"kind": "scratch", "like": "it1_asr"},
            "eval_input": {"kind": "evaluate", "features": "mfcc", "k": 8, "probe_epochs": 2},
            "eval_scratch": {"kind": "evaluate", "model": "scratch", **EVAL},
            "eval_mfcc": {"kind": "evaluate", "model": "it1_mfcc", **EVAL},
            "eval_asr": {"kind": "evaluate", "model": "it1_asr", **EVAL},
        },
        "compare": {"routes": {"asr": "eval_asr", "classic": "eval_mfcc"}},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def finished(synth_corpus, trained_teacher, tmp_path_factory):
    """A finished comparison, then its rerun's log lines (the rerun must do no work)."""
    root = tmp_path_factory.mktemp("pipeline")
    exp_path = write_experiment(root / "mini.yaml", synth_corpus, trained_teacher, root / "work")
    exp = load_experiment(exp_path)
    report, comparison = compare(exp)
    stamps = {p: p.stat().st_mtime_ns for p in (root / "work").glob("*/stage.json")}
    lines: list[str] = []
    runner.run_experiment(load_experiment(exp_path), log=lines.append)
    return {"root": root, "exp_path": exp_path, "report": report, "comparison": comparison, "stamps": stamps,
            "rerun_log": lines}


def test_report_has_every_section_with_numbers(finished):
    text = finished["report"].read_text()
    for heading in ("## 1. Label quality", "## 3. Pre-training", "## 4. Per-layer probe accuracy and PNMI",
                    "## 5. Gains over the baselines", "## 6. The question", "## Summary table"):
        assert heading in text, heading
    c = finished["comparison"]
    assert c["seeds"] == [None]  # no `seeds:` in the experiment: one run
    assert set(c["labels"]) == {"mfcc_km", "asr_hold"}
    for name, r in c["labels"].items():
        pnmi = r["metrics"]["pnmi"]
        assert 0 < pnmi["mean"] <= 1 and pnmi["n"] == 1 and f"| {name} |" in text
    assert set(c["pretraining"]) == {"it1_mfcc", "it1_asr"}
    assert all(p["updates"] == 12 and p["curves"][0]["valid"] for p in c["pretraining"].values())
    assert set(c["models"]) == {"input features", "scratch", "it1_mfcc", "it1_asr"}
    for name, m in c["models"].items():
        if m["kind"] == "input":
            assert len(m["layers"]) == 1 and m["metrics"]["cer"]["mean"] is None
            continue
        assert len(m["layers"]) == 3  # hidden states 0..2 of the 2-layer model
        assert all(0 <= r["probe_accuracy"]["mean"] <= 1 and 0 <= r["pnmi"]["mean"] <= 1 for r in m["layers"])
        assert m["metrics"]["cer"]["mean"] >= 0 and m["best_layer"] in (0, 1, 2)
        if m["kind"] == "pretrained":
            assert m["vs_scratch"]["cer"]["verdict"] == "no clear difference"  # one seed decides nothing
    assert set(c["verdict"]) == {"cer", "best_probe", "best_pnmi"}
    assert all(v == "no clear difference" for v in c["verdict"].values())
    # the numbers in the report are the run's own: the label-quality PNMI printed matches the stage's quality.json
    stage_dir = next(finished["root"].glob("work/mfcc_km-*"))
    q = json.loads((stage_dir / "quality.json").read_text())
    assert f"{q['pnmi']:.3f}" in text
    for png in ("label_quality.png", "pretrain_curves.png", "layers.png", "cer.png"):
        assert (finished["report"].parent / png).stat().st_size > 5000
    assert json.loads((finished["report"].parent / "comparison.json").read_text())["models"].keys() == c["models"].keys()


def test_rerun_does_no_work(finished):
    assert len(finished["rerun_log"]) == 9 and all("done earlier" in line for line in finished["rerun_log"])
    for path, mtime in finished["stamps"].items():
        assert path.stat().st_mtime_ns == mtime


def test_changed_setting_reruns_that_stage_and_its_dependents_only(finished):
    lines: list[str] = []
    exp = load_experiment(finished["exp_path"], ["stages.asr_hold.blank=nearest"])
    runner.run_experiment(exp, only=["it1_asr"], log=lines.append)
    started = [line.split("]")[0][1:] for line in lines if "starting" in line]
    skipped = [line.split("]")[0][1:] for line in lines if "done earlier" in line]
    assert started == ["asr_hold", "it1_asr"] and skipped == []


def test_killed_run_continues_where_it_stopped(synth_corpus, trained_teacher, tmp_path, monkeypatch):
    exp_path = write_experiment(tmp_path / "mini.yaml", synth_corpus, trained_teacher, tmp_path / "work")
    real_run = runner.STAGES["pretrain"]

    class Killed(Exception):
        pass

    def killed(params, ctx, folder):
        raise Killed  # as if the job were stopped in the first pre-training stage

    monkeypatch.setitem(runner.STAGES, "pretrain", killed)
    with pytest.raises(Killed):
        runner.run_experiment(load_experiment(exp_path), only=["it1_mfcc"], log=lambda _: None)
    unfinished = next((tmp_path / "work").glob("it1_mfcc-*"))
    assert not (unfinished / "stage.json").exists()
    monkeypatch.setitem(runner.STAGES, "pretrain", real_run)
    lines: list[str] = []
    records = runner.run_experiment(load_experiment(exp_path), only=["it1_mfcc"], log=lines.append)
    assert any(line.startswith("[mfcc_km] done earlier") for line in lines)
    assert any(line.startswith("[it1_mfcc] resuming") for line in lines)
    assert Path(records["it1_mfcc"]["result"]["path"]).is_dir()


def test_experiment_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "corpus": {"path": "d"},
                                   "stages": {"it1": {"kind": "pretrain", "labels": ["missing"]}}}))
    with pytest.raises(ExperimentError, match="'it1' refers to 'missing'"):
        load_experiment(bad)
    bad.write_text(yaml.safe_dump({"name": "x", "corpus": {"path": "d"}, "stages": {"s": {"kind": "train"}}}))
    with pytest.raises(ExperimentError, match="stage 's' has kind 'train'"):
        load_experiment(bad)


def test_stage_key_follows_config_contents_splits_and_init(tmp_path):
    from bootstrap.pipeline.cache import stage_key

    conf = tmp_path / "asr.yaml"
    conf.write_text("loop: {max_steps: 10}\n")
    key = stage_key("train_asr", {"config": str(conf)}, {"splits": "a"})
    assert stage_key("train_asr", {"config": str(conf)}, {"splits": "a"}) == key
    assert stage_key("train_asr", {"config": str(conf)}, {"splits": "b"}) != key
    conf.write_text("loop: {max_steps: 20}\n")  # same path, edited file: the stage must run again
    assert stage_key("train_asr", {"config": str(conf)}, {"splits": "a"}) != key
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "corpus": {"path": "d"},
                                   "stages": {"t": {"kind": "train_asr", "init": "it0"}}}))
    with pytest.raises(ExperimentError, match="'t' refers to 'it0'"):
        load_experiment(bad)
