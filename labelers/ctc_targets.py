"""From CTC log-posteriors to frame-level targets: pure functions, no model.

1. Token spans, in model frames, `[start, end)` per emitted token:
   - `best_path_spans`: greedy decoding (arg-max per frame, repeats merged, blanks dropped);
   - `align_transcript`: forced alignment of a known token sequence with the `ctc-segmentation`
     package, which also gives the utterance's confidence score.
2. `frame_targets`: spans -> one target per label frame at the label rate, with a blank policy:
   - `hold`: a blank frame takes the preceding token (frames before the first token take the first);
   - `nearest`: a gap between two tokens is split at its midpoint (ties go to the earlier token);
   - `keep`: a blank frame is the blank class.

Time convention (the one `labelers.corpus.frames` uses for every label source): label frame t at rate r
covers samples [t*hop, t*hop + 400) with hop = 16000/r and is centred at t*hop + 200 samples.
Model frame j is centred at `offset + j*frame` seconds (from the model's geometry) and owns the time
[centre - frame/2, centre + frame/2). A label frame takes the target of the model frame owning its
centre; so at equal rates (wav2vec2: 20 ms, centre 12.5 ms) label t is model frame t, and a coarser
model frame is repeated over the label frames whose centres fall in it. The label count is always
`num_frames(num_samples, rate)`.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from labelers.corpus.frames import SAMPLE_RATE, WINDOW, hop_for_rate, num_frames
from labelers.corpus.manifest import letters_to_words

BLANK_POLICIES = ("hold", "nearest", "keep")
# ctc-segmentation needs a frame for its start symbol and one for the leading blank state before the
# first token, and one for the closing blank: we pad that many certain-blank frames around the matrix.
_PAD_BEFORE, _PAD_AFTER = 2, 1


class AlignmentError(ValueError):
    """An utterance whose transcript cannot be aligned (empty, or longer than the frames allow)."""


class TranscriptError(ValueError):
    """A transcript with characters the model cannot emit (raised in strict mode)."""


@dataclass
class Spans:
    """Emitted tokens with their frame spans `[start, end)` in model frames."""

    tokens: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def empty(cls) -> "Spans":
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), z.copy())


@dataclass
class Alignment:
    spans: Spans
    confidence: float  # ctc-segmentation score: worst mean log-posterior over a sliding window (<= 0)
    method: str  # "align" or "best-path"


# ---------------------------------------------------------------------------------------------------
# spans


def best_path_spans(logp: np.ndarray, blank_id: int) -> Spans:
    """Greedy CTC decoding: runs of the same non-blank arg-max form one token's span."""
    best = np.asarray(logp).argmax(axis=1)
    if best.size == 0:
        return Spans.empty()
    change = np.flatnonzero(np.diff(best)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [best.size]])
    tokens = best[starts]
    keep = tokens != blank_id
    return Spans(tokens[keep].astype(np.int64), starts[keep].astype(np.int64), ends[keep].astype(np.int64))


def window_confidence(frame_logp: np.ndarray, window: int) -> float:
    """ctc-segmentation's utterance score: min over `window`-frame windows of the mean log-posterior."""
    frame_logp = np.asarray(frame_logp, dtype=np.float64)
    if frame_logp.size == 0:
        return float("-inf")
    if frame_logp.size <= window:
        return float(frame_logp.mean())
    c = np.concatenate([[0.0], np.cumsum(frame_logp)])
    return float(((c[window:] - c[:-window]) / window).min())


def best_path(logp: np.ndarray, blank_id: int, window: int = 30) -> Alignment:
    spans = best_path_spans(logp, blank_id)
    return Alignment(spans, window_confidence(np.asarray(logp).max(axis=1), window), "best-path")


def ctc_min_frames(ids: np.ndarray) -> int:
    """Frames CTC needs for `ids`: one per token plus a blank between equal neighbours."""
    ids = np.asarray(ids)
    return int(ids.size + (np.count_nonzero(ids[1:] == ids[:-1]) if ids.size > 1 else 0))


