"""Numbers over seeds: mean, standard deviation, a 95% t-interval, and a paired verdict between two models.

The verdict test (documented in docs/pipeline.md, "Seeds, intervals and verdicts"): for two models run
with the same seeds, take the per-seed differences d_s = a_s - b_s and their 95% t-interval
mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n). If the interval lies entirely on the good side of zero the
verdict is `better`, entirely on the bad side `worse`, otherwise (or with fewer than 2 common seeds)
`no clear difference`. Seeds pair the runs: seed s of every model shares its corpus split, its k-means
and probe seeds, and its fine-tuning seed.
"""

from __future__ import annotations

import math

VERDICTS = ("better", "worse", "no clear difference")
LOWER_IS_BETTER = {"cer", "wer", "loss_m", "loss_u"}


def t_quantile(df: int, q: float = 0.975) -> float:
    from scipy.stats import t

    return float(t.ppf(q, df))


def summarize(per_seed: list[float | None]) -> dict:
    """{per_seed, n, mean, std, ci95}; None entries (a metric a seed could not give) are left out of the
    statistics but kept in `per_seed`. std is the sample standard deviation (n-1); with one value std is
    0.0 and the interval is that value (no spread can be estimated: say so, do not invent one)."""
    values = [float(v) for v in per_seed if v is not None and not math.isnan(v)]
    out = {"per_seed": list(per_seed), "n": len(values), "mean": None, "std": None, "ci95": None}
    if not values:
        return out
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    half = t_quantile(n - 1) * std / math.sqrt(n) if n > 1 else 0.0
    out.update(mean=mean, std=std, ci95=[mean - half, mean + half])
    return out


def paired_verdict(a: dict, b: dict, metric: str) -> dict:
    """Is model `a` better than model `b` on `metric`? `a` and `b` map seed -> value.

    Returns {"verdict", "difference": summarize(a_s - b_s), "seeds", "test"}; the difference is a minus b
    (for CER a negative difference is an improvement)."""
    seeds = [s for s in a if s in b and a[s] is not None and b[s] is not None]
    diff = summarize([a[s] - b[s] for s in seeds])
    verdict = "no clear difference"
    if diff["n"] >= 2 and diff["std"] is not None:
        low, high = diff["ci95"]
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        if diff["std"] == 0.0:  # identical differences on every seed: the interval is a point
            low = high = diff["mean"]
        if sign * low > 0 and sign * high > 0:
            verdict = "better"
        elif sign * low < 0 and sign * high < 0:
            verdict = "worse"
    return {"verdict": verdict, "difference": diff, "seeds": seeds,
            "test": "paired t-interval (95%) of per-seed differences excludes 0"}


def format_mean_std(stat: dict | None, pct: bool = False, digits: int = 3) -> str:
    """'0.412 ± 0.013' (or '41.2 ± 1.3%'); 'n/a' when there is no value."""
    if not stat or stat.get("mean") is None:
        return "n/a"
    scale, unit = (100.0, "%") if pct else (1.0, "")
    d = 1 if pct else digits
    if stat["n"] < 2:
        return f"{scale * stat['mean']:.{d}f}{unit}"
    return f"{scale * stat['mean']:.{d}f} ± {scale * stat['std']:.{d}f}{unit}"
