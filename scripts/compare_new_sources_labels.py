"""Label-level part of the new-sources comparison (issue 14), cheap enough for a shared 2-core CPU.

Per seed: a character teacher and a phone teacher (lexicon) trained on the `labeled` split with the
same settings and seed, their aligned `--source asr` labels; `rq` and MFCC k-means labels (K=100)
with that seed. Every label set is scored (PNMI, phone purity) against the reference phones of the
held-out splits (`valid,test`: the teachers never saw them). Writes OUT/label_comparison.json with
per-seed values, mean, sd, a 95% t-interval, and paired differences (phones - chars, rq - mfcc).

    python scripts/compare_new_sources_labels.py --out runs/new_sources_labels --seeds 1,2,3

Pre-training comparisons (ce vs ctc, and the pre-trained models) are in
conf/experiments/compare_new_sources.yaml (`bootstrap compare`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

PY = sys.executable


def run(*argv: str) -> None:
    t0 = time.time()
    subprocess.run([PY, "-m", *argv], check=True, stdout=subprocess.DEVNULL)
    print(f"  {' '.join(argv[:3])} ... {time.time() - t0:.0f} s", flush=True)


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


def quality(labels: Path, data: Path, splits: list[str]) -> dict:
    """Pooled over the held-out splits: PNMI and phone purity from the joint counts."""
    from labelers.corpus.label_store import LabelSet
    from labelers.corpus.split import open_split
    from labelers.quality import measure_quality

    ls = LabelSet.open(labels)
    lab, ph = [], []
    for s in splits:
        lab += ls.read(s, data)
        ph += open_split(data, s).phones()
    q = measure_quality(lab, ph, ls.label_rate, ls.num_classes)
    return {"pnmi": q["pnmi"], "phone_purity": q["phone_purity"], "utterances": q["utterances"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--data", help="corpus (default: OUT/corpus, the 10-minute synthetic demo corpus)")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--teacher-steps", type=int, default=400)
    p.add_argument("--only-teachers", action="store_true", help="only the two teachers' labels (e.g. another --teacher-steps)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data) if args.data else out / "corpus"
    if not (data / "train.tsv").is_file():
        from labelers.corpus.synth.generate import generate_corpus

        generate_corpus(data, minutes=10, seed=0, progress=False)
    score_splits = ["valid", "test"]
    label_splits = ",".join(["train", *score_splits])
    names = ("asr_chars", "asr_phones") if args.only_teachers else ("asr_chars", "asr_phones", "mfcc_km", "rq")
    results: dict[str, dict[int, dict]] = {k: {} for k in names}
    t_start = time.time()
    for seed in [int(s) for s in args.seeds.split(",")]:
        print(f"seed {seed}", flush=True)
        sd = out / f"seed{seed}"
        common = ["--data", str(data), "--split", "labeled", "--valid-split", "valid", "--threads", "1",
                  f"loop.seed={seed}", f"loop.max_steps={args.teacher_steps}", "loop.eval_every=0"]
        for name, extra in (("asr_chars", []), ("asr_phones", ["--units", "phones", "--phones-from", "lexicon"])):
            teacher = sd / f"teacher_{name}"
            if not (teacher / "asr_summary.json").is_file():
                run("bootstrap.cli", "train-asr", "--out", str(teacher), *common, *extra)
            labels = sd / name
            if not (labels / "labels.json").is_file():
                run("bootstrap.labels_cli", "--source", "asr", "--model", str(teacher), "--data", str(data),
                    "--splits", label_splits, "--out", str(labels), "--device", "cpu", "--no-progress", "--threads", "1")
            results[name][seed] = quality(labels, data, score_splits)
        for name, extra in () if args.only_teachers else (
                ("mfcc_km", ["--source", "mfcc", "--percent", "1", "--n-init", "5"]),
                ("rq", ["--source", "rq", "--percent", "1"])):
            labels = sd / name
            if not (labels / "labels.json").is_file():
                run("bootstrap.labels_cli", *extra, "--n-clusters", str(args.k), "--seed", str(seed), "--data",
                    str(data), "--splits", label_splits, "--out", str(labels), "--no-progress", "--threads", "1")
            results[name][seed] = quality(labels, data, score_splits)
        print({k: {m: round(v[seed][m], 4) for m in ("pnmi", "phone_purity")} for k, v in results.items()}, flush=True)

    seeds = sorted(results["asr_chars"])
    summary = {"corpus": str(data), "scored_on": score_splits, "k": args.k, "teacher_steps": args.teacher_steps,
               "seeds": seeds, "sources": {}, "paired": {}}
    for name, per_seed in results.items():
        summary["sources"][name] = {m: interval([per_seed[s][m] for s in seeds]) for m in ("pnmi", "phone_purity")}
    pairs = {"phones_minus_chars": ("asr_phones", "asr_chars"), "rq_minus_mfcc": ("rq", "mfcc_km")}
    for label, (a, b) in ((k, v) for k, v in pairs.items() if v[0] in results):
        d = interval([results[a][s]["pnmi"] - results[b][s]["pnmi"] for s in seeds])
        summary["paired"][label] = {"pnmi": d, "verdict": verdict(d)}
    summary["wall_seconds"] = round(time.time() - t_start, 1)
    summary["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    from labelers.corpus.atomic import write_json

    write_json(out / "label_comparison.json", summary)
    print(json.dumps(summary["paired"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
