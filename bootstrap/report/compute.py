"""The compute column of a comparison: FLOPs spent on each model, its teachers included, and quality
against compute (a PNG).

A pre-training stage's own FLOPs are what its run counted (summary.json `total_flops`, from
pretrain/flops.py). Its teachers are the stages its labels came from: a `labels` stage built on a model
(k-means of a layer, ASR tokens) adds that model's FLOPs, recursively, so iteration 2 carries iteration
1. A CTC teacher's training is not FLOP-counted yet: the total is then marked `teacher_flops_missing`.
"""

from __future__ import annotations

from pathlib import Path


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
    elif rec["kind"] == "labels":
        teachers = [rec["params"].get("model")]
    for t in teachers:
        if not t:
            continue
        sub = model_compute(records, t, seen)
        total += sub["total_flops"] or 0.0
        missing = missing or sub["teacher_flops_missing"] or sub["total_flops"] is None
    return {"own_flops": own, "total_flops": total if total else None, "device_hours": summary.get("device_hours"),
            "teacher_flops_missing": missing}


def compute_rows(records: dict, evaluations: list[dict]) -> list[dict]:
    """One row per evaluated model: its compute and its quality (best-layer PNMI, probe accuracy, CER)."""
    rows = []
    for ev in evaluations:
        model = ev.get("model_stage")
        if not model or model not in records:
            continue
        best = ev.get("best") or {}
        rows.append({"model_stage": model, **model_compute(records, model), "pnmi": best.get("pnmi"),
                     "probe_accuracy": best.get("probe_accuracy"), "cer": ev.get("cer")})
    return rows


def quality_vs_compute_figure(rows: list[dict], path: Path) -> Path | None:
    pts = [r for r in rows if r["total_flops"]]
    if not pts:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "pnmi", "best-layer PNMI (higher is better)"),
                           (axes[1], "cer", "CER after fine-tuning (lower is better)")):
        for r in pts:
            if r[key] is not None:
                ax.scatter(r["total_flops"], r[key])
                ax.annotate(r["model_stage"], (r["total_flops"], r[key]), fontsize=7)
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
    lines = ["## Compute", "", "| model | own FLOPs | FLOPs with teachers | device-hours | PNMI | CER |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        def f(x, fmt):
            return "n/a" if x is None else format(x, fmt)
        total = f(r["total_flops"], ".3g") + (" (+ CTC teacher, not counted)" if r["teacher_flops_missing"] else "")
        lines.append(f"| {r['model_stage']} | {f(r['own_flops'], '.3g')} | {total} | {f(r['device_hours'], '.3f')} "
                     f"| {f(r['pnmi'], '.3f')} | {f(r['cer'], '.3f')} |")
    if fig:
        lines += ["", f"![quality against compute]({fig.name})"]
    return lines + [""]
