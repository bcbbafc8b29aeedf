"""Write a synthetic corpus: 16 kHz FLAC audio + train/valid/test/labeled manifests, transcripts, phones.

Layout of OUT:
    corpus.json                         summary: seed, voices, phone inventory, per-split counts
    {split}.tsv .wrd .ltr .phn          for split in train, valid, test, labeled
    audio/{split}/{voice}/{utt}.flac    one folder per voice ("speaker"); `labeled` rows point at
                                        train files (it is a subset of train)

Determinism: espeak-ng carries waveform-generator state from one call to the next (the same text
twice in one process differs by a few samples), so the whole corpus is synthesized in a fresh
process, in a fixed order, and every random choice comes from the seed. Same seed and minutes ->
byte-identical FLAC files and label files (the manifests' first line, the audio root, is the
output folder).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from labelers.corpus.atomic import write_json
from labelers.corpus.frames import SAMPLE_RATE
from labelers.corpus.split import PHONE_RATE
from labelers.corpus.manifest import Manifest, write_manifest, write_side_file, words_to_letters
from labelers.corpus.synth.espeak import require_espeak
from labelers.corpus.synth.phones import PHONE_SET, frame_labels, segments_from_events, shift_segments
from labelers.corpus.synth.sentences import SentenceGenerator
from labelers.corpus.synth.voices import VOICES, Prosody, sample_prosody, voice_dir

GENERATOR_VERSION = 1
SPLIT_FRACTIONS = {"train": 0.8, "valid": 0.1, "test": 0.1}
LABELED_FRACTION = 0.55  # of train's duration, for the ASR teacher
LEAD_SILENCE_S = (0.05, 0.35)
TAIL_SILENCE_S = (0.05, 0.35)
PEAK = (0.3, 0.9)
NOISE_DBFS = (-72.0, -58.0)  # RMS of a faint background hiss, so silence is not digital zero


@dataclass
class Utterance:
    relpath: str
    words: tuple[str, ...]
    phones: list[str]  # one per 10 ms frame
    num_samples: int
    voice: str


def render(engine, text: str, prosody: Prosody, rng: np.random.Generator, synth_seed: int = 0):
    """Synthesize `text`, resample to 16 kHz, add padding, gain and hiss.
    Returns (float32 audio in [-1, 1], phone segments in seconds covering the audio)."""
    from labelers.corpus.audio import resample

    syn = engine.synthesize(text, prosody.voice, prosody.rate, prosody.pitch, prosody.pitch_range, synth_seed)
    if not syn.phonemes or syn.samples.size == 0:
        raise RuntimeError(f"espeak-ng produced no speech for {text!r} ({prosody})")
    segments = segments_from_events(syn.phonemes, len(syn.samples), syn.sample_rate)
    speech = resample(syn.samples.astype(np.float32) / 32768.0, syn.sample_rate, SAMPLE_RATE)
    lead = int(round(rng.uniform(*LEAD_SILENCE_S) * SAMPLE_RATE))
    tail = int(round(rng.uniform(*TAIL_SILENCE_S) * SAMPLE_RATE))
    speech = speech * (rng.uniform(*PEAK) / max(float(np.abs(speech).max()), 1e-6))
    audio = np.concatenate([np.zeros(lead, np.float32), speech.astype(np.float32), np.zeros(tail, np.float32)])
    noise_rms = 10 ** (rng.uniform(*NOISE_DBFS) / 20)
    audio = np.clip(audio + rng.normal(0.0, noise_rms, audio.shape).astype(np.float32), -1.0, 1.0)
    segments = shift_segments(segments, lead / SAMPLE_RATE, len(audio) / SAMPLE_RATE)
    return audio, segments


def _split_seed(seed: int, split: str) -> str:
    return f"hubert-bootstrap/{seed}/{split}"  # str seeds hash deterministically (sha512)


def _synthesize_split(engine, out: Path, split: str, target_s: float, seed: int, bar) -> list[Utterance]:
    import soundfile as sf

    rng = random.Random(_split_seed(seed, split))
    sentences = SentenceGenerator(rng.randrange(2**32))
    voices = list(VOICES)
    rng.shuffle(voices)
    utts: list[Utterance] = []
    total = 0.0
    while total < target_s:
        i = len(utts)
        prosody = sample_prosody(rng, voices[i % len(voices)])
        sentence = sentences.sentence()
        np_rng = np.random.default_rng(rng.randrange(2**63))
        audio, segments = render(engine, sentence.text, prosody, np_rng, rng.randrange(2**31))
        relpath = f"audio/{split}/{voice_dir(prosody.voice)}/{split}-{i:05d}.flac"
        path = out / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        utts.append(Utterance(relpath, sentence.words, frame_labels(segments, len(audio), PHONE_RATE), len(audio), prosody.voice))
        seconds = len(audio) / SAMPLE_RATE
        total += seconds
        bar.update(min(seconds, max(target_s - (total - seconds), 0.0)))
    return utts


def _write_split(out: Path, root: str, name: str, utts: list[Utterance]) -> None:
    write_manifest(out / f"{name}.tsv", Manifest(root, [u.relpath for u in utts], [u.num_samples for u in utts]))
    write_side_file(out / f"{name}.wrd", [" ".join(u.words) for u in utts])
    write_side_file(out / f"{name}.ltr", [words_to_letters(" ".join(u.words)) for u in utts])
    write_side_file(out / f"{name}.phn", [" ".join(u.phones) for u in utts])


def _split_summary(utts: list[Utterance]) -> dict:
    seconds = sum(u.num_samples for u in utts) / SAMPLE_RATE
    phones = Counter(p for u in utts for p in u.phones)
    return {
        "utterances": len(utts),
        "seconds": round(seconds, 3),
        "minutes": round(seconds / 60, 3),
        "words": sum(len(u.words) for u in utts),
        "voices": dict(sorted(Counter(u.voice for u in utts).items())),
        "phone_frames": {p: phones[p] for p in PHONE_SET if phones[p]},
    }


def _build(tmp: str, root: str, minutes: float, seed: int, labeled_fraction: float, progress: bool) -> dict:
    """Runs in a fresh process: synthesize every split into `tmp`, in a fixed order."""
    from tqdm import tqdm

    from labelers.corpus.synth.espeak import Espeak

    engine = Espeak.get()
    out = Path(tmp)
    splits: dict[str, list[Utterance]] = {}
    with tqdm(total=round(minutes * 60, 1), unit="s", desc="synth corpus", disable=not progress, file=sys.stderr,
              bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s audio [{elapsed}<{remaining}]") as bar:
        for split, fraction in SPLIT_FRACTIONS.items():
            splits[split] = _synthesize_split(engine, out, split, minutes * 60 * fraction, seed, bar)
    train = splits["train"]
    labeled, acc, want = [], 0.0, labeled_fraction * sum(u.num_samples for u in train)
    for u in train:  # a prefix of train: voices are interleaved, so it covers all of them
        if acc >= want and labeled:
            break
        labeled.append(u)
        acc += u.num_samples
    splits["labeled"] = labeled
    for name, utts in splits.items():
        _write_split(out, root, name, utts)
    summaries = {name: _split_summary(utts) for name, utts in splits.items()}
    inventory = sorted({p for s in summaries.values() for p in s["phone_frames"]}, key=PHONE_SET.index)
    info = {
        "generator": {"name": "espeak-ng", "espeak_ng_version": engine.version, "version": GENERATOR_VERSION},
        "seed": seed,
        "minutes_requested": minutes,
        "sample_rate": SAMPLE_RATE,
        "phone_rate": PHONE_RATE,
        "phone_set": PHONE_SET,
        "phone_inventory": inventory,
        "voices": VOICES,
        "labeled_subset_of": "train",
        "splits": summaries,
    }
    write_json(out / "corpus.json", info)
    return info


def generate_corpus(
    out_dir: str | os.PathLike,
    minutes: float = 10.0,
    seed: int = 0,
    *,
    overwrite: bool = False,
    labeled_fraction: float = LABELED_FRACTION,
    progress: bool = True,
) -> dict:
    """Synthesize a corpus into `out_dir` (built in a temporary sibling, renamed into place).

    Synthesis runs in a fresh `spawn` worker process, so a script calling this at top level needs
    the usual `if __name__ == "__main__":` guard. Returns the corpus.json contents plus `elapsed_s`. Raises SynthUnavailableError (with the
    install hint) when the `synth` extra is missing, FileExistsError when `out_dir` exists and
    `overwrite` is false.
    """
    if minutes <= 0:
        raise ValueError(f"minutes must be positive, got {minutes}")
    require_espeak()
    out = Path(out_dir).resolve()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out}: already exists (pass overwrite / --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    start = time.perf_counter()
    try:
        # A fresh process per corpus: espeak's state then starts from the same point every time.
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            info = pool.submit(_build, str(tmp), str(out), minutes, seed, labeled_fraction, progress).result()
        if out.exists():  # overwrite: swap, then delete the old one
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**info, "elapsed_s": round(time.perf_counter() - start, 2)}
