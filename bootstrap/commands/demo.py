"""`bootstrap demo`: the main job on the embedded default corpus (for now: build it and describe it)."""

from __future__ import annotations

import sys

from labelers.summary import format_summary, summarize_corpus


def print_corpus_summary(data_dir, file=None) -> dict:
    """Print the corpus summary table (utterances, minutes, speakers, phones per split); return it."""
    summary = summarize_corpus(data_dir)
    print(format_summary(summary), file=file or sys.stdout)
    return summary


def run(args) -> int:
    from labelers.synth.default import default_corpus
    from labelers.synth.espeak import SynthUnavailableError

    try:
        data_dir = default_corpus(minutes=args.minutes, seed=args.seed)
    except SynthUnavailableError as e:
        print(f"bootstrap demo: {e}", file=sys.stderr)
        return 2
    print_corpus_summary(data_dir)
    return 0


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the demo on the embedded synthetic corpus (generated on first use)")
    p.add_argument("--minutes", type=float, default=10.0, help="size of the default corpus (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)
