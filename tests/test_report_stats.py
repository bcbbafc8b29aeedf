"""Statistics over seeds and the comparison's aggregation, on hand-made numbers (no training)."""

from __future__ import annotations

import math

import pytest

from bootstrap.report.aggregate import aggregate, strip_private
from bootstrap.report.stats import format_mean_std, paired_verdict, summarize


def test_summarize_mean_std_and_t_interval():
    s = summarize([0.30, 0.34, 0.32])
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.32)
    assert s["std"] == pytest.approx(0.02)  # sample std (n - 1)
    half = 4.302653 * 0.02 / math.sqrt(3)  # t(0.975, 2) = 4.3027
    assert s["ci95"] == pytest.approx([0.32 - half, 0.32 + half], abs=1e-6)
    assert s["per_seed"] == [0.30, 0.34, 0.32]


def test_summarize_one_value_and_missing_values():
    one = summarize([0.5])
    assert one["mean"] == 0.5 and one["std"] == 0.0 and one["ci95"] == [0.5, 0.5]
    gaps = summarize([None, 0.2, 0.4])
    assert gaps["n"] == 2 and gaps["mean"] == pytest.approx(0.3) and gaps["per_seed"] == [None, 0.2, 0.4]
    none = summarize([None, None])
    assert none["n"] == 0 and none["mean"] is None and none["ci95"] is None
    assert format_mean_std(none) == "n/a"
    assert format_mean_std(summarize([0.5, 0.7]), pct=True) == "60.0 ± 14.1%"


def test_paired_verdict_directions():
    # CER: lower is better; a consistent 10-point drop over 3 seeds is `better`
    a, b = {1: 0.50, 2: 0.52, 3: 0.49}, {1: 0.60, 2: 0.63, 3: 0.58}
    v = paired_verdict(a, b, "cer")
    assert v["verdict"] == "better" and v["difference"]["mean"] == pytest.approx(-0.1, abs=1e-9)
    assert v["difference"]["ci95"][1] < 0
    assert paired_verdict(b, a, "cer")["verdict"] == "worse"
    # PNMI: higher is better
    assert paired_verdict(b, a, "best_pnmi")["verdict"] == "better"


def test_paired_verdict_says_no_clear_difference_when_the_interval_covers_zero():
    a, b = {1: 0.40, 2: 0.30, 3: 0.45}, {1: 0.35, 2: 0.38, 3: 0.39}  # differences +0.05, -0.08, +0.06
    assert paired_verdict(a, b, "best_probe")["verdict"] == "no clear difference"
    # one seed cannot give an interval, however large the difference
    assert paired_verdict({1: 0.9}, {1: 0.1}, "best_probe")["verdict"] == "no clear difference"
    # seeds are paired: only common seeds count
    v = paired_verdict({1: 0.5, 2: 0.6, 3: 0.7}, {2: 0.4, 3: 0.5}, "best_probe")
    assert v["seeds"] == [2, 3] and v["verdict"] == "better"  # identical differences: a zero-width interval


def _eval_record(model: str | None, pnmi: list[float], probe: list[float], cer: float | None,
                 features: str | None = None) -> dict:
    layers = [{"layer": i, "pnmi": p, "probe_accuracy": q, "phone_purity": p, "cluster_purity": p}
              for i, (p, q) in enumerate(zip(pnmi, probe))]
    best = None
    if layers:
        bp, bq = max(layers, key=lambda r: r["pnmi"]), max(layers, key=lambda r: r["probe_accuracy"])
        best = {"pnmi_layer": bp["layer"], "pnmi": bp["pnmi"], "probe_layer": bq["layer"],
                "probe_accuracy": bq["probe_accuracy"]}
    params = {"features": features} if features else {"model": model}
    ev = {"layers": layers, "best": best, "phones": {"chance_accuracy": 0.1} if layers else None,
          "finetune": {"cer": cer, "wer": None if cer is None else min(1.0, 2 * cer)} if cer is not None else None}
    return {"kind": "evaluate", "params": params, "result": {"evaluation": ev, "png": None}}


def _seed_records(seed: int, asr_cer: float, scratch_cer: float, asr_pnmi: list[float]) -> dict:
    return {
        "mfcc_km": {"kind": "labels", "params": {"n_clusters": 100}, "result": {
            "source": "mfcc", "quality": {"pnmi": 0.5 + 0.01 * seed, "phone_purity": 0.5, "cluster_purity": 0.3,
                                          "label_perplexity": 50.0, "used_labels": 100, "num_classes": 100,
                                          "label_rate": 100, "label_segment_ms": 40.0}}},
        "it1_km": {"kind": "labels", "params": {"n_clusters": 100}, "result": {
            "source": "hubert", "quality": {"pnmi": 0.4 + 0.01 * seed, "phone_purity": 0.4, "cluster_purity": 0.3,
                                            "label_perplexity": 60.0, "used_labels": 100, "num_classes": 100,
                                            "label_rate": 50, "label_segment_ms": 40.0}}},
        "scratch": {"kind": "scratch", "params": {}, "result": {"path": "x"}},
        "it1_asr": {"kind": "pretrain", "params": {}, "result": {"labels": ["asr_hold"], "log": "/nonexistent",
                                                                 "summary": {"updates": 10}}},
        "it2_mfcc": {"kind": "pretrain", "params": {}, "result": {"labels": ["it1_km"], "log": "/nonexistent",
                                                                  "summary": {"updates": 10}}},
        "eval_input": _eval_record(None, [0.35], [0.40], None, features="mfcc"),
        "eval_scratch": _eval_record("scratch", [0.30, 0.20, 0.20], [0.30, 0.25, 0.25], scratch_cer),
        "eval_it2_mfcc": _eval_record("it2_mfcc", [0.36, 0.30, 0.31], [0.40, 0.38, 0.37], 0.95 + 0.01 * seed),
        "eval_it1_asr": _eval_record("it1_asr", asr_pnmi, [0.45, 0.50, 0.48], asr_cer),
    }


