"""`bootstrap run --config conf/experiments/NAME.yaml`: run a declared sequence of stages, cached."""

from __future__ import annotations

import sys


def add_experiment_arguments(p, default_config: str | None = None) -> None:
    p.add_argument("--config", required=default_config is None, default=default_config,
                   help="experiment YAML (conf/experiments/*.yaml)" + (" (default: %(default)s)" if default_config else ""))
    p.add_argument("--workdir", help="where stage folders go (default: the experiment's workdir)")
    p.add_argument("--only", help="comma-separated stages to run, with the stages they depend on")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="override experiment keys, e.g. stages.it1_mfcc.overrides.loop.max_steps=100")


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
    p = sub.add_parser("run", help="run an experiment's stages (finished stages are skipped, unfinished resumed)",
                       description="Run the stages declared in an experiment YAML: corpus, labels (any source), "
                       "pre-training iterations, teacher training, evaluation. Each stage's output goes to its "
                       "own folder keyed by its config, so a rerun skips finished stages and a killed run "
                       "continues where it stopped.")
    add_experiment_arguments(p)
    p.set_defaults(func=run)
