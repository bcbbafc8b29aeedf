"""Benchmark: seconds to synthesize a corpus of M minutes (espeak-ng, resampling, FLAC, labels).

    PYTHONPATH=. python scripts/bench_synth.py --minutes 5 --repeats 2

Prints one JSON line per run; the first includes process start-up (spawn + torch import).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from labelers.corpus.synth.generate import generate_corpus


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_synth_"))
    try:
        for r in range(args.repeats):
            start = time.perf_counter()
            info = generate_corpus(work / f"run{r}", minutes=args.minutes, seed=args.seed, progress=False)
            wall = time.perf_counter() - start
            audio_s = sum(s["seconds"] for n, s in info["splits"].items() if n != "labeled")
            print(json.dumps({"run": r, "minutes": round(audio_s / 60, 2), "wall_s": round(wall, 2),
                              "x_realtime": round(audio_s / wall, 1)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
