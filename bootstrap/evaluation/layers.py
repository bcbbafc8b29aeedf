"""Per-layer evaluation of a pre-trained encoder: k-means PNMI/purity and linear-probe phone accuracy."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from labelers.corpus.split import open_split

from labelers.corpus.batching import iter_audio_batches
from labelers.corpus.frames import SAMPLE_RATE, hop_for_rate, nearest_frames, num_frames
from labelers.features_model import ModelFeatures

from bootstrap.evaluation.clusters import fit_assign, label_quality
from bootstrap.evaluation.phone_frames import PhoneInventory, phones_at_rate
from bootstrap.evaluation.probe import train_linear_probe


@dataclass
class EvalSettings:
    train_split: str = "train"
    eval_split: str = "valid"
    k: int = 100
    layers: str = "all"              # "all", "6", "1,6,12", "4-8"
    # Features of every layer are held in memory (float16): Base, 13 hidden states x 768 dims, costs
    # ~0.6 GB per 10 minutes of audio. Utterances are sampled (seeded) up to these totals.
    max_train_seconds: float = 1800.0
    max_eval_seconds: float = 900.0
    kmeans_max_frames: int = 200_000   # frames k-means is fitted on (sampled from the train features)
    kmeans_n_init: int = 3
    batch_seconds: float = 100.0       # audio per forward pass
    device: str | None = None          # default: cuda when available
    probe_epochs: int = 10
    probe_lr: float = 2e-3
    seed: int = 0
    # Score frames at this rate (Hz) instead of the model's own: a coarser model's frames are repeated by
    # frame centre, so encoders of different frame rates (fastconformer's 80 ms) meet the same phone frames.
    score_rate: float | None = None


def parse_layers(spec: str, num_layers: int) -> list[int]:
    """'all' -> 0..L; '6' -> [6]; '1,6,12'; '4-8' (inclusive). Index 0 is the transformer input."""
    spec = str(spec).strip().lower()
    if spec == "all":
        return list(range(num_layers))
    out: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    bad = [x for x in out if not 0 <= x < num_layers]
    if bad:
        raise ValueError(f"layers {bad} out of range: the model has hidden states 0..{num_layers - 1}")
    return sorted(set(out))


def _sample_rows(num_samples: list[int], max_seconds: float, seed: int) -> list[int]:
    """A seeded random subset of rows totalling at most `max_seconds` (all rows when they fit), in manifest order."""
    order = list(range(len(num_samples)))
    if sum(num_samples) <= max_seconds * SAMPLE_RATE:
        return order
    random.Random(seed).shuffle(order)
    keep, total = [], 0
    for i in order:
        if total + num_samples[i] > max_seconds * SAMPLE_RATE and keep:
            continue
        keep.append(i)
        total += num_samples[i]
    return sorted(keep)


def _retime(n_native: int, num_samples: int, native_rate: float, score_rate: float | None) -> np.ndarray | None:
    """Indices that bring `n_native` frames to `score_rate` by frame centre (None: keep them as they are)."""
    if score_rate is None or abs(score_rate - native_rate) < 1e-9:
        return None
    want = num_frames(num_samples, score_rate)
    return np.minimum(nearest_frames(want, score_rate, native_rate), max(n_native - 1, 0))


def _split_frames(extractor, data_dir, split: str, max_seconds: float, seed: int, batch_seconds: float,
                  score_rate: float | None = None):
    """Every requested layer's features (one forward pass per batch) and the frame-aligned phones."""
    sp = open_split(data_dir, split)
    if not sp.has("phn"):
        raise FileNotFoundError(f"{sp.side_path('phn')}: evaluation needs reference phones for split '{split}'")
    manifest, phones = sp.manifest(), sp.phones()
    rows = _sample_rows(manifest.num_samples, max_seconds, seed)
    feats: dict[int, list[np.ndarray]] = {layer: [] for layer in extractor.layers}
    frame_phones, skipped, seconds = [], [], 0.0
    bar = tqdm(total=sum(manifest.num_samples[i] for i in rows) / SAMPLE_RATE, unit="audio-s", desc=f"{split} features",
               leave=False, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} audio-s [{elapsed}<{remaining}]")
    for batch in iter_audio_batches(manifest, rows, batch_seconds, rate=extractor.rate):
        skipped += [{"utt": manifest.utt_id(i), "reason": s.reason} for i, s in batch.skips.items()]
        out = extractor.extract_layers(batch.wavs) if batch.wavs else {}
        for j, i in enumerate(batch.indices):
            n = out[extractor.layers[0]][j].shape[0]
            idx = _retime(n, manifest.num_samples[i], extractor.rate, score_rate)
            hop = extractor.hop if idx is None else hop_for_rate(score_rate)
            frame_phones.append(phones_at_rate(np.array(phones[i]), manifest.num_samples[i],
                                               n if idx is None else len(idx), hop, manifest.utt_id(i)))
            for layer in extractor.layers:
                x = out[layer][j].float().cpu().numpy().astype(np.float16)  # half the memory
                feats[layer].append(x if idx is None else x[idx])
            seconds += manifest.num_samples[i] / SAMPLE_RATE
        bar.update(sum(manifest.num_samples[i] for i in batch.indices + list(batch.skips)) / SAMPLE_RATE)
    bar.close()
    return feats, frame_phones, {"utterances": len(frame_phones), "seconds": round(seconds, 2), "skipped": skipped}


