"""`bootstrap demo` (what `make demo` runs): the label-source comparison on the embedded synthetic corpus."""

from __future__ import annotations

import sys
from labelers.corpus.summary import format_summary, summarize_corpus

from bootstrap.commands.parsers import add_experiment_command
from bootstrap.commands.run import load

from conf import find_config

DEMO_EXPERIMENT = find_config("compare_sources", "experiments")


def print_corpus_summary(data_dir, file=None) -> dict:
    """Print the corpus summary table (utterances, minutes, speakers, phones per split); return it."""
    summary = summarize_corpus(data_dir)
    print(format_summary(summary), file=file or sys.stdout)
    return summary


def run(args) -> int:
    from bootstrap.commands.compare import compare
    from bootstrap.pipeline.runner import prepare_corpus
    from labelers.corpus.synth.espeak import SynthUnavailableError

    exp = load(args)
    try:
        data_dir, _ = prepare_corpus(exp)
    except SynthUnavailableError as e:
        print(f"bootstrap demo: {e}", file=sys.stderr)
        return 2
    print_corpus_summary(data_dir)
    if args.corpus_only:
        return 0
    compare(exp, only=args.only)
    return 0


def register(sub) -> None:
    p = add_experiment_command(
        sub, "demo", "the label-source comparison on the embedded synthetic corpus (~10 min on 2 CPU cores)",
        "Generate (once) the default synthetic corpus, then run the comparison experiment: MFCC k-means -> 2 "
        "pre-training iterations versus a CTC teacher's targets -> 1 iteration, with label quality, per-layer "
        "probes and CER after fine-tuning. Prints the comparison table and the path of report.md. Finished "
        "stages are reused on a rerun.", run, default_config=str(DEMO_EXPERIMENT))
    p.add_argument("--corpus-only", action="store_true", help="only build and describe the corpus")
