"""The contract every label source implements, and the errors label sources raise.

A labeler turns audio into one integer target per frame at a known rate. `labeling_run.label_corpus`
drives any `Labeler`; the hooks below with a default are optional and declared here, so the run
calls them directly instead of probing with getattr/hasattr.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from labelers.corpus.label_store import Skip


class LabelSourceError(ValueError):
    """A label source cannot be built or run with these settings (missing model, bad option, ...).

    A ValueError, so a generic handler catches it; the command-line entry points turn it into one
    line and a non-zero exit code.
    """


class Labeler(ABC):
    """Audio -> frame labels. Subclasses set `source` and `label_rate` and implement the abstract methods."""

    source: str
    label_rate: float
    # True: `label_batch` / `label_prepared` receive the utterances' transcripts (words) as `texts`.
    uses_transcripts: bool = False
    # What `texts` holds when `uses_transcripts`: "words" (.wrd/.ltr) or "phones" (the split's .phn with
    # repeats collapsed, for a phone teacher trained on .phn).
    transcript_kind: str = "words"

    @abstractmethod
    def symbols(self) -> list[str]:
        """The vocabulary, one symbol per class id (written to dict.km.txt)."""

    @abstractmethod
    def describe(self) -> dict:
        """Provenance recorded in labels.json (model, k-means file, options); part of the run's fingerprint."""

    @abstractmethod
    def label_batch(self, wavs: list[np.ndarray], texts: list[str] | None = None) -> list[np.ndarray | Skip]:
        """One 1-D integer array (num_frames at `label_rate`) or a `Skip` per waveform."""

    # ---- optional hooks

    def preparer(self) -> Callable[[np.ndarray], object] | None:
        """Per-utterance CPU work (e.g. MFCCs) the run may do in its decoding threads; None: none.

        When this returns a function, the run calls `label_prepared` on its results instead of `label_batch`.
        """
        return None

    def label_prepared(self, items: list, texts: list[str] | None = None) -> list[np.ndarray | Skip]:
        """Labels for the outputs of `preparer()`; only called when `preparer()` is not None."""
        raise NotImplementedError(f"{type(self).__name__} has no preparer")

    def summary(self) -> dict | None:
        """Source-specific counts after a run (ASR: alignments, removed characters, ...); None: nothing."""
        return None

    def close(self) -> None:
        """Release worker pools or other resources."""


@runtime_checkable
class FrameFeatures(Protocol):
    """What k-means sources cluster: `name`, `rate` (frames/s), `dim`, batch extraction, provenance."""

    name: str
    rate: float
    dim: int

    def extract(self, wavs: list[np.ndarray]) -> list: ...

    def describe(self) -> dict: ...


@runtime_checkable
class PerUtteranceFeatures(FrameFeatures, Protocol):
    """Features computed one utterance at a time on the CPU (MFCC): the labeling run can compute them
    in its decoding threads."""

    def extract_one(self, wav: np.ndarray): ...
