"""Peak memory and speed of resampling to 16 kHz, per input rate: this project's `resample` versus
`torchaudio.functional.resample`. Each measurement runs in a fresh process (max RSS of that process,
minus the RSS after imports, so the figure is what resampling itself costs).

    PYTHONPATH=. python scripts/bench_resample.py [--seconds 10] [--rates 22050,44100,48000,44056,22254,191999]

torchaudio is skipped where its dense kernel would need more than --max-kernel-gb (it builds
new x (orig + 2 width) floats after dividing both rates by their gcd: 191,999 Hz -> 12 GB).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(1)
import torchaudio.functional as AF
from labelers.corpus.audio import resample
method, sr, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(int(sr * seconds)) / sr)).astype(np.float32)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if method == "project":
    y = resample(x, sr, 16000)
else:
    y = AF.resample(torch.from_numpy(x), sr, 16000).numpy()
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"extra_mib": (peak - base) / 1024, "seconds": dt, "out": len(y)}))
"""


def dense_kernel_gb(sr: int) -> float:
    g = math.gcd(sr, 16000)
    orig, new = sr // g, 16000 // g
    width = math.ceil(6 * orig / (min(orig, new) * 0.99))
    return new * (orig + 2 * width) * 4 / 1e9


def measure(method: str, sr: int, seconds: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD, method, str(sr), str(seconds)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--rates", default="22050,44100,48000,44056,22254,191999")
    ap.add_argument("--max-kernel-gb", type=float, default=2.0)
    args = ap.parse_args()
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}; {args.seconds} s of audio per rate")
    print("| input rate | dense kernel | project: extra MiB | project: s | torchaudio: extra MiB | torchaudio: s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for sr in [int(r) for r in args.rates.split(",")]:
        p = measure("project", sr, args.seconds)
        gb = dense_kernel_gb(sr)
        if gb <= args.max_kernel_gb:
            t = measure("torchaudio", sr, args.seconds)
            ta = f"{t['extra_mib']:.0f} | {t['seconds']:.2f}"
        else:
            ta = "skipped (kernel too large) | -"
        print(f"| {sr} | {gb * 1000:.1f} MB | {p['extra_mib']:.0f} | {p['seconds']:.2f} | {ta} |", flush=True)


if __name__ == "__main__":
    main()
