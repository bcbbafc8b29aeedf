"""Numbers of every seed's run folded into one comparison (comparison.json), with baselines and verdicts.

Shape (other tools read it; keep it stable):
  seeds                      the seeds, in order (null for an experiment without `seeds`)
  models.<name>              one per evaluate stage: a pre-trained model (named after its pretrain stage),
                             `scratch` (the random-init baseline) or `input features` (the MFCC frames)
    .kind                    pretrained | scratch | input
    .metrics.<metric>        per_seed, n, mean, std, ci95 for cer, wer, best_probe, best_pnmi, layer0_pnmi,
                             best_transformer_pnmi (phone-based ones are null without reference phones)
    .best_layer              the layer with the best PNMI, the one chosen most often over the seeds
    .best_probe_layer        the same for probe accuracy
    .layers[]                per layer: pnmi, probe_accuracy, phone_purity, cluster_purity (each summarised)
    .scratch                 the baseline it is compared with: the scratch stage `like:` this model's
                             pretrain stage, else the first scratch stage
    .vs_scratch.<metric>     paired verdict against that baseline (bootstrap/report/stats.py)
    .vs_input.<metric>       paired verdict against the input features (best_probe, best_pnmi)
    .transformer_vs_layer0   paired verdict: best transformer layer's PNMI against the same model's layer 0
  verdict.<metric>           ASR route against the classic route (`compare.routes`): better | worse |
                             no clear difference; verdict_details.<metric> holds the difference and interval
  pairs.<name>               `compare.pairs: {name: [A, B]}` (evaluate stages or models): A against B, a
                             paired verdict per metric (.verdicts.<metric>), and A's FLOPs over B's
                             (.flops_ratio, filled in by the report from the compute rows)
  labels.<stage>             label quality over seeds; targets_verdict compares iteration 2's targets with
                             iteration 1's (`compare.targets: {it1: STAGE, it2: STAGE}`)
  teachers, pretraining      per stage, summarised over seeds
"""

from __future__ import annotations

from collections import Counter

from bootstrap.report.collect import evaluation_rows, label_quality_rows, pretrain_rows, teacher_rows
from bootstrap.report.stats import paired_verdict, summarize

MODEL_METRICS = ("cer", "wer", "best_probe", "best_pnmi", "layer0_pnmi", "best_transformer_pnmi")
VERDICT_METRICS = ("cer", "best_probe", "best_pnmi")
LABEL_METRICS = ("pnmi", "phone_purity", "cluster_purity", "label_perplexity", "used_labels", "label_segment_ms")
LAYER_METRICS = ("pnmi", "probe_accuracy", "phone_purity", "cluster_purity")
INPUT_NAME = "input features"
TEST = ("paired over seeds: the 95% t-interval of the per-seed differences (model minus reference) must lie "
        "entirely on one side of zero for `better`/`worse`; otherwise `no clear difference` (always so with "
        "fewer than 2 seeds)")


def _model_values(e: dict) -> dict:
    """One seed's metric values of one evaluation row."""
    layers = e["layers"]
    pnmi = {r["layer"]: r["pnmi"] for r in layers}
    transformer = [v for layer, v in pnmi.items() if layer >= 1]
    best = e["best"] or {}
    return {
        "cer": e["cer"], "wer": e["wer"],
        "best_probe": best.get("probe_accuracy"), "best_pnmi": best.get("pnmi"),
        "layer0_pnmi": pnmi.get(0) if e["kind"] != "input" else None,
        "best_transformer_pnmi": max(transformer) if transformer else None,
    }


