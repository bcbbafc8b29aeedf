"""`bootstrap-labels`: write frame labels for HuBERT pre-training, fit k-means, score labels.

    bootstrap-labels --source mfcc --data DIR --splits train,valid --n-clusters 100 --out LABELS
    bootstrap-labels fit-kmeans --source mfcc --data DIR --split train --n-clusters 100 --out KM
    bootstrap-labels quality --labels LABELS --reference DIR --split valid
    bootstrap-labels export-fairseq --labels LABELS --out FAIRSEQ_DIR
    bootstrap-labels import-fairseq --km-dir FAIRSEQ_DIR --data DIR --splits train,valid --source mfcc \\
        --label-rate 100 --out LABELS

Without a subcommand the command labels a corpus; the first word selects a subcommand otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pretrain.cli_errors import cli_errors

from bootstrap.commands.parsers import add_threads_argument, apply_threads
from bootstrap.label_sources import add_source_options, settings_from_args
from labelers.labeler import LabelSourceError
from labelers.labeling_run import check_inputs
from labelers.sources import SOURCES, RunSettings, fit_source_kmeans, label_with_source

SUBCOMMANDS = ("fit-kmeans", "quality", "export-fairseq", "import-fairseq")

EPILOG = """subcommands (see `bootstrap-labels SUBCOMMAND --help`):
  fit-kmeans      fit a k-means model on one split's features (bounded memory)
  quality         phone purity, cluster purity, PNMI, entropy ... against reference phones
  export-fairseq  write a plain fairseq layout (tsv + km + dict) from a label store
  import-fairseq  turn existing fairseq .km files into a validated label store

sources: {sources}

