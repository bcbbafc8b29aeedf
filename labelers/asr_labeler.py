"""`source="asr"`: frame-level targets read off a CTC ASR model's token posteriors.

Per utterance: log-posteriors from `CTCModel` -> token spans (forced alignment of the transcript
with ctc-segmentation, or best path without transcripts) -> one target per label frame with the
blank policy -> class ids. Classes are the model's tokens in vocabulary order, without the blank
(with it under `--blank keep`), so `dict.km.txt` reads as the model's characters or pieces.

Utterances are skipped, with the reason recorded in labels.json, when the transcript cannot be
aligned (empty after normalisation, more tokens + repeats than frames) unless `unalignable=
"best-path"`; when the alignment confidence is below `min_confidence`; when `strict` and the
transcript has characters the model cannot emit; or when the model emits no token at all and the
policy needs one to hold.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from labelers.ctc_posteriors import CTCModel
from labelers.ctc_targets import BLANK_POLICIES, TranscriptEncoder, TranscriptError, utterance_targets
from labelers.corpus.label_store import Skip
from labelers.labeler import Labeler, LabelSourceError

UNALIGNABLE = ("skip", "best-path")


def printable_symbol(token: str) -> str:
    """A dictionary symbol without whitespace (fairseq splits `symbol count` at the last space)."""
    if token == " ":
        return "<space>"
    return "".join("_" if c.isspace() else c for c in token) or "<empty>"


class AsrLabeler(Labeler):
    source = "asr"

    def __init__(
        self,
        model: CTCModel,
        *,
        blank: str = "hold",
        label_rate: int = 50,
        use_transcripts: bool = True,
        min_confidence: float | None = None,
        strict: bool = False,
        unalignable: str = "skip",
        batch_seconds: float = 160.0,
        chunk_seconds: float = 30.0,
        overlap_seconds: float = 4.0,
        confidence_window_seconds: float = 0.6,
        align_workers: int = 0,
        encoder=None,
    ):
        if blank not in BLANK_POLICIES:
            raise LabelSourceError(f"--blank must be one of {BLANK_POLICIES}, got {blank!r}")
        if unalignable not in UNALIGNABLE:
            raise LabelSourceError(f"unalignable must be one of {UNALIGNABLE}, got {unalignable!r}")
        self.model = model
        self.blank = blank
        self.label_rate = label_rate
        self.uses_transcripts = bool(use_transcripts)
        self.min_confidence = min_confidence
        self.unalignable = unalignable
        self.batch_seconds = batch_seconds
        self.chunk_seconds = chunk_seconds
        self.overlap_seconds = overlap_seconds
        # the confidence window is fixed in time, so 20 ms and 80 ms models are judged alike
        self.window = max(1, int(round(confidence_window_seconds / model.frame_seconds)))
        # a phone teacher brings its own encoder (labelers.phone_encoder); characters/pieces otherwise
        self.encoder = encoder or TranscriptEncoder(model.vocab, model.blank_id, model.word_delimiter, model.tokenizer,
                                                    strict=strict)
        self.transcript_kind = getattr(self.encoder, "transcript_kind", "words")
        V = model.vocab_size
        keep_ids = [i for i in range(V) if blank == "keep" or i != model.blank_id]
        self.class_ids = np.full(V, -1, dtype=np.int64)
        self.class_ids[keep_ids] = np.arange(len(keep_ids))
        self._symbols = [printable_symbol(model.vocab[i]) for i in keep_ids]
        self.align_workers = int(align_workers)
        self._pool = None
        self.stats: Counter = Counter()
        self.removed_chars: Counter = Counter()
        self.confidences: list[float] = []

    # -- the Labeler interface -------------------------------------------------------------------
    def symbols(self) -> list[str]:
        return list(self._symbols)

    def describe(self) -> dict:
        m = self.model.describe()
        m.pop("device", None)  # shards on different devices must share one fingerprint
        return {
            "source": self.source,
            **m,
            "transcripts": self.uses_transcripts,
            "text_normalisation": self.encoder.describe(),
            "blank_policy": self.blank,
            "label_rate": self.label_rate,
            "min_confidence": self.min_confidence,
            "confidence_window_frames": self.window,
            "unalignable": self.unalignable,
            "chunk_seconds": self.chunk_seconds,
            "overlap_seconds": self.overlap_seconds,
        }

    def label_batch(self, wavs: list[np.ndarray], texts: list[str] | None = None) -> list[np.ndarray | Skip]:
        if self.uses_transcripts and texts is None:
            raise ValueError("this ASR labeler aligns transcripts, but none were given (use transcripts=none)")
        if texts is not None and len(texts) != len(wavs):
            raise ValueError(f"{len(texts)} transcripts for {len(wavs)} utterances")
        posteriors = self.model.log_posteriors(
            wavs, batch_seconds=self.batch_seconds, chunk_seconds=self.chunk_seconds, overlap_seconds=self.overlap_seconds
        )
        out: list[np.ndarray | Skip | None] = [None] * len(wavs)
        jobs = []
        for i, (wav, logp) in enumerate(zip(wavs, posteriors)):
            ids = None
            if self.uses_transcripts:
                try:
                    encoded = self.encoder.encode(texts[i])
                except TranscriptError as e:
                    self.stats["skipped_text"] += 1
                    out[i] = Skip(f"transcript: {e}")
                    continue
                self.removed_chars.update(encoded.removed)
                ids = encoded.ids
            jobs.append((i, (logp, ids, len(wav), self._params)))
        for (i, _), result in zip(jobs, self._map([job for _, job in jobs])):
            out[i] = self._account(result)
        return out

    # -- one utterance ---------------------------------------------------------------------------
    @property
    def _params(self) -> dict:
        m = self.model
        return {"blank_id": m.blank_id, "vocab": m.vocab, "frame_seconds": m.frame_seconds,
                "offset_seconds": m.geometry.offset_seconds, "window": self.window, "label_rate": self.label_rate,
                "blank": self.blank, "unalignable": self.unalignable, "min_confidence": self.min_confidence}

    def _map(self, jobs: list[tuple]) -> list[dict]:
        """Alignment runs on CPU; with align_workers > 1 in a process pool, so a GPU is not kept waiting."""
        if self.align_workers <= 1 or len(jobs) < 2:
            return [utterance_targets(*job) for job in jobs]
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            # spawn: the children never inherit a CUDA context
            self._pool = ProcessPoolExecutor(self.align_workers, mp_context=mp.get_context("spawn"))
        return list(self._pool.map(utterance_targets, *zip(*jobs), chunksize=max(1, len(jobs) // (4 * self.align_workers))))

    def label_one(self, logp: np.ndarray, num_samples: int, text: str | None) -> np.ndarray | Skip:
        """Targets for one utterance from its log-posteriors (transcript text or None for best path)."""
        ids = None
        if text is not None:
            try:
                encoded = self.encoder.encode(text)
            except TranscriptError as e:
                self.stats["skipped_text"] += 1
                return Skip(f"transcript: {e}")
            self.removed_chars.update(encoded.removed)
            ids = encoded.ids
        return self._account(utterance_targets(logp, ids, num_samples, self._params))

    def _account(self, r: dict) -> np.ndarray | Skip:
        self.stats[r["outcome"]] += 1
        if r.get("confidence") is not None:
            self.confidences.append(r["confidence"])
        if "targets" not in r:
            return Skip(r["reason"])
        self.stats["labelled"] += 1
        self.stats["blank_model_frames"] += r["blank_frames"]
        self.stats["model_frames"] += r["model_frames"]
        return self.class_ids[r["targets"]]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def summary(self) -> dict:
        """What happened so far: counts per outcome, removed characters, confidence quantiles."""
        s = dict(self.stats)
        if self.stats["model_frames"]:
            s["blank_fraction"] = round(self.stats["blank_model_frames"] / self.stats["model_frames"], 4)
        if self.removed_chars:
            s["removed_characters"] = dict(self.removed_chars.most_common())
        if self.confidences:
            q = np.quantile(self.confidences, [0.0, 0.1, 0.5, 0.9, 1.0])
            s["confidence_quantiles"] = {k: round(float(v), 4) for k, v in zip(("min", "p10", "p50", "p90", "max"), q)}
        return s