def _most_frequent(values: list, tie_break: dict) -> int | None:
    """The value chosen most often; ties go to the one with the higher mean score in `tie_break`."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    counts = Counter(values)
    top = max(counts.values())
    return max((v for v in counts if counts[v] == top), key=lambda v: tie_break.get(v, float("-inf")))


def _layers(rows_by_seed: list[dict | None]) -> list[dict]:
    layer_ids = sorted({r["layer"] for e in rows_by_seed if e for r in e["layers"]})
    out = []
    for layer in layer_ids:
        entry = {"layer": layer}
        for key in LAYER_METRICS:
            entry[key] = summarize([next((r[key] for r in e["layers"] if r["layer"] == layer), None) if e else None
                                    for e in rows_by_seed])
        out.append(entry)
    return out


def _model_kind(e: dict, records: dict) -> str:
    if e.get("features"):
        return "input"
    rec = records.get(e["model_stage"])
    return "scratch" if rec and rec["kind"] == "scratch" else "pretrained"


def aggregate(records_by_seed: dict, compare: dict) -> dict:
    seeds = list(records_by_seed)
    per_seed = {s: _per_seed_rows(records_by_seed[s]) for s in seeds}
    out = {"seeds": seeds, "test": TEST,
           "labels": _labels(seeds, per_seed), "teachers": _teachers(seeds, per_seed),
           "pretraining": _pretraining(seeds, per_seed), "models": _models(seeds, per_seed)}
    _baseline_verdicts(out["models"])
    out["routes"], out["verdict"], out["verdict_details"] = _route_verdicts(out["models"], compare.get("routes") or {})
    out["pairs"] = _pair_verdicts(out["models"], compare.get("pairs") or {})
    out["targets_verdict"] = _targets_verdict(out["labels"], compare.get("targets") or {}, seeds)
    return out


def _per_seed_rows(records: dict) -> dict:
    evaluations = evaluation_rows(records)
    for e in evaluations:
        e["kind"] = _model_kind(e, records)
        e["like"] = _pretrain_like(records, e["model_stage"]) if e["kind"] == "scratch" else None
    return {"labels": {r["stage"]: r for r in label_quality_rows(records)},
            "teachers": {r["stage"]: r for r in teacher_rows(records)},
            "pretraining": {r["stage"]: r for r in pretrain_rows(records)},
            "evaluations": {r["stage"]: r for r in evaluations}}


def _encoder_settings(params: dict) -> tuple:
    """`config` and `overrides` without the seed (`seeds:` gives a pretrain stage `loop.seed`, a scratch `seed`)."""
    overrides = {k: v for k, v in (params.get("overrides") or {}).items() if k != "loop.seed"}
    return params.get("config"), sorted(overrides.items(), key=lambda kv: str(kv[0]))


def _pretrain_like(records: dict, scratch_stage: str) -> str | None:
    """The pretrain stage a scratch stage copies (`like:` copies `config` and `overrides`): the first one
    with the same encoder settings."""
    want = _encoder_settings(records[scratch_stage]["params"])
    return next((name for name, rec in records.items()
                 if rec["kind"] == "pretrain" and _encoder_settings(rec["params"]) == want), None)


def _stages(seeds, per_seed, section: str) -> list[str]:
    names: list[str] = []
    for s in seeds:
        names += [n for n in per_seed[s][section] if n not in names]
    return names


def _rows_by_stage(seeds, per_seed, section: str):
    """Each stage of `section` with its row from every seed, in seed order (None where a seed lacks it)."""
    for stage in _stages(seeds, per_seed, section):
        yield stage, [per_seed[s][section].get(stage) for s in seeds]


def _summarize_field(rows, key: str) -> dict:
    """`key` summarised over the seeds' rows (a missing row counts as a missing value)."""
    return summarize([r.get(key) if r else None for r in rows])


def _labels(seeds, per_seed) -> dict:
    out = {}
    for stage, rows in _rows_by_stage(seeds, per_seed, "labels"):
        first = next(r for r in rows if r)
        out[stage] = {"source": first["source"], "params": first["params"], "num_classes": first["num_classes"],
                      "label_rate": first["label_rate"],
                      "metrics": {k: _summarize_field(rows, k) for k in LABEL_METRICS}}
    return out


def _teachers(seeds, per_seed) -> dict:
    out = {}
    for stage, rows in _rows_by_stage(seeds, per_seed, "teachers"):
        out[stage] = {"metrics": {k: _summarize_field(rows, k) for k in ("cer", "wer")},
                      "seconds": _summarize_field(rows, "seconds")}
    return out


