"""Character vocabulary for CTC from fairseq `.ltr` transcripts, saved as a `Wav2Vec2CTCTokenizer`.

Ids: `<pad>` 0 (also the CTC blank, as in wav2vec2/HuBERT fine-tuning), `<unk>` 1, `|` 2 (word
delimiter), then every other character seen in the transcripts, sorted, so the same transcripts give
the same ids on every run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from labelers.corpus.atomic import write_text

PAD, UNK, WORD_DELIMITER = "<pad>", "<unk>", "|"
SPECIALS = (PAD, UNK, WORD_DELIMITER)


def count_characters(letter_lines: list[str]) -> Counter:
    """Character counts of `.ltr` lines (space-separated characters, `|` between words)."""
    counts: Counter = Counter()
    for line in letter_lines:
        counts.update(line.split())
    return counts


def build_vocab(letter_lines: list[str], min_count: int = 1) -> dict[str, int]:
    counts = count_characters(letter_lines)
    chars = sorted(c for c, n in counts.items() if n >= min_count and c not in SPECIALS)
    bad = [c for c in chars if len(c) != 1]
    if bad:
        raise ValueError(f".ltr transcripts must hold single characters separated by spaces; found tokens {bad[:5]}")
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for c in chars:
        vocab[c] = len(vocab)
    return vocab


def make_tokenizer(vocab: dict[str, int], work_dir: str | os.PathLike):
    """A `Wav2Vec2CTCTokenizer` over `vocab` (its vocab.json is written into `work_dir`)."""
    from transformers import Wav2Vec2CTCTokenizer

    path = Path(work_dir) / "vocab.json"
    write_text(path, json.dumps(vocab, ensure_ascii=False, indent=1) + "\n")
    # No bos/eos: they would become extra output classes that CTC never emits.
    return Wav2Vec2CTCTokenizer(
        str(path), pad_token=PAD, unk_token=UNK, word_delimiter_token=WORD_DELIMITER,
        bos_token=None, eos_token=None, do_lower_case=False,
    )


def encode_letters(line: str, vocab: dict[str, int]) -> tuple[list[int], int]:
    """Ids for one `.ltr` line, and how many characters fell back to `<unk>`.

    A trailing `|` (fairseq writes one after every word) is dropped: the word delimiter only separates.
    """
    toks = line.split()
    while toks and toks[-1] == WORD_DELIMITER:
        toks.pop()
    while toks and toks[0] == WORD_DELIMITER:
        toks.pop(0)
    unk = vocab[UNK]
    ids = [vocab.get(t, unk) for t in toks]
    return ids, sum(1 for t in toks if t not in vocab)


def letters_to_text(line: str) -> str:
    """`.ltr` line -> plain words separated by single spaces (the reference for CER/WER)."""
    return " ".join("".join(w.split()) for w in line.split(WORD_DELIMITER) if w.strip())


def build_phone_vocab(phone_lines: list[list[str]]) -> dict[str, int]:
    """Phone vocabulary: the same specials (blank 0, `<unk>` 1, `|` 2, never emitted for phones, kept
    so the tokenizer has the shape every loader expects), then every phone seen, sorted."""
    seen = {p for line in phone_lines for p in line}
    clash = sorted(seen & set(SPECIALS))
    if clash:
        raise ValueError(f"phone symbols {clash} collide with the CTC vocabulary's special tokens")
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for p in sorted(seen):
        vocab[p] = len(vocab)
    return vocab
