"""`seeds:` end to end on the small synthetic corpus: every stage once per seed under its own key, the
comparison's per-seed numbers and intervals, the scratch and input-feature baselines; and a corpus
without reference phones, where compare still reports CER over seeds and the phone scores say n/a."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from bootstrap.commands.compare import compare
from bootstrap.pipeline.experiment import ExperimentError, load_experiment
from bootstrap.pipeline.seeds import seeded_experiment, seeded_params

ROOT = Path(__file__).resolve().parents[1]
MICRO_PRETRAIN = {"model.hidden_size": 48, "model.num_hidden_layers": 2, "model.num_attention_heads": 4,
                  "model.intermediate_size": 96, "model.conv_dim": [32] * 7, "model.final_dim": 32,
                  "loop.max_steps": 8, "loop.eval_every": 4, "loop.save_every": 8, "loop.log_every": 4,
                  "loop.trackers": "", "data.num_workers": 0, "data.batch_seconds": 12}
KMEANS = {"n_clusters": 8, "percent": 1.0, "n_init": 1, "max_iter": 10}
FINETUNE = {"finetune": True, "finetune_overrides": {"loop.max_steps": 4, "loop.eval_every": 0}}


def write_experiment(path: Path, corpus: Path, workdir: Path, seeds: list[int], phones: bool = True) -> Path:
    pretrain = {"kind": "pretrain", "config": str(ROOT / "conf/pretrain/tiny.yaml"), "overrides": MICRO_PRETRAIN}
    stages = {
        "mfcc_km": {"kind": "labels", "source": "mfcc", **KMEANS},
        "it1_mfcc": {**pretrain, "labels": ["mfcc_km"]},
        "scratch": {"kind": "scratch", "like": "it1_mfcc"},
        "eval_scratch": {"kind": "evaluate", "model": "scratch", "k": 8, "probe_epochs": 2, **FINETUNE},
        "eval_it1": {"kind": "evaluate", "model": "it1_mfcc", "k": 8, "probe_epochs": 2, **FINETUNE},
    }
    if phones:
        stages["eval_input"] = {"kind": "evaluate", "features": "mfcc", "k": 8, "probe_epochs": 2}
    spec = {"name": "seeds", "workdir": str(workdir), "corpus": {"path": str(corpus)}, "seeds": seeds,
            "stages": stages, "compare": {"routes": {"asr": "eval_it1", "classic": "eval_scratch"}}}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_seeds_are_validated_and_injected_per_stage_kind(tmp_path):
    exp = load_experiment(write_experiment(tmp_path / "e.yaml", tmp_path, tmp_path / "w", [3, 5]))
    assert exp.seeds == [3, 5]
    assert exp.stage("scratch").params["config"] == exp.stage("it1_mfcc").params["config"]  # `like` copied
    s5 = seeded_experiment(exp, 5)
    assert s5.workdir == tmp_path / "w" / "seed5"
    assert s5.stage("mfcc_km").params["seed"] == 5
    assert s5.stage("it1_mfcc").params["overrides"]["loop.seed"] == 5
    assert s5.stage("it1_mfcc").params["overrides"]["loop.max_steps"] == 8  # the stage's own overrides kept
    assert s5.stage("scratch").params["seed"] == 5
    ev = s5.stage("eval_it1").params
    assert ev["seed"] == 5 and ev["finetune_overrides"]["loop.seed"] == 5
    assert "seed" not in exp.stage("mfcc_km").params  # the experiment itself is not changed
    asr_tokens = type(exp.stages[0])("asr", "labels", {"source": "asr", "model": "teacher"})
    assert "seed" not in seeded_params(asr_tokens, 5)  # no k-means: follows its teacher's seed
    for bad in ([1, 1], "two", []):
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump({"name": "x", "corpus": {"path": "d"}, "seeds": bad, "stages": {}}))
        with pytest.raises(ExperimentError, match="seeds"):
            load_experiment(path)


def test_two_seeds_end_to_end(synth_corpus, tmp_path, capsys):
    exp = load_experiment(write_experiment(tmp_path / "e.yaml", synth_corpus, tmp_path / "work", [1, 2]))
    report, c = compare(exp)
    printed = capsys.readouterr().out
    # every stage ran once per seed, in its own folder, under a key of its own
    for name in ("mfcc_km", "it1_mfcc", "scratch", "eval_scratch", "eval_it1", "eval_input"):
        folders = [next((tmp_path / "work" / f"seed{s}").glob(f"{name}-*")) for s in (1, 2)]
        keys = [json.loads((f / "stage.json").read_text())["key"] for f in folders]
        assert keys[0] != keys[1], name
    assert c["seeds"] == [1, 2]
    for name in ("scratch", "it1_mfcc", "input features"):
        m = c["models"][name]
        for metric in ("best_probe", "best_pnmi"):
            stat = m["metrics"][metric]
            assert len(stat["per_seed"]) == 2 and stat["n"] == 2
            assert stat["ci95"][0] <= stat["mean"] <= stat["ci95"][1] and stat["std"] >= 0
    it1 = c["models"]["it1_mfcc"]
    assert it1["metrics"]["cer"]["n"] == 2 and it1["best_layer"] in (0, 1, 2)
    assert it1["vs_scratch"]["cer"]["verdict"] in ("better", "worse", "no clear difference")
    assert set(c["verdict"]) == {"cer", "best_probe", "best_pnmi"}
    # the two seeds really differ (different initial weights and k-means): not one number counted twice
    assert len(set(c["models"]["scratch"]["metrics"]["best_pnmi"]["per_seed"])) == 2
    assert "±" in printed and "CER vs scratch" in printed and "seeds: 1, 2" in printed
    text = report.read_text()
    assert "## 5. Gains over the baselines" in text and "input features" in text
    for png in ("layers.png", "cer.png", "label_quality.png"):
        assert (report.parent / png).stat().st_size > 5000
    on_disk = json.loads((report.parent / "comparison.json").read_text())
    assert on_disk["models"]["it1_mfcc"]["metrics"]["cer"]["per_seed"] == it1["metrics"]["cer"]["per_seed"]


def test_corpus_without_reference_phones_reports_cer_over_seeds(synth_corpus, tmp_path, capsys):
    corpus = tmp_path / "no_phones"
    corpus.mkdir()
    for f in synth_corpus.iterdir():
        if f.suffix != ".phn":
            os.symlink(f, corpus / f.name)
    exp = load_experiment(write_experiment(tmp_path / "e.yaml", corpus, tmp_path / "work", [1, 2], phones=False))
    report, c = compare(exp)
    capsys.readouterr()
    it1 = c["models"]["it1_mfcc"]
    assert it1["metrics"]["cer"]["n"] == 2 and it1["metrics"]["cer"]["mean"] is not None
    assert it1["metrics"]["best_pnmi"]["mean"] is None and it1["best_layer"] is None and it1["layers"] == []
    assert c["labels"] == {}
    assert c["verdict"]["best_pnmi"] == "n/a" and c["verdict"]["cer"] in ("better", "worse", "no clear difference")
    text = report.read_text()
    assert "n/a" in text and "no reference phones" in text


def test_labels_refuse_a_failed_teacher(tmp_path):
    from bootstrap.pipeline.errors import StageError
    from bootstrap.pipeline.runner import StageContext
    from bootstrap.pipeline.stage_labels import check_teacher

    ctx = StageContext(data_dir=tmp_path, splits={}, records={
        "teacher": {"result": {"path": str(tmp_path), "valid": {"cer": 0.925}}}})
    params = {"source": "asr", "model": "teacher", "max_teacher_cer": 0.8}
    with pytest.raises(StageError, match=r"teacher 'teacher': valid CER 92.5% is above max_teacher_cer 80.0%"):
        check_teacher(params, ctx)
    ctx.records["teacher"]["result"]["valid"]["cer"] = 0.41
    check_teacher(params, ctx)  # a teacher that trained passes
    check_teacher({"source": "asr", "model": "teacher"}, ctx)  # no gate asked for
    with pytest.raises(StageError, match="not a train_asr stage"):
        check_teacher({"source": "asr", "model": "some/folder", "max_teacher_cer": 0.8}, ctx)
