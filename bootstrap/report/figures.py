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


def label_quality_figure(rows: list[dict], path: Path) -> Path | None:
    if not rows:
        return None
    plt = _plt()
    names = [r["stage"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 3.6))
    width = 0.27
    for i, key in enumerate(("pnmi", "phone_purity", "cluster_purity")):
        ax.bar([x + (i - 1) * width for x in range(len(rows))], [r[key] for r in rows], width,
               label=key.replace("_", " "))
    ax.set_xticks(range(len(rows)), names, rotation=20, ha="right", fontsize=8)
    ax.set(ylim=(0, 1), ylabel="score", title="Label quality against reference phones (valid split)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def curves_figure(rows: list[dict], path: Path) -> Path | None:
    keys = [k for k in ("loss_m", "acc_m") if any(k in r for row in rows for r in row["valid_curve"])]
    if not keys:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.4), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for row in rows:
            pts = [(r["step"], r[key]) for r in row["valid_curve"] if key in r]
            if pts:
                ax.plot(*zip(*pts), "o-", markersize=3, label=row["stage"])
        ax.set(xlabel="update", title=f"valid {key} (each on its own targets)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def layers_figure(evaluations: list[dict], path: Path) -> Path | None:
    if not evaluations:
        return None
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for e in evaluations:
        x = [r["layer"] for r in e["layers"]]
        a.plot(x, [r["probe_accuracy"] for r in e["layers"]], "o-", label=e["model_stage"])
        b.plot(x, [r["pnmi"] for r in e["layers"]], "o-", label=e["model_stage"])
    a.axhline(evaluations[0]["chance_accuracy"], color="grey", ls=":", label="majority phone")
    a.set(xlabel="layer", ylabel="frame phone accuracy", title="Linear phone probe per layer", ylim=(0, 1))
    b.set(xlabel="layer", ylabel="PNMI", title="k-means PNMI per layer", ylim=(0, 1))
    from matplotlib.ticker import MaxNLocator

    for ax in (a, b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)
