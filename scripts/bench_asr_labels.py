"""Throughput of ASR labelling, inference and alignment measured separately (audio seconds per wall second).

A Base-size Wav2Vec2ForCTC built from its default config (random weights: speed does not depend on
them; no network needed) labels random utterances of 4-16 s with transcripts of ~15 characters per
second (LibriSpeech-like). Three timings:
  - inference: `CTCModel.log_posteriors` (batched, sorted by length, chunked beyond --chunk-seconds);
  - alignment: ctc-segmentation of each transcript + span split + targets at 50 Hz (`hold`);
  - best path: greedy spans + targets (the no-transcript route).
Prints one JSON line. Examples:
  python scripts/bench_asr_labels.py --seconds 120
  python scripts/bench_asr_labels.py --device cuda --dtype bf16 --seconds 1200
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import string
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from labelers.ctc_posteriors import CTCModel  # noqa: E402
from labelers.corpus.frames import SAMPLE_RATE  # noqa: E402
from labelers.ctc_targets import align_transcript, best_path_spans, frame_targets  # noqa: E402

CHARS = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list(string.ascii_uppercase) + ["'"]


def build_model(device: str, dtype: str) -> CTCModel:
    from transformers import Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    folder = tempfile.mkdtemp(prefix="bench_asr_")
    vocab = os.path.join(folder, "vocab.json")
    with open(vocab, "w") as f:
        json.dump({c: i for i, c in enumerate(CHARS)}, f)
    tok = Wav2Vec2CTCTokenizer(vocab, unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")
    torch.manual_seed(0)
    model = Wav2Vec2ForCTC(Wav2Vec2Config(vocab_size=len(CHARS), pad_token_id=0))  # Base: 12 x 768, group norm
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, do_normalize=True, return_attention_mask=False)
    return CTCModel(model, fe, tok, name="wav2vec2-base-random", device=device, dtype=dtype)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    p.add_argument("--seconds", type=float, default=120.0, help="total audio to label")
    p.add_argument("--batch-seconds", type=float, default=160.0)
    p.add_argument("--chunk-seconds", type=float, default=30.0)
    p.add_argument("--chars-per-second", type=float, default=15.0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--align-workers", type=int, default=0,
                   help="also time alignment in a pool of this many processes (what the labeler does on GPU)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    model = build_model(args.device, args.dtype)
    wavs, texts, total = [], [], 0.0
    while total < args.seconds:
        sec = float(rng.uniform(4, 16))
        wavs.append((0.1 * rng.standard_normal(int(sec * SAMPLE_RATE))).astype(np.float32))
        letters = rng.choice(list(string.ascii_uppercase) + [" "] * 5, size=int(sec * args.chars_per_second))
        texts.append("".join(letters))
        total += sec
    model.log_posteriors(wavs[:2], batch_seconds=args.batch_seconds)  # warm-up (allocator, kernels)
    if model.device.type == "cuda":
        torch.cuda.synchronize()

    t = time.perf_counter()
    post = model.log_posteriors(wavs, batch_seconds=args.batch_seconds, chunk_seconds=args.chunk_seconds)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    t_infer = time.perf_counter() - t

    from labelers.ctc_targets import TranscriptEncoder

    enc = TranscriptEncoder(model.vocab, model.blank_id, model.word_delimiter, model.tokenizer)
    g = model.geometry
    align_transcript(post[0], enc.encode(texts[0]).ids, model.blank_id, model.vocab, g.frame_seconds)  # warm-up
    t = time.perf_counter()
    for w, lp, text in zip(wavs, post, texts):
        al = align_transcript(lp, enc.encode(text).ids, model.blank_id, model.vocab, g.frame_seconds)
        frame_targets(al.spans, len(w), frame_seconds=g.frame_seconds, offset_seconds=g.offset_seconds,
                      label_rate=50, blank_policy="hold", blank_id=model.blank_id)
    t_align = time.perf_counter() - t

    pooled = None
    if args.align_workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        from labelers.ctc_targets import utterance_targets

        params = {"blank_id": model.blank_id, "vocab": model.vocab, "frame_seconds": g.frame_seconds,
                  "offset_seconds": g.offset_seconds, "window": 30, "label_rate": 50, "blank": "hold",
                  "unalignable": "skip", "min_confidence": None}
        ids = [enc.encode(text).ids for text in texts]
        with ProcessPoolExecutor(args.align_workers, mp_context=mp.get_context("spawn")) as pool:
            list(pool.map(utterance_targets, post[:1], ids[:1], [len(wavs[0])], [params]))  # start the workers
            t = time.perf_counter()
            list(pool.map(utterance_targets, post, ids, [len(w) for w in wavs], [params] * len(wavs),
                          chunksize=max(1, len(wavs) // (4 * args.align_workers))))
            pooled = time.perf_counter() - t

    t = time.perf_counter()
    for w, lp in zip(wavs, post):
        spans = best_path_spans(lp, model.blank_id)
        if len(spans):
            frame_targets(spans, len(w), frame_seconds=g.frame_seconds, offset_seconds=g.offset_seconds,
                          label_rate=50, blank_policy="hold", blank_id=model.blank_id)
    t_best = time.perf_counter() - t

    out = {
        "model": "Wav2Vec2ForCTC Base (default config, random weights)",
        "params_M": round(sum(p.numel() for p in model.model.parameters()) / 1e6, 1),
        "device": str(model.device),
        "device_name": torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else platform.processor() or "cpu",
        "dtype": model.dtype,
        "threads": torch.get_num_threads(),
        "utterances": len(wavs),
        "audio_seconds": round(total, 1),
        "batch_seconds": args.batch_seconds,
        "inference_s": round(t_infer, 2),
        "inference_audio_s_per_s": round(total / t_infer, 1),
        "alignment_s": round(t_align, 2),
        "alignment_audio_s_per_s": round(total / t_align, 1),
        "best_path_audio_s_per_s": round(total / t_best, 1),
        "align_workers": args.align_workers,
        "alignment_pooled_audio_s_per_s": round(total / pooled, 1) if pooled else None,
        "alignment_share_of_total": round((pooled or t_align) / ((pooled or t_align) + t_infer), 3),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
