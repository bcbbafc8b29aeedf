"""Registry of label sources for `bootstrap-labels`: name -> how to add its options and build it.

Adding a source takes a few lines:

    from bootstrap.label_sources import LabelSource, register
    register(LabelSource("asr", "token posteriors of a CTC model", add_arguments=..., build_labeler=...))

k-means sources (features + k-means) use `kmeans_source(name, help, build_features)`: it handles
`--kmeans DIR` (load) and `--n-clusters K` (fit first), and lets `fit-kmeans` use the same features.
Options shared by several sources (--model, --layer, --device, k-means options) are defined once by
the CLI; `add_arguments` adds only a source's own extra options.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LabelSource:
    name: str
    help: str
    build_labeler: Callable[[argparse.Namespace], object]
    add_arguments: Callable[[argparse._ArgumentGroup], None] | None = None
    # For k-means sources: the feature extractor `fit-kmeans` streams from.
    build_features: Callable[[argparse.Namespace], object] | None = None


SOURCES: dict[str, LabelSource] = {}


def register(source: LabelSource) -> LabelSource:
    SOURCES[source.name] = source
    return source


def resolve_device(args: argparse.Namespace):
    """--device, else this process's accelerate device (GPU under `accelerate launch`), else cuda/cpu."""
    import torch

    from labelers.distributed import distributed_state

    if getattr(args, "device", None):
        return torch.device(args.device)
    state = distributed_state()
    if state is not None:
        return state.device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def kmeans_dir_for(args: argparse.Namespace) -> Path:
    """Where `--n-clusters` without `--kmeans` puts the fitted model: OUT/kmeans."""
    return Path(args.kmeans) if args.kmeans else Path(args.out) / "kmeans"


def fit_from_args(source: LabelSource, args: argparse.Namespace, split: str, out_dir: Path):
    from labelers.kmeans import fit_kmeans

    return fit_kmeans(
        source.build_features(args), args.data, split, args.n_clusters, out_dir,
        percent=args.percent, seed=args.seed, max_iter=args.max_iter, batch_size=args.kmeans_batch_size,
        max_no_improvement=args.max_no_improvement, n_init=args.n_init, init_size=args.init_size,
        batch_seconds=args.batch_seconds, cache_dir=args.cache_dir, device=resolve_device(args),
        progress=not args.no_progress,
    )


def kmeans_source(name: str, help: str, build_features: Callable[[argparse.Namespace], object],
                  add_arguments: Callable | None = None) -> LabelSource:
    """A label source = k-means over `build_features(args)`; fits first when only --n-clusters is given."""

    def build_labeler(args):
        from labelers.kmeans import KMeansLabeler, KMeansModel

        km_dir = kmeans_dir_for(args)
        if not args.kmeans:
            if not args.n_clusters:
                raise SystemExit(f"--source {name} needs --kmeans DIR (a fitted model) or --n-clusters K (fit first)")
            done = (km_dir / "kmeans.json").is_file()
            if done:
                model = KMeansModel.load(km_dir)
                if model.n_clusters != args.n_clusters:
                    raise SystemExit(f"{km_dir} holds K={model.n_clusters}, not --n-clusters {args.n_clusters}; "
                                     "remove it or pass --kmeans")
                print(f"reusing the k-means model fitted earlier in {km_dir}")
            else:
                _fit_once(source, args, km_dir)
        return KMeansLabeler(build_features(args), KMeansModel.load(km_dir), device=resolve_device(args))

    source = LabelSource(name, help, build_labeler, add_arguments, build_features)
    return source


def _fit_once(source: LabelSource, args, km_dir: Path) -> None:
    """Fit in one process only: under `accelerate launch` the main process fits, the others wait."""
    from labelers.distributed import distributed_state

    split = args.fit_split or args.splits.split(",")[0]
    state = distributed_state()
    if state is None:
        if args.num_shards and args.num_shards > 1:
            raise SystemExit("separate shard jobs must share one k-means model: run `bootstrap-labels fit-kmeans` "
                             "first and pass --kmeans DIR to every shard")
        fit_from_args(source, args, split, km_dir)
        return
    if state.is_main_process:
        fit_from_args(source, args, split, km_dir)
    state.wait_for_everyone()


# ---------------------------------------------------------------- built-in sources

def _mfcc_features(args):
    from labelers.features_mfcc import MfccFeatures

    return MfccFeatures()


