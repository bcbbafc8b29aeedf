"""Peak memory of pre-training start-up + 10 steps, for a manifest of N rows and of 100 N rows.

    python scripts/bench_label_memory.py --rows 2000 --factor 100

Rows point at a few distinct audio files (2-6 s, so the labels per row are LibriSpeech-like at 50 Hz,
k = 500); only the manifest and the label set grow. Each size runs `python -m pretrain` twice in a
fresh process: `cold` builds the memory-mapped label form from the `.km`, `warm` finds it built.
Reported: the peak RSS of the training process (ru_maxrss; DataLoader workers off, so it is one
process) and the growth from N to factor x N; and, in a separate process, the peak RSS that opening the
train split adds (labels, manifest, batch list), which isolates the part that scales with the manifest. Run it with PYTHONPATH pointing at another checkout to
measure that code (e.g. the list-of-arrays reader before the binary form).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import write_label_set
from labelers.corpus.manifest import Manifest, write_manifest

CHILD = """
import resource, sys, time
t = time.time()
from pretrain.__main__ import main
main(sys.argv[1:])
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "SECONDS", time.time() - t)
"""

# The data part alone: the peak RSS added by opening the train split (labels, manifest, batch list).
DATA_CHILD = """
import resource, sys
from pretrain.config import load_config
from pretrain.data import MaskParams, PretrainData
cfg = load_config(sys.argv[1], sys.argv[2:])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = PretrainData(cfg.data, cfg.data.train_split, MaskParams(), 0)
keys = data.batch_keys(0)
print("DATA_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, len(data.utts), len(keys))
"""


def make_corpus(root: Path, rows: int, distinct: int, k: int, seed: int = 0) -> None:
    """`train` with `rows` rows over `distinct` audio files, a 50-row `valid`, and labels for both."""
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    names, lengths = [], []
    for i in range(distinct):
        n = int(rng.uniform(2.0, 6.0) * 16000)
        sf.write(root / "audio" / f"{i:03d}.wav", (0.1 * rng.standard_normal(n)).astype(np.float32), 16000)
        names.append(f"audio/{i:03d}.wav")
        lengths.append(n)
    labels = [rng.integers(0, k, num_frames(n, 50)) for n in lengths]  # shared by every row of that file
    split_labels = {}
    for split, count in (("train", rows), ("valid", 50)):
        pick = [j % distinct for j in range(count)]
        write_manifest(root / f"{split}.tsv", Manifest(str(root), [names[j] for j in pick], [lengths[j] for j in pick]))
        split_labels[split] = [labels[j] for j in pick]
    write_label_set(root / "labels", root, split_labels, source="bench", label_rate=50,
                    symbols=[str(i) for i in range(k)])


def run_pretrain(root: Path, out: Path, steps: int, workers: int, config: str) -> dict:
    argv = ["--config", config, f"data.data_dir={root}", f"data.label_dirs=[{root / 'labels'}]",
            "data.batch_seconds=16", f"data.num_workers={workers}", "data.valid_max_batches=1",
            "model.size=tiny", f"loop.max_steps={steps}", "loop.eval_every=0", f"loop.save_every={steps}",
            "loop.log_every=5", "loop.trackers=", f"loop.output_dir={out}", "loop.resume=none"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # cwd: the corpus folder, so the children import the code on PYTHONPATH (or installed), never the
    # checkout the command was started from (Python puts the working folder first on sys.path for -c).
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, env=env, cwd=root)
    if proc.returncode != 0:
        sys.exit(f"pre-training failed:\n{proc.stderr[-3000:]}")
    fields = proc.stdout.split("PEAK_RSS_KB")[-1].split()
    result = {"peak_rss_mb": round(int(fields[0]) / 1024, 1), "seconds": round(float(fields[2]), 1)}
    proc = subprocess.run([sys.executable, "-c", DATA_CHILD, *argv[1:]], capture_output=True, text=True, env=env,
                          cwd=root)
    if proc.returncode != 0:
        sys.exit(f"opening the data failed:\n{proc.stderr[-3000:]}")
    result["data_rss_mb"] = round(int(proc.stdout.split("DATA_RSS_KB")[-1].split()[0]) / 1024, 1)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000, help="N: manifest rows of the small run")
    ap.add_argument("--factor", type=int, default=100, help="the large run has factor x N rows")
    ap.add_argument("--distinct", type=int, default=40, help="distinct audio files the rows point at")
    ap.add_argument("--classes", type=int, default=500)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers (0: one process to measure)")
    ap.add_argument("--config", default="tiny", help="pre-training config (a path, for a checkout without named configs)")
    ap.add_argument("--workdir", default="runs/bench_label_memory")
    ap.add_argument("--out", default=None, help="JSON results (default: WORKDIR/results.json)")
    args = ap.parse_args()
    work = Path(args.workdir).resolve()
    results = {"command": " ".join(sys.argv), "loadavg": Path("/proc/loadavg").read_text().split()[:3],
               "code": str(Path(__import__("pretrain").__file__).parent.parent), "runs": {}}
    for rows in (args.rows, args.rows * args.factor):
        root = work / f"rows{rows}"
        t = time.time()
        make_corpus(root, rows, args.distinct, args.classes)
        km_mb = (root / "labels" / "train.km").stat().st_size / 2**20
        entry = {"rows": rows, "km_mb": round(km_mb, 1), "make_seconds": round(time.time() - t, 1)}
        for phase in ("cold", "warm"):
            entry[phase] = run_pretrain(root, root / f"run_{phase}", args.steps, args.workers, args.config)
        binary = root / "labels" / "train.labels.bin"
        entry["labels_bin_mb"] = round(binary.stat().st_size / 2**20, 1) if binary.is_file() else None
        results["runs"][str(rows)] = entry
        print(json.dumps(entry), flush=True)
    small, large = (results["runs"][str(r)] for r in (args.rows, args.rows * args.factor))
    results["growth_mb"] = {p: round(large[p]["peak_rss_mb"] - small[p]["peak_rss_mb"], 1) for p in ("cold", "warm")}
    results["data_growth_mb"] = round(large["warm"]["data_rss_mb"] - small["warm"]["data_rss_mb"], 1)
    results["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    out = Path(args.out or work / "results.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"peak RSS growth from {args.rows} to {args.rows * args.factor} rows: cold {results['growth_mb']['cold']} MB, "
          f"warm {results['growth_mb']['warm']} MB; opening the split alone {results['data_growth_mb']} MB; {out}")


if __name__ == "__main__":
    main()
