"""`bootstrap corpus synth|librispeech|folder|hf`: build fairseq-style corpus folders."""

from __future__ import annotations

import sys


def _print_reports(reports) -> int:
    for r in reports:
        print(r.summary())
    return 0


def run_synth(args) -> int:
    from labelers.corpus.synth.espeak import SynthUnavailableError
    from labelers.corpus.synth.generate import generate_corpus

    from bootstrap.commands.demo import print_corpus_summary

    try:
        info = generate_corpus(args.out, minutes=args.minutes, seed=args.seed, overwrite=args.force)
    except SynthUnavailableError as e:
        print(f"bootstrap corpus synth: {e}", file=sys.stderr)
        return 2
    except FileExistsError as e:
        print(f"bootstrap corpus synth: {e}", file=sys.stderr)
        return 1
    audio_min = sum(s["minutes"] for n, s in info["splits"].items() if n != "labeled")
    print(f"synthesized {audio_min:.2f} min of audio in {info['elapsed_s']:.1f} s")
    print_corpus_summary(args.out)
    return 0


def _clean_errors(fn):
    """Bad arguments or inputs (missing folder, unknown split, wrong column): one line, exit code 1."""

    def wrapped(args) -> int:
        try:
            return fn(args)
        except (FileNotFoundError, NotADirectoryError, ValueError) as e:
            print(f"bootstrap corpus {args.corpus_command}: {e}", file=sys.stderr)
            return 1

    return wrapped


@_clean_errors
def run_librispeech(args) -> int:
    from labelers.corpus.importers.librispeech import import_librispeech

    return _print_reports(import_librispeech(args.root, args.out, args.split_name, workers=args.workers))


@_clean_errors
def run_folder(args) -> int:
    from labelers.corpus.importers.folder import import_folder

    report = import_folder(
        args.root, args.out, args.split_name, require_text=args.require_text, convert=args.convert, workers=args.workers
    )
    return _print_reports([report])


@_clean_errors
def run_hf(args) -> int:
    from labelers.corpus.importers.hf import import_hf

    reports = import_hf(args.dataset, args.out, args.split, args.audio_column, args.text_column, args.split_name)
    return _print_reports(reports)


def register(sub) -> None:
    p = sub.add_parser("corpus", help="build corpus folders (manifests, transcripts, phones)")
    cs = p.add_subparsers(dest="corpus_command", required=True, metavar="SOURCE")

    s = cs.add_parser("synth", help="synthetic English speech with exact phone timings (needs the [synth] extra)")
    s.add_argument("--out", required=True, help="output folder (created; built in a temp folder, then renamed)")
    s.add_argument("--minutes", type=float, default=10.0, help="total audio: 80%% train, 10%% valid, 10%% test")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--force", action="store_true", help="replace an existing output folder")
    s.set_defaults(func=run_synth)

    ls = cs.add_parser("librispeech", help="LibriSpeech layout: speaker/chapter/*.flac + *.trans.txt")
    ls.add_argument("--root", required=True, help="a subset folder (dev-clean) or LibriSpeech/ with several")
    ls.add_argument("--out", required=True)
    ls.add_argument("--split-name", help="split name (default: the subset folder's name)")
    ls.add_argument("--workers", type=int, default=1, help="processes decoding audio for validation")
    ls.set_defaults(func=run_librispeech)

    f = cs.add_parser("folder", help="any folder of audio files, optional sidecar .txt transcripts")
    f.add_argument("--root", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--split-name", help="split name (default: the folder's name)")
    f.add_argument("--require-text", action="store_true", help="skip files without a sidecar transcript")
    f.add_argument("--convert", action="store_true", help="write 16 kHz mono FLAC copies under OUT/audio/")
    f.add_argument("--workers", type=int, default=1)
    f.set_defaults(func=run_folder)

    h = cs.add_parser("hf", help="a `datasets` dataset: saved to disk, an audio folder, or in the local cache")
    h.add_argument("--dataset", required=True, help="folder or dataset name (offline: never downloads)")
    h.add_argument("--out", required=True)
    h.add_argument("--split", help="dataset split to import (default: all)")
    h.add_argument("--split-name", help="name of the written split (default: the dataset split's name)")
    h.add_argument("--audio-column", help="default: the first Audio column")
    h.add_argument("--text-column", help="default: the first of text, sentence, transcript, ...")
    h.set_defaults(func=run_hf)