def _pretraining(seeds, per_seed) -> dict:
    out = {}
    for stage, rows in _rows_by_stage(seeds, per_seed, "pretraining"):
        first = next(r for r in rows if r)
        keys = sorted({k for r in rows if r for k in r["validation"] if k.startswith(("loss_", "acc_"))})
        out[stage] = {"labels": first["labels"], "updates": first["updates"], "audio_hours": first["audio_hours"],
                      "seconds": _summarize_field(rows, "seconds"),
                      "cpu_seconds": _summarize_field(rows, "cpu_seconds"),
                      "validation": {k: summarize([r["validation"].get(k) if r else None for r in rows]) for k in keys},
                      "curves": [{"seed": s, "valid": r["valid_curve"]} for s, r in zip(seeds, rows) if r]}
    return out


def _models(seeds, per_seed) -> dict:
    out = {}
    for stage, rows in _rows_by_stage(seeds, per_seed, "evaluations"):
        first = next(r for r in rows if r)
        name = INPUT_NAME if first["kind"] == "input" else first["model_stage"]
        values = [_model_values(r) if r else {} for r in rows]
        metrics = {m: summarize([v.get(m) for v in values]) for m in MODEL_METRICS}
        layers = _layers(rows)
        mean_pnmi = {entry["layer"]: entry["pnmi"]["mean"] for entry in layers}
        mean_probe = {entry["layer"]: entry["probe_accuracy"]["mean"] for entry in layers}
        best_pnmi_layers = [r["best"]["pnmi_layer"] if r and r["best"] else None for r in rows]
        best_probe_layers = [r["best"]["probe_layer"] if r and r["best"] else None for r in rows]
        pretrain_stage = first["model_stage"]
        out[name] = {
            "stage": stage, "kind": first["kind"], "model_stage": None if first["kind"] == "input" else pretrain_stage,
            "like": first.get("like"),
            "metrics": metrics,
            "best_layer": None if first["kind"] == "input" else _most_frequent(best_pnmi_layers, mean_pnmi),
            "best_layer_per_seed": best_pnmi_layers,
            "best_probe_layer": None if first["kind"] == "input" else _most_frequent(best_probe_layers, mean_probe),
            "chance_accuracy": summarize([r["chance_accuracy"] if r else None for r in rows]),
            "layers": layers, "_by_seed": {s: v for s, v in zip(seeds, values) if v},
        }
    return out


def _scratch_for(m: dict, scratches: dict) -> str | None:
    """The scratch model `like:` m's pretrain stage (the same encoder), else the first scratch model."""
    same = [n for n, sm in scratches.items() if sm["like"] == m["model_stage"]]
    return same[0] if same else next(iter(scratches), None)


def _baseline_verdicts(models: dict) -> None:
    scratches = {n: m for n, m in models.items() if m["kind"] == "scratch"}
    inputs = models.get(INPUT_NAME)
    for name, m in models.items():
        if m["kind"] == "input":
            continue
        by_seed = m["_by_seed"]
        scratch_name = _scratch_for(m, scratches) if m["kind"] == "pretrained" else None
        scratch = models[scratch_name] if scratch_name else None
        if scratch is not None:
            m["scratch"] = scratch_name
            m["vs_scratch"] = _verdicts(m, scratch)
        if inputs is not None:
            m["vs_input"] = _verdicts(m, inputs, ("best_probe", "best_pnmi"))
        m["learning"] = _learning(m, scratch)
        m["transformer_vs_layer0"] = paired_verdict(
            {s: v.get("best_transformer_pnmi") for s, v in by_seed.items()},
            {s: v.get("layer0_pnmi") for s, v in by_seed.items()}, "pnmi")


def _spread(stat: dict) -> float:
    values = [v for v in stat["per_seed"] if v is not None]
    return max(values) - min(values) if values else 0.0


