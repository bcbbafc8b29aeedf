"""Per-seed statistics shared by the new-sources comparison scripts (issue 14): a 95% t-interval over
seeds, its verdict, and the end of a run (time and load stamped, JSON written, paired verdicts printed)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bootstrap.report.stats import summarize


def interval(xs: list[float]) -> dict:
    """The mean, sd and 95% t-interval over seeds of bootstrap.report.stats.summarize, rounded for the JSON."""
    s = summarize([float(x) for x in xs])
    nan = float("nan")
    sd, (low, high) = (s["std"], s["ci95"]) if s["n"] > 1 else (nan, (nan, nan))
    return {"values": [round(float(x), 4) for x in xs], "mean": round(s["mean"], 4), "sd": round(sd, 4),
            "ci95": [round(low, 4), round(high, 4)]}


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