def evaluate_layers(model_dir: str | os.PathLike | None, data_dir: str | os.PathLike, s: EvalSettings,
                    extractor=None) -> dict:
    """Scores of a model's layers, or of `extractor`'s (e.g. the input MFCC frames) when one is given."""
    t0 = time.time()
    if extractor is None:
        from transformers import AutoConfig

        num_hidden = AutoConfig.from_pretrained(model_dir).num_hidden_layers + 1
        layers = parse_layers(s.layers, num_hidden)
        extractor = ModelFeatures(model_dir, layers, device=s.device)
    else:
        layers, num_hidden = list(extractor.layers), len(extractor.layers)
    tr_feats, tr_phones, tr_info = _split_frames(extractor, data_dir, s.train_split, s.max_train_seconds, s.seed,
                                                 s.batch_seconds, s.score_rate)
    ev_feats, ev_phones, ev_info = _split_frames(extractor, data_dir, s.eval_split, s.max_eval_seconds, s.seed,
                                                 s.batch_seconds, s.score_rate)
    if not tr_phones or not ev_phones:
        raise ValueError(f"{data_dir}: no usable utterances in '{s.train_split}' or '{s.eval_split}'")
    probe_inv = PhoneInventory().fit(tr_phones)
    all_inv = PhoneInventory().fit(tr_phones).fit(ev_phones)
    y_tr = np.concatenate([probe_inv.encode(p) for p in tr_phones])
    y_ev_probe = np.concatenate([probe_inv.encode(p) for p in ev_phones])
    y_ev_all = np.concatenate([all_inv.encode(p) for p in ev_phones])
    rng = np.random.default_rng(s.seed)
    km_rows = None
    if len(y_tr) > s.kmeans_max_frames:
        km_rows = np.sort(rng.choice(len(y_tr), s.kmeans_max_frames, replace=False))
    results = []
    for layer in tqdm(layers, desc="layers", unit="layer"):
        x_tr = np.concatenate(tr_feats.pop(layer)).astype(np.float32)  # popped: memory is freed layer by layer
        x_ev = np.concatenate(ev_feats.pop(layer)).astype(np.float32)
        labels, km_info = fit_assign(x_tr if km_rows is None else x_tr[km_rows], x_ev, s.k, s.seed, s.kmeans_n_init)
        quality = label_quality(y_ev_all, labels, len(all_inv), km_info["k"])
        probe = train_linear_probe(x_tr, y_tr, x_ev, y_ev_probe, len(probe_inv), epochs=s.probe_epochs,
                                   lr=s.probe_lr, seed=s.seed)
        results.append({"layer": layer, **quality, "kmeans_k": km_info["k"],
                        "kmeans_inertia_per_frame": km_info["inertia_per_frame"], **probe})
    best_probe = max(results, key=lambda r: r["probe_accuracy"])
    best_pnmi = max(results, key=lambda r: r["pnmi"])
    return {
        "model": str(model_dir) if model_dir is not None else f"input features ({extractor.name})",
        "data_dir": str(data_dir), "settings": dict(vars(s)),
        "frame_rate": SAMPLE_RATE / extractor.hop, "score_rate": s.score_rate or SAMPLE_RATE / extractor.hop,
        "num_hidden_states": num_hidden,
        "train": {**tr_info, "frames": int(len(y_tr))}, "eval": {**ev_info, "frames": int(len(y_ev_all))},
        "phones": {"train_inventory": len(probe_inv), "eval_inventory": len(all_inv),
                   "chance_accuracy": float(np.bincount(y_ev_probe[y_ev_probe >= 0]).max() / len(y_ev_probe))},
        "layers": results,
        "best": {"probe_layer": best_probe["layer"], "probe_accuracy": best_probe["probe_accuracy"],
                 "pnmi_layer": best_pnmi["layer"], "pnmi": best_pnmi["pnmi"]},
        "seconds": round(time.time() - t0, 2),
    }