def _learning(m: dict, scratch: dict | None) -> dict:
    """Did pre-training visibly learn? (issue 11, item 3) The model beats `scratch` on CER by more than the
    spread over seeds (the larger of the two models' max - min), and its best layer is a transformer layer
    whose mean PNMI is above the same model's layer 0."""
    out = {"cer_gain": None, "cer_spread": None, "beats_scratch_beyond_spread": None,
           "transformer_layer_best": None}
    cer = m["metrics"]["cer"]
    if scratch is not None and m is not scratch and cer["mean"] is not None and scratch["metrics"]["cer"]["mean"] is not None:
        out["cer_gain"] = scratch["metrics"]["cer"]["mean"] - cer["mean"]
        out["cer_spread"] = max(_spread(cer), _spread(scratch["metrics"]["cer"]))
        out["beats_scratch_beyond_spread"] = out["cer_gain"] > out["cer_spread"]
    pnmi = {entry["layer"]: entry["pnmi"]["mean"] for entry in m["layers"]}
    if m["best_layer"] is not None and 0 in pnmi:
        out["transformer_layer_best"] = m["best_layer"] >= 1 and pnmi[m["best_layer"]] > pnmi[0]
    return out


def _resolve(models: dict, ref: str) -> str | None:
    """A model's name from an evaluate stage's name or the model's own."""
    by_stage = {m["stage"]: name for name, m in models.items()}
    return by_stage.get(ref, ref if ref in models else None)


def _verdicts(a: dict, b: dict, metrics=VERDICT_METRICS) -> dict:
    """Paired verdicts of model `a` against model `b` for each of `metrics`."""
    return {metric: paired_verdict({s: v.get(metric) for s, v in a["_by_seed"].items()},
                                   {s: v.get(metric) for s, v in b["_by_seed"].items()}, metric)
            for metric in metrics}


def _route_verdicts(models: dict, routes: dict) -> tuple[dict, dict, dict]:
    """`compare.routes` names each route's final evaluate stage (or its model); ASR against classic."""
    resolved = {route: _resolve(models, ref) for route, ref in routes.items()}
    resolved = {route: name for route, name in resolved.items() if name}
    verdict, details = {}, {}
    if {"asr", "classic"} <= resolved.keys():
        details = _verdicts(models[resolved["asr"]], models[resolved["classic"]])
        # n/a: e.g. phone scores on a corpus without reference phones
        verdict = {metric: "n/a" if d["difference"]["n"] == 0 else d["verdict"] for metric, d in details.items()}
    return resolved, verdict, details


def _pair_verdicts(models: dict, pairs: dict) -> dict:
    """`compare.pairs: {name: [A, B]}`: A against B on every verdict metric (A minus B, paired over seeds)."""
    out = {}
    for name, refs in pairs.items():  # their shape and names were checked when the experiment loaded
        a, b = (_resolve(models, ref) for ref in refs)
        if a is None or b is None:
            continue  # a stage this run left out (`--only`); the names were checked when the experiment loaded
        out[name] = {"a": a, "b": b, "verdicts": _verdicts(models[a], models[b]), "flops_ratio": None}
    return out


def _targets_verdict(labels: dict, targets: dict, seeds: list) -> dict | None:
    """Iteration 2's target PNMI against iteration 1's, paired over seeds (per_seed lists follow `seeds`)."""
    it1, it2 = targets.get("it1"), targets.get("it2")
    if not (it1 in labels and it2 in labels):
        return None
    a, b = labels[it2]["metrics"]["pnmi"]["per_seed"], labels[it1]["metrics"]["pnmi"]["per_seed"]
    return {"it1": it1, "it2": it2,
            **paired_verdict(dict(zip(seeds, a)), dict(zip(seeds, b)), "pnmi")}


def strip_private(c: dict) -> dict:
    """The dict as written to comparison.json (without the per-seed working copies)."""
    out = dict(c)
    out["models"] = {n: {k: v for k, v in m.items() if not k.startswith("_")} for n, m in c["models"].items()}
    return out
