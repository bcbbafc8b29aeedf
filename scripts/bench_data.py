"""Pre-training data loading: audio seconds per second that ONE DataLoader worker delivers.

    python scripts/bench_data.py --utterances 48 --seconds 20

One worker's work is `BatchBuilder[key]` for each batch: decode (FLAC or WAV), crop to the batch's
shortest / max_sample_size, labels cut at the same offset, span masks, collate into tensors. It is
timed here in the main process in CPU seconds (what one worker process does on its own core, without
the inter-process transfer), on
LibriSpeech-like utterances (10-16 s, Base recipe batch of 87.5 s, crops to 250,000 samples), and
split into decode alone and the rest. `--workers` also times the real DataLoader with that many
worker processes. Output: JSON with audio-s/s per format, and the workers per GPU needed for a
training step that consumes 2,200 audio-s/s (HuBERT Base on an H100 today) and 8,000 (the aim).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from labelers.corpus.audio import load_audio
from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import write_label_set
from labelers.corpus.manifest import Manifest, write_manifest
from pretrain.data import DataConfig, MaskParams, PretrainData

GPU_RATES = {"base_h100_today": 2200, "base_h100_aim": 8000}


def speech_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Voiced-looking audio (harmonics with a wandering pitch, syllable envelope, noise): compresses like speech."""
    t = np.arange(n) / 16000
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    wav = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)) ** 2
    return (0.08 * wav * envelope + 0.005 * rng.standard_normal(n)).astype(np.float32)


def make_corpus(root: Path, count: int, fmt: str, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rel, ns = [], []
    for i in range(count):
        n = int(rng.uniform(10.0, 16.0) * 16000)
        name = f"audio/{i:04d}.{fmt}"
        sf.write(root / name, speech_like(rng, n), 16000, subtype="PCM_16")
        rel.append(name)
        ns.append(n)
    write_manifest(root / "train.tsv", Manifest(str(root.resolve()), rel, ns))
    labels = [rng.integers(0, 500, num_frames(n, 50)) for n in ns]
    write_label_set(root / "labels", root, {"train": labels}, source="bench", label_rate=50,
                    symbols=[str(i) for i in range(500)])
    return root


def time_one_worker(data: PretrainData, seconds: float) -> dict:
    """Run the batch builder (a worker's whole job) in this process for about `seconds` of CPU time.

    CPU time, not wall time, is the figure: on a shared machine the wall clock also counts the time other
    processes held the core, and a DataLoader worker on a training node has its own core.
    """
    audio, cpu, wall, batches, epoch = 0.0, 0.0, 0.0, 0, 0
    while cpu < seconds:
        for key in data.batch_keys(epoch):
            t, c = time.perf_counter(), time.process_time()
            batch = data.builder[key]
            cpu += time.process_time() - c
            wall += time.perf_counter() - t
            audio += batch["audio_seconds"]
            batches += 1
            if cpu >= seconds:
                break
        epoch += 1
    return {"audio_s_per_cpu_s": round(audio / cpu, 1), "audio_s_per_wall_s": round(audio / wall, 1),
            "batches": batches, "cpu_seconds": round(cpu, 2)}


def time_decode(data: PretrainData, seconds: float) -> dict:
    """Decode alone, whole files (audio seconds of the files decoded per second)."""
    audio, cpu, j = 0.0, 0.0, 0
    while cpu < seconds:
        u = data.utts[j % len(data.utts)]
        c = time.process_time()
        wav = load_audio(u.path)
        cpu += time.process_time() - c
        audio += len(wav) / 16000
        j += 1
    return {"audio_s_per_cpu_s": round(audio / cpu, 1), "files": j}


def time_loader(data: PretrainData, workers: int, seconds: float) -> dict:
    data.cfg.num_workers = workers
    audio, batches, epoch = 0.0, 0, 0
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        for batch in data.loader(epoch):
            audio += batch["audio_seconds"]
            batches += 1
        epoch += 1
    elapsed = time.perf_counter() - t
    return {"workers": workers, "audio_s_per_wall_s": round(audio / elapsed, 1), "batches": batches}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--utterances", type=int, default=48)
    ap.add_argument("--seconds", type=float, default=20.0, help="timed seconds per measurement")
    ap.add_argument("--batch-seconds", type=float, default=87.5)
    ap.add_argument("--workers", type=int, nargs="*", default=[], help="also time the DataLoader with these worker counts")
    ap.add_argument("--formats", nargs="+", default=["flac", "wav"])
    ap.add_argument("--workdir", default="runs/bench_data")
    args = ap.parse_args()
    torch.set_num_threads(1)  # a worker process is single-threaded
    work = Path(args.workdir)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    results = {"command": " ".join(sys.argv), "loadavg_start": load_before, "formats": {}}
    for fmt in args.formats:
        root = work / fmt
        if not (root / "labels" / "labels.json").is_file():
            make_corpus(root, args.utterances, fmt)
        cfg = DataConfig(data_dir=str(root), train_split="train", valid_split="", label_dirs=[str(root / "labels")],
                         batch_seconds=args.batch_seconds, min_sample_size=32000, max_sample_size=250000, num_workers=0)
        data = PretrainData(cfg, "train", MaskParams(), seed=0)
        entry = {"one_worker": time_one_worker(data, args.seconds), "decode_only": time_decode(data, args.seconds / 2),
                 "loader": [time_loader(data, w, args.seconds) for w in args.workers]}
        for name, rate in GPU_RATES.items():
            entry[f"workers_per_gpu_{name}"] = math.ceil(rate / entry["one_worker"]["audio_s_per_cpu_s"])
        results["formats"][fmt] = entry
        print(fmt, json.dumps(entry), flush=True)
    results["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"load average {' '.join(load_before)} -> {' '.join(results['loadavg_end'])}; {work / 'results.json'}")


if __name__ == "__main__":
    main()
