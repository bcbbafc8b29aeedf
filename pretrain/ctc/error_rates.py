"""Greedy CTC decoding and error rates (CER on characters incl. spaces, WER on words)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def edit_distance(ref: list | str, hyp: list | str) -> int:
    """Levenshtein distance (substitution, insertion, deletion all cost 1), one row of DP at a time."""
    if len(ref) < len(hyp):
        ref, hyp = hyp, ref
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def greedy_ids(logits: np.ndarray, length: int | None = None, blank: int = 0) -> list[int]:
    """Best path: argmax per frame, merge repeats, drop blanks. `logits` is (frames, vocab)."""
    best = np.asarray(logits)[:length].argmax(-1)
    out, last = [], None
    for t in best.tolist():
        if t != last and t != blank:
            out.append(t)
        last = t
    return out


@dataclass
class ErrorCounter:
    """Corpus-level CER/WER: total edits over total reference length (not a mean of ratios)."""

    char_edits: int = 0
    chars: int = 0
    word_edits: int = 0
    words: int = 0
    utterances: int = 0

    def add(self, ref: str, hyp: str) -> None:
        ref, hyp = " ".join(ref.split()), " ".join(hyp.split())
        self.char_edits += edit_distance(ref, hyp)
        self.chars += len(ref)
        self.word_edits += edit_distance(ref.split(), hyp.split())
        self.words += len(ref.split())
        self.utterances += 1

    @property
    def cer(self) -> float:
        return self.char_edits / max(self.chars, 1)

    @property
    def wer(self) -> float:
        return self.word_edits / max(self.words, 1)

    def as_dict(self) -> dict:
        return {"cer": self.cer, "wer": self.wer, "utterances": self.utterances, "chars": self.chars, "words": self.words}


def count_errors(refs: list[str], hyps: list[str]) -> ErrorCounter:
    c = ErrorCounter()
    for r, h in zip(refs, hyps, strict=True):
        c.add(r, h)
    return c


def cer(refs: list[str], hyps: list[str]) -> float:
    return count_errors(refs, hyps).cer


def wer(refs: list[str], hyps: list[str]) -> float:
    return count_errors(refs, hyps).wer
