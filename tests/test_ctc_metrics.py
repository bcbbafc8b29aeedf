"""CTC helpers on hand-made examples: edit distance, CER/WER, greedy decoding, vocabulary, batching."""

import numpy as np
import pytest

from pretrain.ctc.transcribed_data import ctc_min_frames, length_sorted_batches
from pretrain.ctc.error_rates import ErrorCounter, cer, edit_distance, greedy_ids, wer
from pretrain.ctc.vocab import build_vocab, encode_letters, letters_to_text


def test_edit_distance_hand_examples():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("abc", "") == 3
    assert edit_distance("abc", "abc") == 0
    assert edit_distance("THE CAT".split(), "THE BAT SAT".split()) == 2


def test_cer_wer_are_corpus_level():
    refs, hyps = ["THE CAT", "A DOG"], ["THE BAT", "A DOG RAN"]
    # chars: 1 substitution in 7 + 4 insertions (" RAN") in 5 -> 5 / 12
    assert cer(refs, hyps) == pytest.approx(5 / 12)
    # words: 1 of 2 + 1 insertion over 2 -> 2 / 4
    assert wer(refs, hyps) == pytest.approx(0.5)
    c = ErrorCounter()
    c.add("  A   B ", "A B")  # whitespace is normalised
    assert c.cer == 0 and c.wer == 0 and c.utterances == 1


def test_greedy_ids_merges_repeats_and_drops_blank():
    path = [0, 3, 3, 0, 3, 4, 4, 0, 2, 0]
    logits = np.full((len(path), 5), -5.0)
    logits[np.arange(len(path)), path] = 5.0
    assert greedy_ids(logits) == [3, 3, 4, 2]
    assert greedy_ids(logits, length=4) == [3]


def test_vocab_ids_and_encoding():
    lines = ["T H E | C A T |", "A | B E E |"]
    vocab = build_vocab(lines)
    assert list(vocab)[:3] == ["<pad>", "<unk>", "|"]
    assert list(vocab)[3:] == sorted(set("THECATABEE"))
    ids, unk = encode_letters("C A T | Z |", vocab)
    assert unk == 1 and ids[-1] == vocab["<unk>"] and ids[3] == vocab["|"] and len(ids) == 5
    assert letters_to_text("T H E | C A T |") == "THE CAT"
    with pytest.raises(ValueError, match="single characters"):
        build_vocab(["TH E |"])


def test_ctc_min_frames_counts_repeats():
    assert ctc_min_frames([5, 6, 7]) == 3
    assert ctc_min_frames([5, 5, 6, 6, 6]) == 8


def test_length_sorted_batches_respect_budget_and_cover_everything():
    rng = np.random.default_rng(0)
    lengths = rng.integers(16000, 16000 * 6, size=57).tolist()
    batches = length_sorted_batches(lengths, batch_seconds=12, shuffle=True, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(57))
    for b in batches:
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 12 * 16000
    assert batches == length_sorted_batches(lengths, batch_seconds=12, shuffle=True, seed=3)
    assert batches != length_sorted_batches(lengths, batch_seconds=12, shuffle=True, seed=4)
    capped = length_sorted_batches(lengths, batch_seconds=1000, max_batch_size=5)
    assert max(len(b) for b in capped) == 5
