"""Evaluation output: `evaluation.json`, `layers.png` (per-layer curves) and a short printed table."""

from __future__ import annotations

import os
from pathlib import Path

from labelers.corpus.atomic import write_json

JSON_FILE, PNG_FILE = "evaluation.json", "layers.png"


def write_report(result: dict, out_dir: str | os.PathLike) -> tuple[Path, Path | None]:
    """evaluation.json, and layers.png when there are layer scores (not on a corpus without phones)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = plot_layers(result, out_dir / PNG_FILE) if result["layers"] else None
    write_json(out_dir / JSON_FILE, result)
    return out_dir / JSON_FILE, png


def plot_layers(result: dict, png: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["layers"]
    x = [r["layer"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(x, [r["probe_accuracy"] for r in rows], "o-", label="linear probe (eval)")
    a.axhline(result["phones"]["chance_accuracy"], color="grey", ls=":", label="majority phone")
    a.set(xlabel="layer", ylabel="frame phone accuracy", title="Linear phone probe", ylim=(0, 1))
    a.legend(fontsize=8)
    k = rows[0]["kmeans_k"] if rows else 0
    for key, style in (("pnmi", "o-"), ("phone_purity", "s--"), ("cluster_purity", "^--")):
        b.plot(x, [r[key] for r in rows], style, label=key.replace("_", " "))
    b.set(xlabel="layer", ylabel="score", title=f"k-means (K={k}) vs reference phones", ylim=(0, 1))
    b.legend(fontsize=8)
    from matplotlib.ticker import MaxNLocator

    for ax in (a, b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ft = result.get("finetune")
    if ft and ft.get("cer") is not None:
        fig.suptitle(f"{Path(result['model']).name}: CER after CTC fine-tuning {100 * ft['cer']:.1f}%", fontsize=10)
    fig.tight_layout()
    tmp = png.with_name(f".{png.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, png)
    return png


def format_table(result: dict) -> str:
    lines = [f"{'layer':>5}  {'PNMI':>6}  {'ph.pur':>6}  {'cl.pur':>6}  {'probe':>6}"]
    for r in result["layers"]:
        lines.append(f"{r['layer']:>5}  {r['pnmi']:6.3f}  {r['phone_purity']:6.3f}  {r['cluster_purity']:6.3f}  "
                     f"{r['probe_accuracy']:6.3f}")
    b = result["best"]
    if b is None:
        lines = [result.get("no_phones", "no layer scores")]
    else:
        lines.append(f"best probe: layer {b['probe_layer']} ({b['probe_accuracy']:.3f}); best PNMI: layer "
                     f"{b['pnmi_layer']} ({b['pnmi']:.3f}); majority-phone accuracy {result['phones']['chance_accuracy']:.3f}")
    ft = result.get("finetune")
    if ft:
        lines.append(f"CTC fine-tuning on '{ft['split']}': CER {100 * ft['cer']:.1f}%  WER {100 * ft['wer']:.1f}% "
                     f"({ft['updates']} updates)")
    return "\n".join(lines)