def _model_features(args):
    from labelers.features_model import ModelFeatures

    if not args.model:
        raise SystemExit("--source hubert needs --model DIR (a checkpoint folder transformers can load)")
    if args.layer is None:
        raise SystemExit("--source hubert needs --layer L (e.g. 6 for HuBERT Base iteration 1; 9 for iteration 2)")
    return ModelFeatures(args.model, layers=[args.layer], device=resolve_device(args),
                         chunk_seconds=args.chunk_seconds)


def _add_model_arguments(group) -> None:
    group.add_argument("--chunk-seconds", type=float, default=60.0,
                       help="hubert, asr, asr-features: longer utterances are encoded in chunks of this length (default 60)")


register(kmeans_source("mfcc", "k-means on fairseq's 39-dim MFCCs (100 Hz), HuBERT iteration 1", _mfcc_features))
register(kmeans_source("hubert", "k-means on layer L of a transformers speech encoder (50 Hz), iteration 2+",
                       _model_features, _add_model_arguments))


# ---------------------------------------------------------------- ASR (CTC) sources

def _asr_device_dtype(args):
    device = resolve_device(args)
    return str(device), (args.dtype or "auto")


def _use_transcripts(args) -> bool:
    """--transcripts auto: align when every split has .wrd or .ltr; none: best path everywhere."""
    if args.transcripts == "none":
        return False
    from labelers.corpus.split import open_split

    exts = ("phn",) if _teacher_units(args).get("phones_from") == "phn" else ("wrd", "ltr")
    have = {s: any(open_split(args.data, s).has(e) for e in exts) for s in args.splits.split(",") if s}
    if all(have.values()):
        return True
    if args.transcripts == "require" or any(have.values()):
        missing = sorted(s for s, ok in have.items() if not ok)
        raise SystemExit(f"--transcripts {args.transcripts}: no {'/'.join('.' + e for e in exts)} for split(s) {missing}; label them "
                         "in a separate run with --transcripts none, or add transcripts")
    return False


def _asr_model(args):
    from labelers.ctc_posteriors import CTCModel

    if not args.model:
        raise SystemExit(f"--source {args.source} needs --model (a CTC model folder or a model id in the local HF cache)")
    device, dtype = _asr_device_dtype(args)
    return CTCModel.load(args.model, device=device, dtype=dtype)


def _teacher_units(args) -> dict:
    """teacher_units.json of a teacher trained here ({"units": "chars"} otherwise)."""
    from labelers.phone_encoder import teacher_units

    return teacher_units(args.model) if args.model else {"units": "chars"}


def _phone_encoder(args, model):
    """A phone teacher aligns phone transcriptions made the way its training targets were."""
    units = _teacher_units(args)
    if units.get("units") != "phones":
        return None
    from labelers.corpus.phone_transcripts import LexiconError
    from labelers.phone_encoder import PhoneTranscriptEncoder

    try:
        return PhoneTranscriptEncoder(units, model.vocab, model.blank_id, strict=args.strict)
    except (LexiconError, ValueError) as e:
        raise SystemExit(f"--model {args.model}: {e}") from None


def _build_asr_labeler(args):
    from labelers.asr_labeler import AsrLabeler

    model = _asr_model(args)
    return AsrLabeler(
        model, encoder=_phone_encoder(args, model), blank=args.blank, label_rate=args.label_rate, use_transcripts=_use_transcripts(args),
        min_confidence=args.min_confidence, strict=args.strict, unalignable=args.unalignable,
        batch_seconds=args.batch_seconds, chunk_seconds=args.chunk_seconds,
        align_workers=_align_workers(args),
    )


def _align_workers(args) -> int:
    """--align-workers, else: on GPU a pool of CPU processes (alignment would otherwise idle the GPU),
    on CPU none (torch already uses the cores for inference)."""
    if args.align_workers is not None:
        return args.align_workers
    import os

    return min(8, max(0, (os.cpu_count() or 1) - 1)) if resolve_device(args).type == "cuda" else 0


def _asr_features(args):
    from labelers.features_ctc import CtcEncoderFeatures

    return CtcEncoderFeatures(_asr_model(args), layer=args.layer, rate=args.label_rate,
                              batch_seconds=args.batch_seconds, chunk_seconds=args.chunk_seconds)


