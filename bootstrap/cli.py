"""`bootstrap` command: one subcommand per module in bootstrap/commands/."""

from __future__ import annotations

import argparse
import sys

from pretrain.cli_errors import cli_errors

from bootstrap.commands import compare, demo, evaluate, make_corpus, run, train_asr

# command -> `register(subparsers)`, which adds the command's parser and sets `func`.
COMMANDS = {
    "corpus": make_corpus.register,
    "train-asr": train_asr.register,
    "evaluate": evaluate.register,
    "run": run.register,
    "compare": compare.register,
    "demo": demo.register,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bootstrap",
        description="HuBERT pre-training with academic compute: corpora, label sources, pipelines, comparisons.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS.values():
        register(sub)
    return parser


@cli_errors("bootstrap")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as e:
        if not isinstance(e, _typed_errors()):
            raise
        print(f"bootstrap {args.command}: {e}", file=sys.stderr)  # a typed library error: one line
        return 1


def _typed_errors() -> tuple[type, ...]:
    """The library's typed errors (imported only when something failed: pretrain.config pulls in torch)."""
    from bootstrap.pipeline.errors import StageError
    from bootstrap.pipeline.experiment import ExperimentError
    from labelers.labeler import LabelSourceError
    from pretrain.config import ConfigError

    return (LabelSourceError, ConfigError, ExperimentError, StageError)


if __name__ == "__main__":
    sys.exit(main())
