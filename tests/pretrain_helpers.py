"""A small corpus of tone sequences with matching label sets, for pre-training tests.

Each utterance cycles through K tones in a fixed order with random segment durations, so a masked
frame's class is predictable from its context; labels are the tone index at 100 Hz (or 50 Hz).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import write_label_set
from labelers.corpus.manifest import Manifest, write_manifest

K = 6
FREQS = [300.0 * (1.35**k) for k in range(K)]


def tone_utterance(rng: np.random.Generator, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(wav, per-sample tone index)."""
    n = int(seconds * 16000)
    cls = np.empty(n, dtype=np.int64)
    pos, k = 0, int(rng.integers(K))
    while pos < n:
        d = int(rng.integers(1200, 3200))  # 75-200 ms segments
        cls[pos : pos + d] = k
        pos += d
        k = (k + 1) % K
    freq = np.asarray(FREQS)[cls]
    phase = 2 * np.pi * np.cumsum(freq) / 16000
    wav = 0.3 * np.sin(phase) + 0.01 * rng.standard_normal(n)
    return wav.astype(np.float32), cls


def labels_at(cls: np.ndarray, rate: int) -> np.ndarray:
    hop = 16000 // rate
    m = num_frames(len(cls), rate)
    return cls[np.arange(m) * hop + 200]  # label of each frame's centre


def make_tone_corpus(root: Path, sizes=None, seed=0) -> Path:
    """Corpus folder with train/valid splits of tone utterances; returns it. Class ids per sample saved."""
    sizes = sizes or {"train": (48, 2.0, 4.0), "valid": (8, 2.0, 3.0)}
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for split, (count, lo, hi) in sizes.items():
        rel, ns, classes = [], [], []
        for i in range(count):
            wav, cls = tone_utterance(rng, float(rng.uniform(lo, hi)))
            name = f"{split}/{i:04d}.wav"
            (root / split).mkdir(exist_ok=True)
            sf.write(root / name, wav, 16000)
            rel.append(name)
            ns.append(len(wav))
            classes.append(cls)
        write_manifest(root / f"{split}.tsv", Manifest(str(root), rel, ns))
        np.save(root / f"{split}.classes.npy", np.array(classes, dtype=object), allow_pickle=True)
    return root


def write_tone_labels(corpus: Path, out: Path, rate: int = 100, splits=("train", "valid"), shift: int = 0):
    split_labels = {}
    for split in splits:
        classes = np.load(corpus / f"{split}.classes.npy", allow_pickle=True)
        split_labels[split] = [(labels_at(c, rate) + shift) % K for c in classes]
    return write_label_set(out, corpus, split_labels, source="tones", label_rate=rate, symbols=[str(i) for i in range(K)])


def tone_corpus_with_labels(root: Path, sizes) -> Path:
    """`root/corpus` (tone utterances, `sizes` as in make_tone_corpus) with 100 Hz labels in `root/l100`."""
    corpus = make_tone_corpus(root / "corpus", sizes)
    write_tone_labels(corpus, root / "l100", rate=100)
    return root
