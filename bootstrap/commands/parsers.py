"""What the `bootstrap` subcommands' parsers share: the subcommand itself, `--threads`, experiment arguments."""

from __future__ import annotations

import argparse

THREADS_HELP = "torch CPU threads (default: torch's choice; 1 is often fastest on a busy small machine)"


def add_command(sub, name: str, help: str, description: str, func, *, show_defaults: bool = True):
    """A subcommand parser that runs `func(args)`."""
    p = sub.add_parser(name, help=help, description=description,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter if show_defaults else argparse.HelpFormatter)
    p.set_defaults(func=func)
    return p


def add_threads_argument(p, help: str = THREADS_HELP) -> None:
    p.add_argument("--threads", type=int, default=None, help=help)


def apply_threads(args) -> None:
    """--threads N: torch.set_num_threads(N) (torch imported only then)."""
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def add_experiment_arguments(p, default_config: str | None = None) -> None:
    p.add_argument("--config", required=default_config is None, default=default_config,
                   help="experiment YAML: a path or a name in conf/experiments/ (e.g. compare_sources)" + (" (default: %(default)s)" if default_config else ""))
    p.add_argument("--workdir", help="where stage folders go (default: the experiment's workdir)")
    p.add_argument("--only", help="comma-separated stages to run, with the stages they depend on")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="override experiment keys, e.g. stages.it1_mfcc.overrides.loop.max_steps=100")


def add_experiment_command(sub, name: str, help: str, description: str, func, default_config: str | None = None):
    """A subcommand that runs an experiment file (`run`, `compare`, `demo`)."""
    p = add_command(sub, name, help, description, func, show_defaults=False)
    add_experiment_arguments(p, default_config)
    return p
