"""Expected errors as one line: every command-line entry point is wrapped by `cli_errors(prog)`.

An expected error (bad input, bad config, missing file, full disk: ValueError, OSError and the
audio errors) prints `PROG: error: WHAT` on stderr and exits 1. `--debug` anywhere on the command
line, or HUBERT_BOOTSTRAP_DEBUG=1 in the environment, re-raises it with its traceback instead.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import os
import sys

DEBUG_FLAG = "--debug"
DEBUG_ENV = "HUBERT_BOOTSTRAP_DEBUG"
EXPECTED = (ValueError, OSError)


def is_expected(exc: BaseException) -> bool:
    """ValueError / OSError (and subclasses: ConfigError, LabelStoreError, DiskFullError...), an AudioError
    or a LaunchError.
    The audio module is looked up only if loaded: importing it (torch, torchaudio) would slow `--help`."""
    if isinstance(exc, EXPECTED):
        return True
    audio = sys.modules.get("labelers.corpus.audio")
    loop = sys.modules.get("pretrain.loop")  # LaunchError: processes that do not form one job
    return (audio is not None and isinstance(exc, audio.AudioError)) or (
        loop is not None and isinstance(exc, loop.LaunchError)
    )


def debug_requested(argv: list[str]) -> bool:
    return DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def one_line(exc: BaseException) -> str:
    """The exception as one line: `file: reason` for OS errors, whitespace collapsed for the rest."""
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def cli_errors(prog: str):
    """Decorator for `main(argv=None)`: strips `--debug`, turns expected errors into one line + exit 1."""

    def wrap(main):
        @functools.wraps(main)
        def wrapped(argv: list[str] | None = None, *args, **kwargs):
            argv = list(sys.argv[1:] if argv is None else argv)
            debug = debug_requested(argv)
            argv = [a for a in argv if a != DEBUG_FLAG]
            try:
                return main(argv, *args, **kwargs)
            except Exception as e:
                if debug or not is_expected(e):
                    raise
                print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
                raise SystemExit(1) from None
            except KeyboardInterrupt:
                if debug:
                    raise
                print(f"{prog}: interrupted", file=sys.stderr)
                raise SystemExit(130) from None

        return wrapped

    return wrap