Sharding: --num-shards N --shard-id I labels one part; when every part exists the last one to
finish merges them. Under `accelerate launch` the processes shard automatically. Rerunning a killed
run reuses the finished parts and writes byte-identical files."""


def _source_help() -> str:
    return "; ".join(f"{name} ({s.help})" for name, s in SOURCES.items())


def _add_feature_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("features")
    g.add_argument("--source", required=True, choices=sorted(SOURCES), help="label source")
    g.add_argument("--device", help="torch device (default: the accelerate process's device, else cuda if present)")
    g.add_argument("--batch-seconds", type=float, default=100.0,
                   help="audio per batch, padded length x utterances (default 100)")
    add_source_options(p)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_threads_argument(p, help="torch intra-op CPU threads (default: torch's choice). 1 is fastest for MFCC labeling "
                         "on a busy machine: Kaldi MFCC ops are small and threads only contend")


DESCRIPTIONS = {
    "fit-kmeans": (
        "Fit k-means (MiniBatchKMeans, fairseq parameters) on features of a sample of one split's utterances, "
        "streaming minibatches from a disk cache so memory stays bounded. Writes OUT/kmeans.joblib and "
        "OUT/kmeans.json (inertia, frames, seconds, parameters)."
    ),
    "quality": (
        "Score a label store against reference phones ({split}.phn, 100 Hz) with fairseq's "
        "measure_teacher_quality formulas: phone purity, cluster purity, PNMI; plus label "
        "entropy/perplexity, used classes, average segment length."
    ),
    "export-fairseq": (
        "Write {split}.tsv, {split}.km, dict.km.txt (and .wrd/.ltr when present) in fairseq's layout. "
        "Skipped utterances are dropped from manifest, labels and transcripts together."
    ),
    "import-fairseq": (
        "Validate fairseq {split}.km files against this corpus's manifests and write a label store."
    ),
}


def _subcommand_parser(name: str, *required: tuple[str, str | None]) -> argparse.ArgumentParser:
    """`bootstrap-labels NAME` with its required `--option` (help) pairs."""
    p = argparse.ArgumentParser(prog=f"bootstrap-labels {name}", description=DESCRIPTIONS[name])
    for flag, help_text in required:
        p.add_argument(flag, required=True, help=help_text)
    return p


# ---------------------------------------------------------------- label (default command)

def label_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bootstrap-labels",
        description="Write frame labels for HuBERT pre-training into a label store "
                    "({split}.km, dict.km.txt, labels.json).",
        epilog=EPILOG.format(sources=_source_help()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="corpus folder with {split}.tsv manifests")
    p.add_argument("--splits", required=True, help="comma-separated splits, e.g. train,valid")
    p.add_argument("--out", required=True, help="label folder to write")
    _add_feature_args(p)
    g = p.add_argument_group("run")
    g.add_argument("--num-shards", type=int, default=None, help="split the work into N parts (fairseq nshard)")
    g.add_argument("--shard-id", type=int, default=None, help="which part this job labels, 0..N-1 (fairseq rank)")
    g.add_argument("--chunk-utterances", type=int, default=256,
                   help="rows per resumable unit of work (default 256); fixed per output folder")
    g.add_argument("--workers", type=int, default=None, help="audio decoding threads (default min(4, cores))")
    g.add_argument("--overwrite", action="store_true", help="replace labels from another source in --out")
    g.add_argument("--summary-json", help="also write the run summary to this JSON file")
    _common(p)
    return p


def run_label(argv: list[str]) -> int:
    p = label_parser()
    args = p.parse_args(argv)
    apply_threads(args)
    settings = settings_from_args(args)
    check_inputs(args.data, args.splits, args.num_shards, args.shard_id)  # before k-means fits into OUT
    run = RunSettings(
        data=args.data, splits=args.splits, out=args.out, device=args.device, batch_seconds=args.batch_seconds,
        num_shards=args.num_shards, shard_id=args.shard_id, chunk_utterances=args.chunk_utterances,
        workers=args.workers, overwrite=args.overwrite, progress=not args.no_progress, summary_json=args.summary_json,
    )
    label_with_source(args.source, settings, run)
    return 0


# ---------------------------------------------------------------- fit-kmeans

def run_fit_kmeans(argv: list[str]) -> int:
    p = _subcommand_parser(
        "fit-kmeans",
        ("--data", "corpus folder with {split}.tsv"), ("--out", "folder for the k-means model"),
    )
    p.add_argument("--split", default="train", help="split to fit on (default train)")
    _add_feature_args(p)
    _common(p)
    args = p.parse_args(argv)
    apply_threads(args)
    spec = SOURCES[args.source]
    if not spec.is_kmeans:
        raise LabelSourceError(f"--source {args.source} is not a k-means source")
    settings = settings_from_args(args)
    if not settings.n_clusters:
        p.error("the following arguments are required: --n-clusters")
    run = RunSettings(data=args.data, splits=[args.split], out=args.out, device=args.device,
                      batch_seconds=args.batch_seconds, progress=not args.no_progress)
    fit_source_kmeans(spec, settings, run, args.split, Path(args.out))
    return 0


# ---------------------------------------------------------------- quality

def run_quality(argv: list[str]) -> int:
    from labelers.quality import format_quality, label_set_quality, write_quality

    p = _subcommand_parser(
        "quality",
        ("--labels", "label folder"), ("--reference", "corpus folder with {split}.tsv and {split}.phn"),
    )
    p.add_argument("--split", default="valid")
    p.add_argument("--max-diff", type=int, default=None,
                   help="largest per-utterance length difference (100 Hz frames) trimmed silently (default 2 x upsampling + 1)")
    p.add_argument("--out", help="JSON output (default LABELS/quality.SPLIT.json)")
    args = p.parse_args(argv)
    q = label_set_quality(args.labels, args.reference, args.split, args.max_diff)
    out = Path(args.out) if args.out else Path(args.labels) / f"quality.{args.split}.json"
    write_quality(q, out)
    print(format_quality(q))
    print(f"  written to {out} and {out.with_suffix('.png')} (p(phone | label))")
    return 0


# ---------------------------------------------------------------- fairseq layouts

def run_export(argv: list[str]) -> int:
    from labelers.corpus.label_store import export_fairseq

    p = _subcommand_parser(
        "export-fairseq",
        ("--labels", None), ("--out", None),
    )
    p.add_argument("--splits", help="comma-separated (default: all in the label store)")
    p.add_argument("--data", help="corpus folder (default: the one recorded in labels.json)")
    args = p.parse_args(argv)
    dropped = export_fairseq(args.labels, args.out, args.splits.split(",") if args.splits else None, args.data)
    for split, n in dropped.items():
        print(f"{split}: exported to {args.out} ({n} skipped utterances left out)")
    return 0


def run_import(argv: list[str]) -> int:
    from labelers.corpus.label_store import import_fairseq

    p = _subcommand_parser(
        "import-fairseq",
        ("--km-dir", "folder with {split}.km (and optionally dict.km.txt)"),
        ("--data", "corpus folder whose {split}.tsv rows the .km lines follow"), ("--splits", None), ("--out", None),
    )
    p.add_argument("--source", required=True, help="name recorded as the label source (e.g. mfcc, hubert)")
    p.add_argument("--label-rate", type=float, required=True, help="labels per second (100 MFCC, 50 hubert)")
    p.add_argument("--num-classes", type=int, help="vocabulary size when there is no dict.km.txt")
    p.add_argument("--tolerance", type=int, default=1, help="frames a sequence may be off before it is refused")
    args = p.parse_args(argv)
    rate = int(args.label_rate) if float(args.label_rate).is_integer() else args.label_rate
    ls = import_fairseq(args.km_dir, args.data, args.splits.split(","), args.out, source=args.source,
                        label_rate=rate, num_classes=args.num_classes, tolerance=args.tolerance)
    print(json.dumps({"out": str(ls.label_dir), "counts": ls.info["counts"],
                      "length_adjusted": ls.info["origin"]["length_adjusted"]}, indent=2))
    return 0


COMMANDS = {"fit-kmeans": run_fit_kmeans, "quality": run_quality, "export-fairseq": run_export,
        "import-fairseq": run_import}


@cli_errors("bootstrap-labels")
def main(argv: list[str] | None = None) -> int:
    # Expected errors (LabelSourceError and other ValueErrors, OSError, AudioError) become one line and
    # exit status 1 in `cli_errors`; --debug shows the traceback.
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return int(COMMANDS[argv[0]](argv[1:]) or 0)
    return int(run_label(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
