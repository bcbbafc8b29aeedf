"""A tiny corpus with phone-like structure and exact 100 Hz reference phones, for label tests.

Each "phone" is a fixed pair of formant-like tones plus noise; utterances are random phone strings
with random durations. Used until/unless the synthetic espeak corpus (`synth_corpus`) is available.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from labelers.corpus.frames import num_frames
from labelers.corpus.manifest import Manifest, write_manifest, write_side_file

PHONES = {"a": (700, 1200), "i": (300, 2300), "u": (320, 800), "s": (5000, 6500), "m": (250, 1000), "sil": (0, 0)}


def make_phone_corpus(root: Path, splits=(("train", 24), ("valid", 8)), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    names = list(PHONES)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    for split, n in splits:
        rel, ns, phn, wrd = [], [], [], []
        for u in range(n):
            segs = [("sil", int(rng.integers(800, 2400)))]
            for _ in range(int(rng.integers(6, 14))):
                segs.append((names[int(rng.integers(0, len(names) - 1))], int(rng.integers(800, 2400))))
            segs.append(("sil", int(rng.integers(800, 2400))))
            wav, owner = [], []
            for p, dur in segs:
                t = np.arange(dur) / 16000
                f1, f2 = PHONES[p]
                x = 0.3 * np.sin(2 * np.pi * f1 * t) + 0.2 * np.sin(2 * np.pi * f2 * t) if f1 else np.zeros(dur)
                wav.append(x + 0.01 * rng.standard_normal(dur))
                owner += [p] * dur
            wav = np.concatenate(wav).astype(np.float32)
            path = f"wav/{split}_{u:03d}.flac"
            sf.write(root / path, wav, 16000)
            T = num_frames(len(wav), 100)
            phn.append(" ".join(owner[160 * t + 200] for t in range(T)))
            rel.append(path)
            ns.append(len(wav))
            wrd.append(" ".join(p.upper() for p, _ in segs if p != "sil"))
        write_manifest(root / f"{split}.tsv", Manifest(str(root), rel, ns))
        write_side_file(root / f"{split}.phn", phn)
        write_side_file(root / f"{split}.wrd", wrd)
    return root