def test_aggregate_gives_the_documented_shape_baselines_and_verdicts():
    records = {1: _seed_records(1, 0.60, 0.99, [0.38, 0.45, 0.41]),
               2: _seed_records(2, 0.63, 1.00, [0.37, 0.44, 0.43]),
               3: _seed_records(3, 0.58, 0.98, [0.39, 0.40, 0.46])}
    compare = {"routes": {"asr": "eval_it1_asr", "classic": "eval_it2_mfcc"},
               "targets": {"it1": "mfcc_km", "it2": "it1_km"}}
    c = strip_private(aggregate(records, compare))
    assert c["seeds"] == [1, 2, 3]
    assert set(c["models"]) == {"input features", "scratch", "it2_mfcc", "it1_asr"}
    asr = c["models"]["it1_asr"]
    cer = asr["metrics"]["cer"]
    assert cer["per_seed"] == [0.60, 0.63, 0.58] and cer["mean"] == pytest.approx(0.6033333)
    assert cer["ci95"][0] < cer["mean"] < cer["ci95"][1]
    # best PNMI layer per seed: 1, 1, 2 -> layer 1 (chosen most often)
    assert asr["best_layer_per_seed"] == [1, 1, 2] and asr["best_layer"] == 1
    assert asr["metrics"]["best_transformer_pnmi"]["per_seed"] == [0.45, 0.44, 0.46]
    assert asr["transformer_vs_layer0"]["verdict"] == "better"
    # pre-training visibly learned: CER gain 0.387 over scratch > spread 0.05; best layer 1 above layer 0
    assert asr["learning"]["beats_scratch_beyond_spread"] is True
    assert asr["learning"]["cer_spread"] == pytest.approx(0.05)
    assert asr["learning"]["transformer_layer_best"] is True
    it2 = c["models"]["it2_mfcc"]
    assert it2["best_layer"] == 0 and it2["learning"]["transformer_layer_best"] is False
    assert asr["vs_scratch"]["cer"]["verdict"] == "better"
    assert asr["vs_scratch"]["cer"]["difference"]["mean"] == pytest.approx(0.6033333 - 0.99)
    assert asr["vs_input"]["best_probe"]["verdict"] == "better"
    assert "vs_scratch" not in c["models"]["scratch"] and c["models"]["scratch"]["kind"] == "scratch"
    assert c["models"]["input features"]["best_layer"] is None
    assert c["models"]["input features"]["metrics"]["cer"]["mean"] is None
    # the route question: ASR clearly better on CER and probe
    assert c["routes"] == {"asr": "it1_asr", "classic": "it2_mfcc"}
    assert c["verdict"]["cer"] == "better" and c["verdict"]["best_probe"] == "better"
    assert set(c["verdict"].values()) <= {"better", "worse", "no clear difference"}
    # iteration 2's targets are 0.1 PNMI below iteration 1's on every seed
    assert c["targets_verdict"]["verdict"] == "worse"
    assert c["targets_verdict"]["seeds"] == c["seeds"]  # named by seed, like every other verdict
    assert c["labels"]["mfcc_km"]["metrics"]["pnmi"]["per_seed"] == pytest.approx([0.51, 0.52, 0.53])
    assert all(not k.startswith("_") for m in c["models"].values() for k in m)


def test_aggregate_without_reference_phones_keeps_cer_and_says_na():
    def seed(s):
        return {"scratch": {"kind": "scratch", "params": {}, "result": {"path": "x"}},
                "eval_scratch": _eval_record("scratch", [], [], 1.0),
                "eval_it1": _eval_record("it1", [], [], 0.7 + 0.01 * s)}

    c = strip_private(aggregate({1: seed(1), 2: seed(2)}, {"routes": {"asr": "eval_it1", "classic": "eval_scratch"}}))
    it1 = c["models"]["it1"]
    assert it1["metrics"]["cer"]["per_seed"] == [0.71, 0.72] and it1["metrics"]["best_pnmi"]["mean"] is None
    assert it1["best_layer"] is None and it1["layers"] == []
    assert c["verdict"]["best_pnmi"] == "n/a" and c["verdict"]["cer"] in ("better", "no clear difference")
