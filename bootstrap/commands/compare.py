"""`bootstrap compare --config conf/experiments/compare_sources.yaml`: both routes, then report.md."""

from __future__ import annotations

from pathlib import Path

from bootstrap.commands.parsers import add_experiment_command
from bootstrap.commands.run import load


def compare(exp, out_dir: Path | None = None, only: str | None = None):
    """Run (or reuse) every stage, then write report.md, comparison.json and the figures."""
    from bootstrap.pipeline.seeds import run_seeds
    from bootstrap.report.markdown import comparison_table, write_comparison

    records_by_seed = run_seeds(exp, only=only.split(",") if only else None)  # every stage once per seed
    report, comparison = write_comparison(exp, records_by_seed, out_dir or exp.workdir / "report")
    print()
    print(comparison_table(comparison))
    print(f"\nreport: {report}")
    return report, comparison


def run(args) -> int:
    compare(load(args), Path(args.out) if args.out else None, args.only)
    return 0


def register(sub) -> None:
    p = add_experiment_command(sub, "compare", "run the label-source comparison and write report.md with figures",
                               "Run every stage of a comparison experiment (the ASR route and the classic "
                               "MFCC route with the same model size, steps and data), then write report.md, "
                               "comparison.json and PNG figures.", run)
    p.add_argument("--out", help="report folder (default: WORKDIR/report)")
