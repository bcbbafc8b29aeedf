"""`bootstrap` command: one subcommand per module in bootstrap/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

from pretrain.cli_errors import cli_errors

# Each module defines `register(subparsers)`, which adds its parser and sets `func`.
COMMANDS = [
    "bootstrap.commands.make_corpus",
    "bootstrap.commands.train_asr",
    "bootstrap.commands.evaluate",
    "bootstrap.commands.run",
    "bootstrap.commands.compare",
    "bootstrap.commands.demo",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bootstrap",
        description="HuBERT pre-training with academic compute: corpora, label sources, pipelines, comparisons.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


@cli_errors("bootstrap")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
