"""`bootstrap run --config conf/experiments/NAME.yaml`: run a declared sequence of stages, cached."""

from __future__ import annotations

import sys

from bootstrap.commands.parsers import add_experiment_command


def load(args):
    from pathlib import Path

    from bootstrap.pipeline.experiment import ExperimentError, load_experiment

    try:
        exp = load_experiment(args.config, args.overrides)
    except ExperimentError as e:
        sys.exit(f"bootstrap: {e}")
    if args.workdir:
        exp.workdir = Path(args.workdir)
    return exp


def run(args) -> int:
    from bootstrap.pipeline.seeds import run_seeds

    exp = load(args)
    for seed, records in run_seeds(exp, only=args.only.split(",") if args.only else None).items():
        print(f"{len(records)} stages done{'' if seed is None else f' for seed {seed}'}; folders under {exp.workdir}")
        for name, rec in records.items():
            print(f"  {name:<16} {rec['kind']:<10} {rec['seconds']:>7.1f} s  {rec['result'].get('path', '')}")
    return 0


def register(sub) -> None:
    add_experiment_command(sub, "run", "run an experiment's stages (finished stages are skipped, unfinished resumed)",
                           "Run the stages declared in an experiment YAML: corpus, labels (any source), "
                           "pre-training iterations, teacher training, evaluation. Each stage's output goes to its "
                           "own folder keyed by its config, so a rerun skips finished stages and a killed run "
                           "continues where it stopped.", run)