def _add_asr_arguments(group) -> None:
    group.add_argument("--transcripts", choices=("auto", "none", "require"), default="auto",
                       help="asr: align .wrd/.ltr transcripts with ctc-segmentation (auto: when every split has "
                            "them) or use the best path (none)")
    group.add_argument("--blank", choices=("hold", "nearest", "keep"), default="hold",
                       help="asr: a blank frame takes the preceding token (hold), the nearer token (nearest) or "
                            "is its own class (keep)")
    group.add_argument("--label-rate", type=int, default=50,
                       help="asr, asr-features: labels per second (default 50, HuBERT's frame rate)")
    group.add_argument("--min-confidence", type=float, default=None,
                       help="asr: skip utterances whose alignment confidence (ctc-segmentation score, a "
                            "log-probability <= 0) is below this, e.g. -2")
    group.add_argument("--strict", action="store_true",
                       help="asr: skip utterances whose transcript has characters the model lacks (default: "
                            "drop the characters and count them)")
    group.add_argument("--unalignable", choices=("skip", "best-path"), default="skip",
                       help="asr: what to do with transcripts that cannot be aligned (empty, too long)")
    group.add_argument("--align-workers", type=int, default=None,
                       help="asr: processes aligning transcripts in parallel (default: min(8, cores-1) on GPU, 0 on CPU)")
    group.add_argument("--dtype", choices=("auto", "fp32", "bf16", "fp16"), default=None,
                       help="asr, asr-features: autocast dtype on GPU (auto: bf16 on GPU, fp32 on CPU)")


register(LabelSource("asr", "frame targets from a CTC ASR model's aligned token posteriors", _build_asr_labeler,
                     _add_asr_arguments))
register(kmeans_source("asr-features", "k-means on a hidden layer of a CTC ASR model's encoder (--layer, "
                       "default second-to-last)", _asr_features))


# ---------------------------------------------------------------- random-projection source (BEST-RQ)

def _build_rq_labeler(args):
    """--quantizer DIR loads one; otherwise OUT/rq is reused when present, else measured and drawn."""
    from labelers.random_projection import RandomProjectionLabeler, RandomProjectionQuantizer, fit_quantizer

    q_dir = Path(args.quantizer) if args.quantizer else Path(args.out) / "rq"
    if args.quantizer or (q_dir / "rq.json").is_file():
        try:
            q = RandomProjectionQuantizer.load(q_dir)
        except (OSError, KeyError, ValueError) as e:
            raise SystemExit(f"--quantizer {q_dir}: {e}") from None
        if args.n_clusters and q.n_codes != args.n_clusters:
            raise SystemExit(f"{q_dir} holds a codebook of {q.n_codes} codes, not --n-clusters {args.n_clusters}; "
                             "remove it or pass --quantizer")
        if not args.quantizer:
            print(f"reusing the random-projection quantizer drawn earlier in {q_dir}")
    else:
        if not args.n_clusters:
            raise SystemExit("--source rq needs --n-clusters K (codebook size) or --quantizer DIR")
        if args.num_shards and args.num_shards > 1:
            raise SystemExit("separate shard jobs must share one quantizer: label one split first (or pass "
                             "--quantizer DIR to every shard)")
        from labelers.distributed import distributed_state

        state = distributed_state()
        if state is None or state.is_main_process:
            fit_quantizer(args.data, args.fit_split or args.splits.split(",")[0], args.n_clusters, q_dir,
                          code_dim=args.code_dim, seed=args.seed, percent=args.percent,
                          batch_seconds=args.batch_seconds, progress=not args.no_progress)
        if state is not None:
            state.wait_for_everyone()
        q = RandomProjectionQuantizer.load(q_dir)
    return RandomProjectionLabeler(q)


def _add_rq_arguments(group) -> None:
    group.add_argument("--quantizer", help="rq: a quantizer folder (rq.npz + rq.json) to reuse (default: OUT/rq, "
                                           "drawn on the first run from --seed, statistics from --fit-split)")
    group.add_argument("--code-dim", type=int, default=16, help="rq: codebook dimension (BEST-RQ: 16)")


register(LabelSource("rq", "random-projection quantizer of normalised stacked log-mels (BEST-RQ, 50 Hz, "
                     "--n-clusters = codebook size), no k-means", _build_rq_labeler, _add_rq_arguments))
