"""The compute column of a comparison: FLOPs spent on each model, its teachers included, and quality
against compute (a PNG).

A pre-training or CTC training stage's own FLOPs are what its run counted (`total_flops` of its summary,
from pretrain/flops.py). Its teachers are the stages its labels came from: a `labels` stage built on a
model (k-means of a layer, ASR tokens) adds that model's FLOPs, recursively, so iteration 2 carries
iteration 1, and the ASR route carries its CTC teacher (and the export the teacher was fine-tuned from,
`init`). Training only: labelling passes and k-means are not counted. A stage without a count (a run
from before the counters) marks the total `teacher_flops_missing`.
"""

from __future__ import annotations

from pathlib import Path

from bootstrap.report.stats import format_mean_std as ms


def _own_flops(rec: dict) -> float | None:
    summary = (rec.get("result") or {}).get("summary") or {}
    return summary.get("total_flops")


def model_compute(records: dict, stage: str, _seen: frozenset = frozenset()) -> dict:
    """{own_flops, total_flops (teachers included), device_hours, teacher_flops_missing} of one stage."""
    rec = records.get(stage)
    if rec is None or stage in _seen:
        return {"own_flops": None, "total_flops": None, "device_hours": None, "teacher_flops_missing": True}
    seen = _seen | {stage}
    own = _own_flops(rec)
    summary = (rec.get("result") or {}).get("summary") or {}
    total, missing = own or 0.0, own is None
    teachers = []
    if rec["kind"] == "pretrain":
        labels = rec["params"].get("labels") or []
        teachers = [records[lab]["params"].get("model") for lab in (labels if isinstance(labels, list) else [labels])
                    if lab in records]
    elif rec["kind"] in ("labels", "train_asr"):
        teachers = [rec["params"].get("model" if rec["kind"] == "labels" else "init")]
    for t in teachers:
        if not t:
            continue
        sub = model_compute(records, t, seen)
        total += sub["total_flops"] or 0.0
        missing = missing or sub["teacher_flops_missing"] or sub["total_flops"] is None
    return {"own_flops": own, "total_flops": total if total else None, "device_hours": summary.get("device_hours"),
            "teacher_flops_missing": missing}


def compute_rows(records: dict, models: dict) -> list[dict]:
    """One row per pre-trained model of the comparison (`models` as aggregated over seeds): its compute (the
    FLOPs are the same for every seed: `records` is one seed's) and its quality (best-layer PNMI, probe
    accuracy, CER; each summarised over seeds)."""
    rows = []
    for name, m in models.items():
        stage = m.get("model_stage")
        if m.get("kind") != "pretrained" or stage not in records:
            continue
        summary = (records[stage].get("result") or {}).get("summary") or {}
        rows.append({"model_stage": stage, **model_compute(records, stage),
                     "flops_per_audio_s": summary.get("flops_per_audio_s"),
                     "pnmi": m["metrics"]["best_pnmi"], "probe_accuracy": m["metrics"]["best_probe"],
                     "cer": m["metrics"]["cer"]})
    return rows


def quality_vs_compute_figure(rows: list[dict], path: Path) -> Path | None:
    """Best PNMI and CER (mean, error bar one std over seeds) against training FLOPs, teachers included."""
    pts = [r for r in rows if r["total_flops"]]
    if not pts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label, scale in ((axes[0], "pnmi", "best-layer PNMI (higher is better)", 1.0),
                                  (axes[1], "cer", "CER after fine-tuning, % (lower is better)", 100.0)):
        shown = [r for r in pts if (r[key] or {}).get("mean") is not None]
        for r in shown:
            stat = r[key]
            ax.errorbar(r["total_flops"], scale * stat["mean"], yerr=scale * (stat["std"] or 0.0), fmt="o", capsize=3)
            ax.annotate(r["model_stage"], (r["total_flops"], scale * stat["mean"]), fontsize=7)
        flops = [r["total_flops"] for r in shown]
        if flops and max(flops) > 3 * min(flops):  # a log axis only where the FLOPs span a wide range
            ax.set_xscale("log")
        ax.set_xlabel("training FLOPs, teachers included")
        ax.set_ylabel(label)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def compute_section(rows: list[dict], fig: Path | None) -> list[str]:
    if not rows:
        return []
    lines = ["## Compute", "",
             "Training FLOPs each run counted (pretrain/flops.py), with those of the models its labels came from; "
             "quality as mean ± std over seeds.", "",
             "| model | own FLOPs | FLOPs with teachers | GFLOP / audio-s | device-hours | best PNMI | best probe | CER |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        def f(x, fmt, scale=1.0):
            return "n/a" if x is None else format(x * scale, fmt)
        total = f(r["total_flops"], ".3g") + (" (+ a teacher not counted)" if r["teacher_flops_missing"] else "")
        lines.append(f"| {r['model_stage']} | {f(r['own_flops'], '.3g')} | {total} | "
                     f"{f(r['flops_per_audio_s'], '.3f', 1e-9)} | {f(r['device_hours'], '.3f')} | {ms(r['pnmi'])} | "
                     f"{ms(r['probe_accuracy'])} | {ms(r['cer'], pct=True)} |")
    if fig:
        lines += ["", f"![quality against compute]({fig.name})"]
    return lines + [""]


def pair_flops(pairs: dict, rows: list[dict]) -> None:
    """Each pair's FLOPs ratio (A's training FLOPs, teachers included, over B's), in place."""
    flops = {r["model_stage"]: r["total_flops"] for r in rows}
    for p in pairs.values():
        a, b = flops.get(p["a"]), flops.get(p["b"])
        p["flops_ratio"] = a / b if a and b else None
