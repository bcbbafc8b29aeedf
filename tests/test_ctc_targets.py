"""Posteriors -> frame targets on hand-made matrices whose best path and alignment are known."""

import numpy as np
import pytest

from labelers.ctc_targets import (
    AlignmentError,
    Spans,
    TranscriptEncoder,
    TranscriptError,
    align_transcript,
    best_path_spans,
    ctc_min_frames,
    frame_targets,
    transcript_words,
    window_confidence,
)
from labelers.corpus.frames import num_frames

VOCAB = ["_", "A", "B", "C"]  # id 0 is the blank
_, A, B, C = range(4)


def peaky(path, p=0.9):
    """Log-posteriors where `path[t]` has probability p and the rest share 1-p."""
    m = np.full((len(path), len(VOCAB)), (1 - p) / (len(VOCAB) - 1))
    m[np.arange(len(path)), path] = p
    return np.log(m).astype(np.float32)


def spans_of(tokens, starts, ends):
    return Spans(np.array(tokens), np.array(starts), np.array(ends))


PATH20 = [_, A, A, _, B, _, _, C, C, _]  # 10 frames of 20 ms


def test_best_path_spans_merge_repeats_and_drop_blanks():
    s = best_path_spans(peaky(PATH20), blank_id=0)
    assert s.tokens.tolist() == [A, B, C]
    assert s.starts.tolist() == [1, 4, 7]
    assert s.ends.tolist() == [3, 5, 9]
    # a blank between equal tokens separates them; adjacent equal frames merge
    s = best_path_spans(peaky([A, A, _, A, B, B]), blank_id=0)
    assert s.tokens.tolist() == [A, A, B] and s.starts.tolist() == [0, 3, 4] and s.ends.tolist() == [2, 4, 6]


def test_alignment_recovers_known_spans_and_ignores_spurious_peak():
    logp = peaky(PATH20)
    al = align_transcript(logp, np.array([A, B, C]), 0, VOCAB, 0.02)
    assert al.spans.tokens.tolist() == [A, B, C]
    assert al.spans.starts.tolist() == [1, 4, 7]
    assert al.spans.ends.tolist() == [3, 5, 9]
    assert np.log(0.9) - 0.05 < al.confidence <= 0
    # frame 5 now weakly prefers an extra A: best path inserts it, the transcript alignment does not
    noisy = np.log(np.full((10, 4), 0.1 / 3))
    noisy[np.arange(10), PATH20] = np.log(0.9)
    noisy[5] = np.log([0.35, 0.40, 0.15, 0.10])
    assert best_path_spans(noisy, 0).tokens.tolist() == [A, B, A, C]
    al = align_transcript(noisy.astype(np.float32), np.array([A, B, C]), 0, VOCAB, 0.02)
    assert al.spans.starts.tolist() == [1, 4, 7] and al.spans.ends.tolist() == [3, 5, 9]


def test_alignment_with_repeated_tokens_and_a_wrong_transcript():
    al = align_transcript(peaky([_, A, _, A, _, B, B]), np.array([A, A, B]), 0, VOCAB, 0.02)
    assert al.spans.starts.tolist() == [1, 3, 5] and al.spans.ends.tolist() == [2, 4, 7]
    # the audio says B A C: aligning A B C is possible but much less confident
    good = align_transcript(peaky([_, _, A, _, _, _, B, _, _, C, _, _]), np.array([A, B, C]), 0, VOCAB, 0.02)
    bad = align_transcript(peaky([_, _, B, _, _, _, A, _, _, C, _, _]), np.array([A, B, C]), 0, VOCAB, 0.02)
    assert good.spans.starts.tolist() == [2, 6, 9]
    assert bad.confidence < good.confidence - 0.5


def test_impossible_alignments_raise():
    assert ctc_min_frames(np.array([A, A, B])) == 4
    with pytest.raises(AlignmentError, match="needs 4 frames"):
        align_transcript(peaky([A, _, B]), np.array([A, A, B]), 0, VOCAB, 0.02)
    with pytest.raises(AlignmentError, match="empty"):
        align_transcript(peaky([A, _, B]), np.array([], dtype=np.int64), 0, VOCAB, 0.02)
    # exactly enough frames is fine
    al = align_transcript(peaky([A, _, A, B]), np.array([A, A, B]), 0, VOCAB, 0.02)
    assert al.spans.starts.tolist() == [0, 2, 3]


def targets(spans, n, frame, offset, policy, rate=50):
    return frame_targets(spans, n, frame_seconds=frame, offset_seconds=offset, label_rate=rate,
                         blank_policy=policy, blank_id=0).tolist()


def test_policies_at_equal_rate_20ms():
    spans = best_path_spans(peaky(PATH20), 0)
    n = 400 + 9 * 320  # exactly 10 label frames at 50 Hz
    assert num_frames(n, 50) == 10
    off = 200 / 16000  # wav2vec2: centre of the 400-sample receptive field
    assert targets(spans, n, 0.02, off, "keep") == PATH20
    assert targets(spans, n, 0.02, off, "hold") == [A, A, A, A, B, B, B, C, C, C]
    # gap frame 3 is equally far from A and B: the tie goes to the earlier token
    assert targets(spans, n, 0.02, off, "nearest") == [A, A, A, A, B, B, C, C, C, C]


def test_policies_80ms_to_20ms():
    # model frame j (Parakeet, 80 ms) owns [80j-40, 80j+40) ms; label t is centred at 20t+12.5 ms
    spans = spans_of([A, B, C], [0, 2, 4], [1, 3, 5])  # path A _ B _ C
    n = 5 * 1280
    assert num_frames(n, 50) == 19
    assert targets(spans, n, 0.08, 0.0, "keep") == [A] * 2 + [_] * 4 + [B] * 4 + [_] * 4 + [C] * 4 + [_]
    assert targets(spans, n, 0.08, 0.0, "hold") == [A] * 6 + [B] * 8 + [C] * 5
    # gaps [40,120) and [200,280) ms split at 80 and 240 ms
    assert targets(spans, n, 0.08, 0.0, "nearest") == [A] * 4 + [B] * 8 + [C] * 7


