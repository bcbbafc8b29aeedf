"""Comparisons of several encoders: each model meets the scratch baseline of its own encoder, and
`compare.pairs` gives paired verdicts and FLOPs ratios (records built by hand: no training)."""

from __future__ import annotations

import pytest
import yaml

from bootstrap.pipeline.experiment import ExperimentError, load_experiment
from bootstrap.report.aggregate import aggregate
from bootstrap.report.compute import compute_rows, pair_flops

CONFIGS = {"hub": "conf/pretrain/demo.yaml", "fc": "conf/pretrain/demo_fastconformer.yaml"}


def _evaluate(model: str, pnmi: float, probe: float, cer: float | None) -> dict:
    layers = [{"layer": 0, "pnmi": pnmi - 0.05, "probe_accuracy": probe - 0.05, "phone_purity": 0.3,
               "cluster_purity": 0.2},
              {"layer": 1, "pnmi": pnmi, "probe_accuracy": probe, "phone_purity": 0.3, "cluster_purity": 0.2}]
    return {"kind": "evaluate", "params": {"model": model},
            "result": {"png": None, "evaluation": {
                "layers": layers, "best": {"pnmi": pnmi, "pnmi_layer": 1, "probe_accuracy": probe, "probe_layer": 1},
                "phones": {"chance_accuracy": 0.1}, "finetune": None if cer is None else {"cer": cer, "wer": 2 * cer}}}}


def _records(seed: int, tmp_path) -> dict:
    jitter = 0.01 * seed
    # as `seeds:` runs them: the pretrain stage's overrides gain loop.seed, the scratch stage a `seed`
    pre = lambda cfg, flops: {"kind": "pretrain",  # noqa: E731
                              "params": {"config": cfg, "labels": ["km"],
                                         "overrides": {"loop.max_steps": 9, "loop.seed": seed}},
                              "result": {"log": str(tmp_path / "none.jsonl"), "labels": ["km"],
                                         "summary": {"total_flops": flops, "flops_per_audio_s": flops / 1e3}}}
    scratch = lambda cfg: {"kind": "scratch", "params": {"config": cfg, "overrides": {"loop.max_steps": 9},  # noqa: E731
                                                         "seed": seed}, "result": {}}
    return {
        "it1_hub": pre(CONFIGS["hub"], 3e12), "it1_fc": pre(CONFIGS["fc"], 1e12),
        # the fastconformer's scratch comes first: a model must still meet its own encoder's baseline
        "scratch_fc": scratch(CONFIGS["fc"]), "scratch_hub": scratch(CONFIGS["hub"]),
        "eval_scratch_fc": _evaluate("scratch_fc", 0.40, 0.50, None),
        "eval_scratch_hub": _evaluate("scratch_hub", 0.20, 0.25, 0.9 + jitter),
        "eval_hub": _evaluate("it1_hub", 0.30 + jitter, 0.40, 0.6 + jitter),
        "eval_fc": _evaluate("it1_fc", 0.45 + 2 * jitter, 0.55, None),
    }


def test_each_model_meets_its_own_scratch_and_pairs_give_verdicts_and_flops(tmp_path):
    by_seed = {s: _records(s, tmp_path) for s in (1, 2, 3)}
    c = aggregate(by_seed, {"pairs": {"fc_vs_hub": ["eval_fc", "eval_hub"]}})
    assert c["models"]["it1_hub"]["scratch"] == "scratch_hub"
    assert c["models"]["it1_fc"]["scratch"] == "scratch_fc"
    # PNMI gain over the own baseline: hub +0.10 + jitter, fc +0.05 + 2 x jitter (never against the other's)
    assert c["models"]["it1_fc"]["vs_scratch"]["best_pnmi"]["difference"]["mean"] == pytest.approx(0.09)
    assert c["models"]["it1_fc"]["vs_scratch"]["cer"]["verdict"] == "no clear difference"  # no CER: n = 0
    pair = c["pairs"]["fc_vs_hub"]
    assert (pair["a"], pair["b"]) == ("it1_fc", "it1_hub")
    assert pair["verdicts"]["best_pnmi"]["verdict"] == "better"       # +0.15 + jitter on every seed
    assert pair["verdicts"]["best_probe"]["verdict"] == "better"
    assert pair["verdicts"]["cer"]["difference"]["n"] == 0            # the fastconformer has no CER
    # a pair whose stage this run left out (`--only`) is skipped, not an error after hours of stages
    assert aggregate(by_seed, {"pairs": {"later": ["eval_fc", "eval_not_run"]}})["pairs"] == {}
    rows = compute_rows(by_seed[1], c["models"])
    assert {r["model_stage"] for r in rows} == {"it1_hub", "it1_fc"}
    pair_flops(c["pairs"], rows)
    assert pair["flops_ratio"] == pytest.approx(1 / 3)


def test_pairs_must_name_evaluate_stages(tmp_path):
    def write(pairs):
        path = tmp_path / "e.yaml"
        path.write_text(yaml.safe_dump({
            "name": "x", "corpus": {"path": "d"},
            "stages": {"km": {"kind": "labels", "source": "mfcc"},
                       "it1": {"kind": "pretrain", "config": "conf/pretrain/demo.yaml", "labels": ["km"]},
                       "eval_it1": {"kind": "evaluate", "model": "it1"}},
            "compare": {"pairs": pairs}}, sort_keys=False))
        return path

    assert load_experiment(write({"ok": ["eval_it1", "it1"]})).compare["pairs"]
    with pytest.raises(ExperimentError, match="compare.pairs.bad: km is not an evaluate stage"):
        load_experiment(write({"bad": ["eval_it1", "km"]}))
    with pytest.raises(ExperimentError, match=r"expected \[A, B\]"):
        load_experiment(write({"bad": ["eval_it1"]}))
