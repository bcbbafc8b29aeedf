"""Training curves from the JSONL log, saved as a PNG beside it (matplotlib, Agg backend)."""

from __future__ import annotations

import json
import os
from pathlib import Path

PLOTTED = ("loss", "acc_m", "acc_u", "lr", "audio_s_per_s")


def plot_log(log_path: str | os.PathLike, png_path: str | os.PathLike) -> Path | None:
    """One panel per metric found in the log (train and valid lines); returns the PNG path or None."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log_path, png_path = Path(log_path), Path(png_path)
    if not log_path.is_file():
        return None
    recs = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    keys = [k for k in PLOTTED if any(k in r for r in recs)]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for split, style in (("train", "-"), ("valid", "o-")):
            pts = [(r["step"], r[key]) for r in recs if r.get("split") == split and key in r]
            if pts:
                ax.plot(*zip(*pts), style, label=split, markersize=3)
        ax.set_title(key)
        ax.set_xlabel("update")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = png_path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, png_path)
    return png_path