def test_policies_40ms_to_20ms():
    spans = spans_of([A, B], [1, 4], [3, 5])  # path _ A A _ B at 40 ms
    n = 5 * 640
    assert num_frames(n, 50) == 9
    assert targets(spans, n, 0.04, 0.0, "keep") == [_, A, A, A, A, _, _, B, B]
    assert targets(spans, n, 0.04, 0.0, "hold") == [A, A, A, A, A, A, A, B, B]
    assert targets(spans, n, 0.04, 0.0, "nearest") == [A, A, A, A, A, A, B, B, B]


@pytest.mark.parametrize("frame,offset,rate", [(0.02, 0.0125, 50), (0.08, 0.0, 50), (0.04, 0.0, 50), (0.02, 0.0125, 100)])
def test_label_count_matches_audio_length_for_any_length(frame, offset, rate):
    rng = np.random.default_rng(0)
    for n in rng.integers(400, 60000, size=40).tolist() + [400, 719, 720, 721]:
        T = max(1, int(n / 16000 / frame))
        spans = best_path_spans(peaky(rng.integers(0, 4, size=T).tolist()), 0)
        if len(spans) == 0:
            continue
        for policy in ("hold", "nearest", "keep"):
            out = frame_targets(spans, n, frame_seconds=frame, offset_seconds=offset, label_rate=rate,
                                blank_policy=policy, blank_id=0)
            assert len(out) == num_frames(n, rate)
            assert policy == "keep" or 0 not in out


def test_no_tokens_cannot_be_held():
    empty = best_path_spans(peaky([_, _, _]), 0)
    assert targets(empty, 400 + 2 * 320, 0.02, 0.0125, "keep") == [_, _, _]
    with pytest.raises(AlignmentError, match="no token"):
        targets(empty, 400 + 2 * 320, 0.02, 0.0125, "hold")


def test_window_confidence_is_worst_window_mean():
    x = np.array([0, 0, 0, -3, -3, 0, 0], dtype=float)
    assert window_confidence(x, 2) == pytest.approx(-3.0)
    assert window_confidence(x, 7) == pytest.approx(-6 / 7)
    assert window_confidence(x, 30) == pytest.approx(-6 / 7)


CHAR_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", "A", "B", "E", "H", "I", "L", "O", "R", "T", "W", "D", "S", "'"]


def test_transcript_encoder_characters():
    enc = TranscriptEncoder(CHAR_VOCAB, 0, "|", special_tokens={"<s>", "</s>", "<unk>"})
    assert enc.char_mode and enc.case == "upper"
    e = enc.encode("Hello, world!  it's 2")
    toks = [CHAR_VOCAB[i] for i in e.ids]
    assert "".join(toks) == "HELLO|WORLD|IT'S"
    assert e.removed == {",": 1, "!": 1, "2": 1}
    # a word made only of unknown characters disappears without a doubled delimiter
    assert "".join(CHAR_VOCAB[i] for i in enc.encode("hi 42 there").ids) == "HI|THERE"
    strict = TranscriptEncoder(CHAR_VOCAB, 0, "|", special_tokens={"<s>", "</s>", "<unk>"}, strict=True)
    with pytest.raises(TranscriptError, match="','"):
        strict.encode("hello, world")
    assert strict.encode("hello world").ids.size == 11


def test_transcript_encoder_lower_case_space_delimiter_and_ltr_lines():
    vocab = ["<blank>", " ", "a", "b", "h", "i", "t", "e", "r"]
    enc = TranscriptEncoder(vocab, 0, " ")
    assert enc.case == "lower"
    assert "".join(vocab[i] for i in enc.encode("H I | T H E R E |").ids) == "hi there"
    assert transcript_words("H I | T H E R E |") == "HI THERE"
    assert transcript_words("hi  there") == "hi there"


class PieceTokenizer:
    """A stand-in for a sentencepiece tokenizer: greedy longest match over `▁`-prefixed pieces."""

    all_special_tokens = ["<unk>"]
    unk_token_id = 1

    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, text, add_special_tokens=False):
        ids = []
        for word in text.split():
            rest = "▁" + word
            while rest:
                for n in range(len(rest), 0, -1):
                    if rest[:n] in self.vocab:
                        ids.append(self.vocab.index(rest[:n]))
                        rest = rest[n:]
                        break
                else:
                    ids.append(self.unk_token_id)
                    rest = rest[1:]
        return {"input_ids": ids}


def test_transcript_encoder_subword_pieces():
    vocab = ["<blank>", "<unk>", "▁he", "llo", "▁w", "or", "ld", "▁", "q"]
    enc = TranscriptEncoder(vocab, 0, "▁", tokenizer=PieceTokenizer(vocab))
    assert not enc.char_mode and enc.case == "lower"
    e = enc.encode("Hello, World")
    assert [vocab[i] for i in e.ids] == ["▁he", "llo", "▁w", "or", "ld"]
    assert e.removed == {",": 1}
    # characters outside every piece are removed before tokenizing; pieces the tokenizer cannot
    # match (here "o" and "h" alone) come back as <unk>: dropped and counted
    e = enc.encode("hello qz")
    assert [vocab[i] for i in e.ids] == ["▁he", "llo", "▁", "q"] and e.removed == {"z": 1}
    e = enc.encode("oh")
    assert [vocab[i] for i in e.ids] == ["▁"] and e.removed == {"<unk>": 2}
