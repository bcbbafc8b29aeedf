"""GPU check of the k-means label sources (run on a machine with CUDA; prints JSON lines).

    PYTHONPATH=.:tests python scripts/check_labels_gpu.py --work /tmp/gpu_labels

- MFCC k-means labels assigned on the GPU equal the CPU ones;
- model features on the GPU match the CPU ones, frame counts exact; hubert route fit + label on GPU;
- feature throughput of a HuBERT Base-sized encoder (random weights, built from a config) on GPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from labelers.corpus.frames import SAMPLE_RATE  # noqa: E402


def report(**kw):
    print(json.dumps(kw), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--work", type=Path, default=Path("/tmp/gpu_labels"))
    p.add_argument("--base-seconds", type=float, default=600.0, help="audio for the Base-size throughput run")
    p.add_argument("--allow-cpu", action="store_true", help="dry run of this script without a GPU")
    args = p.parse_args()
    gpu = "cuda" if torch.cuda.is_available() else "cpu"
    assert gpu == "cuda" or args.allow_cpu, "no CUDA device"
    from phone_corpus import make_phone_corpus
    from transformers import HubertConfig, HubertModel

    from labelers.features_mfcc import MfccFeatures
    from labelers.features_model import ModelFeatures
    from labelers.corpus.frames import num_frames
    from labelers.kmeans import KMeansLabeler, fit_kmeans
    from labelers.corpus.label_store import LabelSet
    from labelers.labeling_run import label_corpus

    shutil.rmtree(args.work, ignore_errors=True)
    data = make_phone_corpus(args.work / "data")
    report(device=torch.cuda.get_device_name(0) if gpu == "cuda" else "cpu", torch=torch.__version__)

    km = fit_kmeans(MfccFeatures(), data, "train", 16, args.work / "km", percent=1.0, n_init=3, device=gpu,
                    progress=False, verbose=False)
    for dev in ("cpu", gpu):
        label_corpus(KMeansLabeler(MfccFeatures(), km, dev), data, ["valid"], args.work / f"mfcc_{dev}",
                     progress=False, verbose=False)
    a = LabelSet.open(args.work / "mfcc_cpu").read("valid", data)
    b = LabelSet.open(args.work / f"mfcc_{gpu}").read("valid", data)
    report(check="mfcc labels cuda == cpu", agree=float(np.mean(np.concatenate([x == y for x, y in zip(a, b)]))))

    torch.manual_seed(0)
    tiny = HubertModel(HubertConfig(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128,
                                    conv_dim=(64,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                                    feat_extract_norm="layer", do_stable_layer_norm=True, mask_time_prob=0.05))
    tiny.save_pretrained(args.work / "tiny")
    rng = np.random.default_rng(0)
    wavs = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (SAMPLE_RATE * 75 + 77, SAMPLE_RATE * 3, 1234)]
    fc = ModelFeatures(args.work / "tiny", [2, 4], device="cpu", chunk_seconds=30).extract_layers(wavs)
    fg = ModelFeatures(args.work / "tiny", [2, 4], device=gpu, chunk_seconds=30).extract_layers(wavs)
    diffs = {L: max(float((x - y.cpu()).abs().max()) for x, y in zip(fc[L], fg[L])) for L in (2, 4)}
    frames_ok = all(x.shape[0] == num_frames(len(w), 50) for x, w in zip(fg[2], wavs))
    report(check="model features cuda vs cpu", max_abs_diff=diffs, frames_exact=frames_ok)

    from bootstrap.labels_cli import main as cli

    rc = cli(["--source", "hubert", "--model", str(args.work / "tiny"), "--layer", "3", "--data", str(data),
              "--splits", "train,valid", "--n-clusters", "12", "--percent", "0.5", "--n-init", "2",
              "--out", str(args.work / "hub"), "--no-progress"])
    ls = LabelSet.open(args.work / "hub")
    report(check="hubert route on GPU", rc=rc, model=ls.info["origin"]["features"].get("model"),
           rate=ls.label_rate, counts=ls.info["counts"])

    # HuBERT Base geometry (12 x 768, group-norm conv), random weights: GPU feature throughput.
    base = HubertModel(HubertConfig(mask_time_prob=0.05))
    base.save_pretrained(args.work / "base")
    feats = ModelFeatures(args.work / "base", [6, 9, 12], device=gpu)
    n_utt = int(args.base_seconds / 12)
    base_wavs = [(0.1 * rng.standard_normal(SAMPLE_RATE * 12)).astype(np.float32) for _ in range(n_utt)]
    feats.extract_layers(base_wavs[:4])
    sync = torch.cuda.synchronize if gpu == "cuda" else (lambda: None)
    sync()
    t = time.perf_counter()
    for i in range(0, n_utt, 8):
        feats.extract_layers(base_wavs[i : i + 8])
    sync()
    s = time.perf_counter() - t
    report(check="Base-size features, layers 6/9/12, fp32, 12 s utterances, batch 8", audio_seconds=12 * n_utt,
           seconds=s, realtime=12 * n_utt / s)


if __name__ == "__main__":
    main()