def align_transcript(
    logp: np.ndarray, ids: np.ndarray, blank_id: int, vocab: list[str], frame_seconds: float, window: int = 30
) -> Alignment:
    """Align token ids to the posteriors with ctc-segmentation; each token's span and a confidence.

    The package gives each token's first frame. A token's segment runs to the next token's first
    frame; inside it the token is emitted for a run of frames and blank afterwards, and the split
    point is the one that maximises the path probability (the CTC Viterbi choice for that segment).
    """
    from ctc_segmentation import CtcSegmentationParameters, ctc_segmentation, determine_utterance_segments
    from ctc_segmentation import prepare_token_list

    logp = np.asarray(logp, dtype=np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    T = logp.shape[0]
    if ids.size == 0:
        raise AlignmentError("empty transcript (no token the model knows)")
    need = ctc_min_frames(ids)
    if need > T:
        raise AlignmentError(f"transcript needs {need} frames (tokens + repeats) but the audio gives {T}")
    if np.any(ids == blank_id):
        raise AlignmentError("transcript contains the blank token")

    config = CtcSegmentationParameters(
        blank=blank_id, char_list=list(vocab), index_duration=frame_seconds, score_min_mean_over_L=window,
        min_window_size=max(8000, T + _PAD_BEFORE + _PAD_AFTER),
    )
    config.max_window_size = max(config.max_window_size, 2 * config.min_window_size + 1)
    blank_row = np.full((1, logp.shape[1]), -1e4, dtype=np.float32)
    blank_row[0, blank_id] = 0.0
    padded = np.concatenate([blank_row] * _PAD_BEFORE + [logp] + [blank_row] * _PAD_AFTER)
    ground_truth, utt_begin = prepare_token_list(config, [ids])
    timings, char_probs, _ = ctc_segmentation(config, padded, ground_truth)
    segment = determine_utterance_segments(config, utt_begin, char_probs, timings, ["utt"])[0]

    # ground truth rows: [start symbol, blank, token_1 .. token_N, blank]
    first = np.rint(np.asarray(timings) / frame_seconds).astype(np.int64) - _PAD_BEFORE
    starts = first[2 : 2 + ids.size]
    closing = int(first[2 + ids.size]) if len(first) > 2 + ids.size else T
    seg_ends = np.concatenate([starts[1:], [min(max(closing, starts[-1] + 1), T)]])
    lengths = seg_ends - starts
    if starts[0] < 0 or np.any(lengths < 1):
        raise AlignmentError(f"ctc-segmentation returned token starts out of order: {starts.tolist()}")
    return Alignment(Spans(ids.copy(), starts, split_segments(logp, ids, starts, lengths, blank_id)),
                     float(segment[2]), "align")


def split_segments(logp: np.ndarray, ids: np.ndarray, starts: np.ndarray, lengths: np.ndarray, blank_id: int) -> np.ndarray:
    """End frame of each token: its contiguous segments [start, start + length) each hold a run of the
    token then a run of blanks; the split maximises sum(log p(token)) + sum(log p(blank)). Vectorised
    over all segments: a cumulative gain, restarted at each segment, and its first maximum."""
    frames = np.arange(starts[0], starts[-1] + lengths[-1])
    gain = logp[frames, np.repeat(ids, lengths)].astype(np.float64) - logp[frames, blank_id]
    first = starts - starts[0]  # each segment's first position in `frames`
    c = np.cumsum(gain)
    before = np.where(first > 0, c[np.maximum(first - 1, 0)], 0.0)
    local = c - np.repeat(before, lengths)
    best = np.repeat(np.maximum.reduceat(local, first), lengths)
    hits = np.flatnonzero(local >= best)
    argmax = hits[np.searchsorted(hits, first)]
    return starts + (argmax - first) + 1


# ---------------------------------------------------------------------------------------------------
# targets at the label rate


def label_frame_centres(num_samples: int, label_rate: float) -> np.ndarray:
    """Centre time (seconds) of each label frame: (t*hop + 200) / 16000."""
    n = num_frames(num_samples, label_rate)
    return (np.arange(n) * hop_for_rate(label_rate) + WINDOW / 2) / SAMPLE_RATE


def model_frame_index(num_samples: int, label_rate: float, frame_seconds: float, offset_seconds: float,
                      num_model_frames: int) -> np.ndarray:
    """For each label frame, the model frame owning its centre (clipped to the model's frames)."""
    centres = label_frame_centres(num_samples, label_rate)
    j = np.floor((centres - offset_seconds) / frame_seconds + 0.5).astype(np.int64)
    return np.clip(j, 0, max(0, num_model_frames - 1))


def frame_targets(
    spans: Spans,
    num_samples: int,
    *,
    frame_seconds: float,
    offset_seconds: float,
    label_rate: float,
    blank_policy: str,
    blank_id: int,
) -> np.ndarray:
    """Vocabulary id of every label frame (blank only with `keep`), `num_frames(num_samples, rate)` long."""
    if blank_policy not in BLANK_POLICIES:
        raise ValueError(f"blank policy must be one of {BLANK_POLICIES}, got {blank_policy!r}")
    centres = label_frame_centres(num_samples, label_rate)
    if len(spans) == 0:
        if blank_policy != "keep":
            raise AlignmentError("no token emitted: nothing to hold a blank frame to")
        return np.full(centres.size, blank_id, dtype=np.int64)
    # model frame j owns [offset + (j - 1/2) * frame, offset + (j + 1/2) * frame)
    begin = offset_seconds + (spans.starts - 0.5) * frame_seconds
    end = offset_seconds + (spans.ends - 0.5) * frame_seconds
    k = np.searchsorted(begin, centres, side="right") - 1  # last span beginning at or before the centre
    inside = (k >= 0) & (centres < end[np.maximum(k, 0)])
    prev = np.maximum(k, 0)
    out = spans.tokens[prev].copy()  # hold: the preceding token (and the first one before it)
    if blank_policy == "keep":
        out[~inside] = blank_id
    elif blank_policy == "nearest":
        nxt = np.minimum(k + 1, len(spans) - 1)
        gap = ~inside & (k >= 0) & (k + 1 < len(spans))
        to_next = gap & (centres - end[prev] > begin[nxt] - centres)
        out[to_next] = spans.tokens[nxt][to_next]
    return out.astype(np.int64)


def utterance_targets(logp: np.ndarray, ids: np.ndarray | None, num_samples: int, p: dict) -> dict:
    """Spans (alignment of `ids`, or best path when None) -> targets; a picklable pure function.

    Returns {"outcome", "confidence", and "targets" (vocabulary ids at the label rate) or "reason"}.
    """
    if ids is None:
        al, outcome = best_path(logp, p["blank_id"], p["window"]), "best_path"
    else:
        try:
            al = align_transcript(logp, ids, p["blank_id"], p["vocab"], p["frame_seconds"], p["window"])
            outcome = "aligned"
        except AlignmentError as e:
            if p["unalignable"] == "skip":
                return {"outcome": "skipped_unalignable", "reason": f"cannot align transcript: {e}"}
            al, outcome = best_path(logp, p["blank_id"], p["window"]), "best_path_fallback"
    r = {"outcome": outcome, "confidence": al.confidence}
    if p["min_confidence"] is not None and al.confidence < p["min_confidence"]:
        r.update(outcome="skipped_low_confidence",
                 reason=f"{al.method} confidence {al.confidence:.3f} < --min-confidence {p['min_confidence']}")
        return r
    try:
        r["targets"] = frame_targets(al.spans, num_samples, frame_seconds=p["frame_seconds"],
                                     offset_seconds=p["offset_seconds"], label_rate=p["label_rate"],
                                     blank_policy=p["blank"], blank_id=p["blank_id"])
    except AlignmentError as e:
        r.update(outcome="skipped_no_tokens", reason=f"{al.method}: {e}")
        return r
    r["model_frames"] = int(logp.shape[0])
    r["blank_frames"] = int(logp.shape[0] - int(np.sum(al.spans.ends - al.spans.starts)))
    return r


# ---------------------------------------------------------------------------------------------------
# transcripts -> token ids


def transcript_words(text: str) -> str:
    """A `.wrd` line as is; a fairseq `.ltr` line (`H I | T H E R E |`) back to words."""
    parts = text.split()
    if parts and "|" in parts and all(len(p) == 1 for p in parts):
        return letters_to_words(text)
    return " ".join(parts)


@dataclass
class EncodedText:
    ids: np.ndarray
    removed: Counter = field(default_factory=Counter)  # characters the model lacks -> count


class TranscriptEncoder:
    """Normalise text to a CTC model's vocabulary and turn it into token ids.

    Character vocabularies (every ordinary token one character, e.g. wav2vec2's `|`-delimited
    letters): case follows the vocabulary's letters, words are joined by the word delimiter token
    (`|`, or a space token; nothing if the model has none), and characters the model lacks are
    removed and counted (`strict=True`: a `TranscriptError`). Subword vocabularies (`▁` pieces) use
    the model's own tokenizer after the same case and character clean-up; `<unk>` ids are dropped.
    """

    def __init__(self, vocab: list[str], blank_id: int, word_delimiter: str | None, tokenizer=None,
                 special_tokens: set[str] | None = None, strict: bool = False):
        self.vocab = list(vocab)
        self.blank_id = blank_id
        self.strict = strict
        self.tokenizer = tokenizer
        special = set(special_tokens or ())
        if tokenizer is not None:
            special |= set(getattr(tokenizer, "all_special_tokens", []) or [])
        special.add(self.vocab[blank_id])
        special.discard(word_delimiter)  # wav2vec2 tokenizers list `|` among their special tokens
        self.index = {t: i for i, t in enumerate(self.vocab) if t not in special}
        ordinary = [t for t in self.index if t != word_delimiter]
        self.char_mode = bool(ordinary) and all(len(t) == 1 for t in ordinary)
        self.word_delimiter = word_delimiter
        letters = "".join(t for t in ordinary if t.isalpha())
        has_upper, has_lower = any(c.isupper() for c in letters), any(c.islower() for c in letters)
        self.case = "upper" if has_upper and not has_lower else "lower" if has_lower and not has_upper else None
        if self.char_mode:
            self.alphabet = set(ordinary)
        else:
            self.alphabet = {c for t in ordinary for c in t.replace("▁", "")}
        self.unk_id = getattr(tokenizer, "unk_token_id", None) if tokenizer is not None else None

    def describe(self) -> dict:
        return {"mode": "characters" if self.char_mode else "tokenizer", "case": self.case,
                "word_delimiter": self.word_delimiter, "strict": self.strict}

    def _clean(self, text: str) -> tuple[list[str], Counter]:
        text = unicodedata.normalize("NFC", transcript_words(text))
        if self.case == "upper":
            text = text.upper()
        elif self.case == "lower":
            text = text.lower()
        removed: Counter = Counter()
        words = []
        for word in text.split():
            kept = []
            for ch in word:
                if ch in self.alphabet:
                    kept.append(ch)
                else:
                    removed[ch] += 1
            if kept:
                words.append("".join(kept))
        if removed and self.strict:
            chars = ", ".join(f"{c!r} x{n}" for c, n in removed.most_common())
            raise TranscriptError(f"characters the model cannot emit: {chars}")
        return words, removed

    def encode(self, text: str) -> EncodedText:
        words, removed = self._clean(text)
        if self.char_mode:
            ids: list[int] = []
            delim = self.index.get(self.word_delimiter) if self.word_delimiter else None
            for w, word in enumerate(words):
                if w and delim is not None:
                    ids.append(delim)
                ids.extend(self.index[c] for c in word)
        else:
            ids = list(self.tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]) if words else []
            unk = sum(1 for i in ids if i == self.unk_id)
            if unk:
                if self.strict:
                    raise TranscriptError(f"{unk} pieces map to the unknown token")
                removed["<unk>"] += unk
            ids = [i for i in ids if i != self.unk_id and i != self.blank_id]
        return EncodedText(np.asarray(ids, dtype=np.int64), removed)
