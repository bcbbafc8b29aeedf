"""The embedded default corpus: generated once into a cache folder, reused afterwards."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from labelers.corpus.synth.generate import GENERATOR_VERSION, generate_corpus

CACHE_ENV = "HUBERT_BOOTSTRAP_CACHE"


def cache_root() -> Path:
    """`$HUBERT_BOOTSTRAP_CACHE`, else `~/.cache/hubert-bootstrap`."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hubert-bootstrap"


def default_corpus_dir(minutes: float = 10.0, seed: int = 0) -> Path:
    return cache_root() / f"synth-v{GENERATOR_VERSION}-{minutes:g}min-seed{seed}"


def default_corpus(minutes: float = 10.0, seed: int = 0, progress: bool = True) -> Path:
    """Path to the synthetic corpus for (minutes, seed), generating it on first use.

    About 10 minutes by default: train 8 (its first ~55% is the `labeled` subset), valid 1, test 1.
    Generation builds in a temporary folder and renames it into place, so an interrupted run never
    leaves a half corpus; a folder without `corpus.json` (not ours, or damaged) is rebuilt.
    Raises SynthUnavailableError if the `synth` extra is not installed.
    """
    out = default_corpus_dir(minutes, seed)
    if (out / "corpus.json").is_file():
        return out
    if progress:
        print(f"generating the default synthetic corpus ({minutes:g} min, seed {seed}) into {out}", file=sys.stderr)
    try:
        generate_corpus(out, minutes=minutes, seed=seed, overwrite=out.exists(), progress=progress)
    except (FileExistsError, OSError):
        # Another process finished the same corpus first: use it.
        if (out / "corpus.json").is_file():
            return out
        raise
    return out
