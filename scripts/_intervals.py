"""Per-seed statistics shared by the new-sources comparison scripts (issue 14): a 95% t-interval over
seeds, its verdict, and the end of a run (time and load stamped, JSON written, paired verdicts printed)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from scipy import stats


def interval(xs: list[float]) -> dict:
    a = np.asarray(xs, dtype=float)
    n = len(a)
    sd = float(a.std(ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
    return {"values": [round(float(x), 4) for x in a], "mean": round(float(a.mean()), 4), "sd": round(sd, 4),
            "ci95": [round(float(a.mean()) - half, 4), round(float(a.mean()) + half, 4)]}


def verdict(diff: dict) -> str:
    lo, hi = diff["ci95"]
    if np.isnan(lo):
        return "no clear difference (one seed)"
    return "better" if lo > 0 else "worse" if hi < 0 else "no clear difference"


def intervals_per_name(results: dict, seeds: list[int], metrics) -> dict:
    """results[name][seed][metric] -> {name: {metric: interval over the seeds}}."""
    return {name: {m: interval([per_seed[s][m] for s in seeds]) for m in metrics} for name, per_seed in results.items()}


def paired_interval(results: dict, a: str, b: str, seeds: list[int], metric: str) -> dict:
    """The interval of the per-seed differences `a - b` in `metric`."""
    return interval([results[a][s][metric] - results[b][s][metric] for s in seeds])


def finish(path: Path, summary: dict, t_start: float) -> None:
    """Stamps the wall time and load average on `summary`, writes it to `path` and prints its paired verdicts."""
    summary["wall_seconds"] = round(time.time() - t_start, 1)
    summary["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    from labelers.corpus.atomic import write_json

    write_json(path, summary)
    print(json.dumps(summary["paired"], indent=1))
