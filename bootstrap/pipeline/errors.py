"""The error a pipeline stage raises when it cannot finish (the command line turns it into an exit code)."""

from __future__ import annotations


class StageError(RuntimeError):
    """A stage ran but did not produce what it promises (e.g. pre-training without an hf/ export)."""
