"""Comparison figures (PNG, matplotlib Agg): label quality, pre-training curves, per-layer scores."""

from __future__ import annotations

import os
from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    _plt().close(fig)
    os.replace(tmp, path)
    return path


def _mean(stat: dict) -> float:
    return float("nan") if stat["mean"] is None else stat["mean"]


def _std(stat: dict) -> float:
    return 0.0 if stat["std"] is None else stat["std"]


def label_quality_figure(labels: dict, path: Path) -> Path | None:
    """Bars of PNMI / purities per label stage, mean over seeds with ± std error bars."""
    rows = [(name, lab["metrics"]) for name, lab in labels.items() if lab["metrics"]["pnmi"]["mean"] is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 3.6))
    width = 0.27
    for i, key in enumerate(("pnmi", "phone_purity", "cluster_purity")):
        ax.bar([x + (i - 1) * width for x in range(len(rows))], [_mean(m[key]) for _, m in rows], width,
               yerr=[_std(m[key]) for _, m in rows], capsize=3, label=key.replace("_", " "))
    ax.set_xticks(range(len(rows)), [n for n, _ in rows], rotation=20, ha="right", fontsize=8)
    ax.set(ylim=(0, 1), ylabel="score (mean ± std over seeds)",
           title="Label quality against reference phones (valid split)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def curves_figure(pretraining: dict, path: Path) -> Path | None:
    """Validation curves of every pre-training stage, one line per seed (same colour per stage)."""
    keys = [k for k in ("loss_m", "acc_m")
            if any(k in r for p in pretraining.values() for c in p["curves"] for r in c["valid"])]
    if not keys:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for i, (stage, p) in enumerate(pretraining.items()):
            for j, curve in enumerate(p["curves"]):
                pts = [(r["step"], r[key]) for r in curve["valid"] if key in r]
                if pts:
                    ax.plot(*zip(*pts), "o-", markersize=3, color=f"C{i}", alpha=0.8,
                            label=stage if j == 0 else None)
        ax.set(xlabel="update", title=f"valid {key} (each on its own targets; one line per seed)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def layers_figure(models: dict, path: Path) -> Path | None:
    """Probe accuracy and PNMI per layer, mean ± std over seeds; the input features as a dashed line."""
    shown = {n: m for n, m in models.items() if m["layers"]}
    if not shown:
        return None
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (name, m) in enumerate(shown.items()):
        if m["kind"] == "input":
            for ax, key in ((a, "probe_accuracy"), (b, "pnmi")):
                ax.axhline(_mean(m["layers"][0][key]), color="black", ls="--", lw=1, label=name)
            continue
        x = [r["layer"] for r in m["layers"]]
        for ax, key in ((a, "probe_accuracy"), (b, "pnmi")):
            ax.errorbar(x, [_mean(r[key]) for r in m["layers"]], yerr=[_std(r[key]) for r in m["layers"]],
                        fmt="o-", capsize=3, color=f"C{i}", label=name)
    chance = next((m["chance_accuracy"] for m in shown.values() if m["chance_accuracy"]["mean"] is not None), None)
    if chance:
        a.axhline(chance["mean"], color="grey", ls=":", label="majority phone")
    a.set(xlabel="layer", ylabel="frame phone accuracy", title="Linear phone probe per layer (mean ± std)",
          ylim=(0, 1))
    b.set(xlabel="layer", ylabel="PNMI", title="k-means PNMI per layer (mean ± std)", ylim=(0, 1))
    from matplotlib.ticker import MaxNLocator

    for ax in (a, b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def cer_figure(models: dict, path: Path) -> Path | None:
    """CER after fine-tuning per model, mean with ± std error bars and the per-seed values as dots."""
    rows = [(n, m["metrics"]["cer"]) for n, m in models.items() if m["metrics"]["cer"]["mean"] is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(rows)), 3.6))
    x = range(len(rows))
    ax.bar(x, [100 * _mean(s) for _, s in rows], yerr=[100 * _std(s) for _, s in rows], capsize=4,
           color=["grey" if n == "scratch" else f"C{i}" for i, (n, _) in enumerate(rows)])
    for i, (_, s) in enumerate(rows):
        vals = [100 * v for v in s["per_seed"] if v is not None]
        ax.plot([i] * len(vals), vals, "k.", markersize=5)
    ax.set_xticks(list(x), [n for n, _ in rows], rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="CER % (mean ± std; dots: seeds)", title="CER after the same CTC fine-tuning (valid split)")
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)
