"""Transcripts -> token ids for a phone-level CTC teacher (`bootstrap train-asr --units phones`).

The teacher folder's `teacher_units.json` says how its phones were made; alignment uses the same
path, so the transcript and the model speak the same phone set:
- `phn` teacher: the transcript *is* a phone sequence (the split's `.phn`, repeats collapsed).
- `lexicon` teacher: words through the same lexicon; words it lacks are dropped and counted
  (as `<oov>` in the labeler's removed-token counts), or refused under `strict`.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from labelers.corpus.phone_transcripts import Lexicon, words_to_phones
from labelers.ctc_targets import EncodedText, TranscriptError

UNITS_FILE = "teacher_units.json"


def teacher_units(model_dir) -> dict:
    """The teacher's units description ({"units": "chars"} for character teachers and foreign models)."""
    path = Path(str(model_dir)) / UNITS_FILE
    if not path.is_file():
        return {"units": "chars"}
    return json.loads(path.read_text())


class PhoneTranscriptEncoder:
    """Same interface as `ctc_targets.TranscriptEncoder`: `encode(text) -> EncodedText`, `describe()`."""

    def __init__(self, units: dict, vocab: list[str], blank_id: int, strict: bool = False,
                 lexicon: Lexicon | None = None):
        self.units = units
        self.phones_from = units["phones_from"]
        self.strict = strict
        specials = {vocab[blank_id], "<unk>", "|"}
        self.index = {t: i for i, t in enumerate(vocab) if t not in specials}
        self.lexicon = None
        if self.phones_from == "lexicon":
            spec = lexicon or (units.get("lexicon") or {}).get("lexicon", "cmudict")
            self.lexicon = spec if isinstance(spec, Lexicon) else Lexicon.load(
                spec, bool((units.get("lexicon") or {}).get("stress", False)))
            want = (units.get("lexicon") or {}).get("sha256")
            if want and self.lexicon.sha256 and want != self.lexicon.sha256:
                raise ValueError(f"lexicon {self.lexicon.name} differs from the one the teacher was trained with "
                                 f"(sha256 {self.lexicon.sha256[:12]} != {want[:12]})")

    # labeling_run reads `{split}.phn` instead of words when the labeler asks for phone transcripts
    @property
    def transcript_kind(self) -> str:
        return "phones" if self.phones_from == "phn" else "words"

    def describe(self) -> dict:
        return {"mode": "phones", "phones_from": self.phones_from, "strict": self.strict,
                "lexicon": self.lexicon.describe() if self.lexicon else None}

    def encode(self, text: str) -> EncodedText:
        removed: Counter = Counter()
        if self.lexicon is not None:
            oov: Counter = Counter()
            phones = words_to_phones(text, self.lexicon, oov)
            if oov:
                if self.strict:
                    raise TranscriptError(f"words missing from the lexicon: {', '.join(sorted(oov))}")
                removed["<oov>"] += sum(oov.values())
        else:
            phones = text.split()
        ids = []
        for p in phones:
            i = self.index.get(p)
            if i is None:
                removed[p] += 1
            else:
                ids.append(i)
        if removed and self.strict and self.lexicon is None:
            raise TranscriptError(f"phones the model cannot emit: {dict(removed)}")
        return EncodedText(np.asarray(ids, dtype=np.int64), removed)
