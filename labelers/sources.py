"""The registry of label sources: name -> settings dataclass + builder; and the labeling run for a source.

    from labelers.sources import SOURCES, RunSettings, label_with_source
    settings = SOURCES["mfcc"].settings(n_clusters=100)          # a MfccSettings, checked
    summary = label_with_source("mfcc", settings, RunSettings(data="corpus", splits=["train"], out="labels"))

Each source has a small dataclass of its own settings (its command-line options, one field per option;
field metadata holds the help text and choices that `bootstrap.label_sources` turns into an argparse
group). What every source shares - the corpus, splits, output folder, device, batch size, sharding -
is `RunSettings`. Adding a source: a settings dataclass, a `build(settings, run) -> Labeler` function
and, for k-means sources, `features(settings, run)`; then `register(SourceSpec(...))`.

Library code raises `LabelSourceError` (a ValueError); only the command line turns it into an exit code.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labelers.labeler import FrameFeatures, Labeler, LabelSourceError


def option(default=None, help: str = "", choices: tuple | None = None, **extra):
    """A settings field with its command-line help (and choices)."""
    return field(default=default, metadata={"help": help, "choices": choices, **extra})


def coerce_fields(cls: type, values: dict) -> dict:
    """Values converted to the declared field types as a command line would (YAML `1` for a float field
    is 1.0, `8` for a str field "8"), so settings from code and from argv record identical provenance."""
    hints = typing.get_type_hints(cls)
    out = {}
    for key, value in values.items():
        base = base_type(hints[key]) if key in hints else None
        if value is not None and base in (int, float, str) and not isinstance(value, bool):
            try:
                value = base(value)
            except (TypeError, ValueError):
                raise LabelSourceError(f"--{key.replace('_', '-')}: {value!r} is not a {base.__name__}") from None
        out[key] = value
    return out


def base_type(tp):
    """`int | None` -> int; `str | os.PathLike` -> str; other types as they are."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return next(a for a in typing.get_args(tp) if a is not type(None))
    return tp


@dataclass
class RunSettings:
    """What every source's run needs, whichever the source."""

    data: str | os.PathLike
    splits: list[str]
    out: str | os.PathLike
    device: str | None = None           # None: the accelerate process's device, else cuda if present
    batch_seconds: float = 100.0        # audio per batch, padded length x utterances
    num_shards: int | None = None
    shard_id: int | None = None
    chunk_utterances: int = 256
    workers: int | None = None          # audio decoding threads
    overwrite: bool = False
    progress: bool = True
    summary_json: str | os.PathLike | None = None

    def __post_init__(self):
        if isinstance(self.splits, str):
            self.splits = [s for s in self.splits.split(",") if s]
        if (self.num_shards is None) != (self.shard_id is None):
            raise LabelSourceError("--num-shards and --shard-id go together")

    @classmethod
    def from_values(cls, **values) -> "RunSettings":
        """From untyped values (an experiment file): unknown keys refused, types converted."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise LabelSourceError(f"unknown labeling option(s) {unknown}")
        return cls(**coerce_fields(cls, values))


@dataclass
class KMeansSettings:
    """k-means sources: a fitted model (`kmeans`) or K to fit first (`n_clusters`); fairseq's defaults."""

    kmeans: str | None = option(help="fitted k-means folder (from fit-kmeans); k-means sources")
    n_clusters: int | None = option(help="number of clusters K (fairseq: 100 MFCC, 500 hubert)")
    fit_split: str | None = option(help="split to fit k-means on when --n-clusters is given (default: the first of --splits)")
    percent: float = option(0.1, help="fraction of utterances to fit on (default 0.1; <=0 or >=1: all)")
    seed: int = option(0)
    max_iter: int = option(100)
    kmeans_batch_size: int = option(10000, help="frames per minibatch (default 10000)")
    max_no_improvement: int = option(100)
    n_init: int = option(20, help="k-means++ candidates (default 20)")
    init_size: int | None = option(help="frames per k-means++ candidate (default 3 x batch size)")
    cache_dir: str | None = option(help="where the streamed feature cache lives while fitting (default: the output folder)")


@dataclass
class MfccSettings(KMeansSettings):
    pass


@dataclass
class HubertSettings(KMeansSettings):
    model: str | None = option(help="model folder for model-based sources (transformers format)")
    layer: int | None = option(help="hidden layer whose features are clustered (hubert)")
    chunk_seconds: float = option(60.0, help="hubert, asr, asr-features: longer utterances are encoded in chunks "
                                             "of this length (default 60)")


@dataclass
class AsrSettings:
    model: str | None = option(help="model folder for model-based sources (transformers format)")
    transcripts: str = option("auto", choices=("auto", "none", "require"),
                              help="asr: align .wrd/.ltr transcripts with ctc-segmentation (auto: when every split "
                                   "has them) or use the best path (none)")
    blank: str = option("hold", choices=("hold", "nearest", "keep"),
                        help="asr: a blank frame takes the preceding token (hold), the nearer token (nearest) or "
                             "is its own class (keep)")
    label_rate: int = option(50, help="asr, asr-features: labels per second (default 50, HuBERT's frame rate)")
    min_confidence: float | None = option(help="asr: skip utterances whose alignment confidence (ctc-segmentation "
                                               "score, a log-probability <= 0) is below this, e.g. -2")
    strict: bool = option(False, help="asr: skip utterances whose transcript has characters the model lacks "
                                      "(default: drop the characters and count them)")
    unalignable: str = option("skip", choices=("skip", "best-path"),
                              help="asr: what to do with transcripts that cannot be aligned (empty, too long)")
    align_workers: int | None = option(help="asr: processes aligning transcripts in parallel (default: min(8, "
                                            "cores-1) on GPU, 0 on CPU)")
    dtype: str | None = option(choices=("auto", "fp32", "bf16", "fp16"),
                               help="asr, asr-features: autocast dtype on GPU (auto: bf16 on GPU, fp32 on CPU)")
    chunk_seconds: float = option(60.0, help="hubert, asr, asr-features: longer utterances are encoded in chunks "
                                             "of this length (default 60)")


@dataclass
class AsrFeaturesSettings(KMeansSettings):
    model: str | None = option(help="model folder for model-based sources (transformers format)")
    layer: int | None = option(help="hidden layer whose features are clustered (hubert)")
    label_rate: int = option(50, help="asr, asr-features: labels per second (default 50, HuBERT's frame rate)")
    dtype: str | None = option(choices=("auto", "fp32", "bf16", "fp16"),
                               help="asr, asr-features: autocast dtype on GPU (auto: bf16 on GPU, fp32 on CPU)")
    chunk_seconds: float = option(60.0, help="hubert, asr, asr-features: longer utterances are encoded in chunks "
                                             "of this length (default 60)")


@dataclass
class SourceSpec:
    name: str
    help: str
    settings_class: type
    build: Callable[[object, RunSettings], Labeler]
    # k-means sources: the features that are clustered (and that `fit-kmeans` streams).
    features: Callable[[object, RunSettings], FrameFeatures] | None = None

    @property
    def is_kmeans(self) -> bool:
        return self.features is not None

    def option_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.settings_class)]

    def settings(self, **values):
        """This source's settings from keyword values; a key of another source (or of none) is refused."""
        own = set(self.option_names())
        for key in values:
            if key not in own:
                owners = [n for n, s in SOURCES.items() if key in s.option_names()]
                where = f"an option of {', '.join(owners)}" if owners else "not an option of any label source"
                raise LabelSourceError(f"--{key.replace('_', '-')} is {where}, not of --source {self.name}")
        return self.settings_class(**coerce_fields(self.settings_class, values))


SOURCES: dict[str, SourceSpec] = {}


def register(spec: SourceSpec) -> SourceSpec:
    if spec.name in SOURCES:
        raise LabelSourceError(f"label source {spec.name!r} is registered twice")
    SOURCES[spec.name] = spec
    return spec


def source(name: str) -> SourceSpec:
    if name not in SOURCES:
        raise LabelSourceError(f"unknown label source {name!r} (have {', '.join(SOURCES)})")
    return SOURCES[name]


def resolve_device(device: str | None):
    """`device`, else this process's accelerate device (GPU under `accelerate launch`), else cuda/cpu."""
    import torch

    from labelers.distributed import distributed_state

    if device:
        return torch.device(device)
    state = distributed_state()
    if state is not None:
        return state.device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---------------------------------------------------------------- k-means sources

def kmeans_dir_for(settings: KMeansSettings, run: RunSettings) -> Path:
    """Where `n_clusters` without `kmeans` puts the fitted model: OUT/kmeans."""
    return Path(settings.kmeans) if settings.kmeans else Path(run.out) / "kmeans"


def fit_source_kmeans(spec: SourceSpec, settings: KMeansSettings, run: RunSettings, split: str, out_dir: Path):
    """Fit k-means with K = settings.n_clusters on `split`'s features of this source into `out_dir`."""
    from labelers.kmeans import fit_kmeans

    if not spec.is_kmeans:
        raise LabelSourceError(f"--source {spec.name} is not a k-means source")
    return fit_kmeans(
        spec.features(settings, run), run.data, split, settings.n_clusters, out_dir,
        percent=settings.percent, seed=settings.seed, max_iter=settings.max_iter,
        batch_size=settings.kmeans_batch_size, max_no_improvement=settings.max_no_improvement,
        n_init=settings.n_init, init_size=settings.init_size, batch_seconds=run.batch_seconds,
        cache_dir=settings.cache_dir, device=resolve_device(run.device), progress=run.progress,
    )


def _build_kmeans_labeler(spec_name: str):
    def build(settings: KMeansSettings, run: RunSettings) -> Labeler:
        from labelers.kmeans import KMeansLabeler, KMeansModel

        spec = SOURCES[spec_name]
        km_dir = kmeans_dir_for(settings, run)
        if not settings.kmeans:
            if not settings.n_clusters:
                raise LabelSourceError(f"--source {spec_name} needs --kmeans DIR (a fitted model) or --n-clusters K "
                                       "(fit first)")
            if (km_dir / "kmeans.json").is_file():
                model = KMeansModel.load(km_dir)
                if model.n_clusters != settings.n_clusters:
                    raise LabelSourceError(f"{km_dir} holds K={model.n_clusters}, not --n-clusters "
                                           f"{settings.n_clusters}; remove it or pass --kmeans")
                print(f"reusing the k-means model fitted earlier in {km_dir}")
            else:
                _fit_once(spec, settings, run, km_dir)
        return KMeansLabeler(spec.features(settings, run), KMeansModel.load(km_dir), device=resolve_device(run.device))

    return build


def _fit_once(spec: SourceSpec, settings: KMeansSettings, run: RunSettings, km_dir: Path) -> None:
    """Fit in one process only: under `accelerate launch` the main process fits, the others wait."""
    from labelers.distributed import distributed_state

    split = settings.fit_split or run.splits[0]
    state = distributed_state()
    if state is None:
        if run.num_shards and run.num_shards > 1:
            raise LabelSourceError("separate shard jobs must share one k-means model: run `bootstrap-labels "
                                   "fit-kmeans` first and pass --kmeans DIR to every shard")
        fit_source_kmeans(spec, settings, run, split, km_dir)
        return
    if state.is_main_process:
        fit_source_kmeans(spec, settings, run, split, km_dir)
    state.wait_for_everyone()


def _mfcc_features(settings: MfccSettings, run: RunSettings):
    from labelers.features_mfcc import MfccFeatures

    return MfccFeatures()


def _model_features(settings: HubertSettings, run: RunSettings):
    from labelers.features_model import ModelFeatures

    if not settings.model:
        raise LabelSourceError("--source hubert needs --model DIR (a checkpoint folder transformers can load)")
    if settings.layer is None:
        raise LabelSourceError("--source hubert needs --layer L (e.g. 6 for HuBERT Base iteration 1; 9 for iteration 2)")
    return ModelFeatures(settings.model, layers=[settings.layer], device=resolve_device(run.device),
                         chunk_seconds=settings.chunk_seconds)


# ---------------------------------------------------------------- ASR (CTC) sources

def _teacher_units(settings: AsrSettings) -> dict:
    """teacher_units.json of a teacher trained here ({"units": "chars"} otherwise)."""
    from labelers.phone_encoder import teacher_units

    return teacher_units(settings.model) if settings.model else {"units": "chars"}


def _use_transcripts(settings: AsrSettings, run: RunSettings) -> bool:
    """transcripts auto: align when every split has .wrd or .ltr (a .phn teacher: .phn); none: best path."""
    if settings.transcripts == "none":
        return False
    from labelers.corpus.split import open_split

    exts = ("phn",) if _teacher_units(settings).get("phones_from") == "phn" else ("wrd", "ltr")
    have = {s: any(open_split(run.data, s).has(e) for e in exts) for s in run.splits}
    if all(have.values()):
        return True
    if settings.transcripts == "require" or any(have.values()):
        missing = sorted(s for s, ok in have.items() if not ok)
        raise LabelSourceError(f"--transcripts {settings.transcripts}: no {'/'.join('.' + e for e in exts)} for "
                               f"split(s) {missing}; label them in a separate run with --transcripts none, or add "
                               "transcripts")
    return False


def _phone_encoder(settings: AsrSettings, model):
    """A phone teacher aligns phone transcriptions made the way its training targets were."""
    units = _teacher_units(settings)
    if units.get("units") != "phones":
        return None
    from labelers.phone_encoder import PhoneTranscriptEncoder

    try:
        return PhoneTranscriptEncoder(units, model.vocab, model.blank_id, strict=settings.strict)
    except ValueError as e:  # LexiconError too
        raise LabelSourceError(f"--model {settings.model}: {e}") from None


def _asr_model(source_name: str, settings: AsrSettings | AsrFeaturesSettings, run: RunSettings):
    from labelers.ctc_posteriors import CTCModel

    if not settings.model:
        raise LabelSourceError(f"--source {source_name} needs --model (a CTC model folder or a model id in the "
                               "local HF cache)")
    return CTCModel.load(settings.model, device=str(resolve_device(run.device)), dtype=settings.dtype or "auto")


def _align_workers(settings: AsrSettings, run: RunSettings) -> int:
    """align_workers, else: on GPU a pool of CPU processes (alignment would otherwise idle the GPU),
    on CPU none (torch already uses the cores for inference)."""
    if settings.align_workers is not None:
        return settings.align_workers
    return min(8, max(0, (os.cpu_count() or 1) - 1)) if resolve_device(run.device).type == "cuda" else 0


def _build_asr_labeler(settings: AsrSettings, run: RunSettings) -> Labeler:
    from labelers.asr_labeler import AsrLabeler

    model = _asr_model("asr", settings, run)
    return AsrLabeler(
        model, encoder=_phone_encoder(settings, model), blank=settings.blank, label_rate=settings.label_rate,
        use_transcripts=_use_transcripts(settings, run), min_confidence=settings.min_confidence,
        strict=settings.strict, unalignable=settings.unalignable, batch_seconds=run.batch_seconds,
        chunk_seconds=settings.chunk_seconds, align_workers=_align_workers(settings, run),
    )


def _asr_features(settings: AsrFeaturesSettings, run: RunSettings):
    from labelers.features_ctc import CtcEncoderFeatures

    return CtcEncoderFeatures(_asr_model("asr-features", settings, run), layer=settings.layer,
                              rate=settings.label_rate, batch_seconds=run.batch_seconds,
                              chunk_seconds=settings.chunk_seconds)


def _kmeans_source(name: str, help: str, settings_class: type, features) -> SourceSpec:
    return SourceSpec(name, help, settings_class, _build_kmeans_labeler(name), features)


register(_kmeans_source("mfcc", "k-means on fairseq's 39-dim MFCCs (100 Hz), HuBERT iteration 1",
                        MfccSettings, _mfcc_features))
register(_kmeans_source("hubert", "k-means on layer L of a transformers speech encoder (50 Hz), iteration 2+",
                        HubertSettings, _model_features))
register(SourceSpec("asr", "frame targets from a CTC ASR model's aligned token posteriors", AsrSettings,
                    _build_asr_labeler))
register(_kmeans_source("asr-features", "k-means on a hidden layer of a CTC ASR model's encoder (--layer, "
                        "default second-to-last)", AsrFeaturesSettings, _asr_features))


# ---------------------------------------------------------------- random projection (BEST-RQ)

@dataclass
class RqSettings:
    """`rq`: a random-projection quantizer (`labelers.random_projection`), drawn once and stored in OUT/rq."""

    n_clusters: int | None = option(help="number of clusters K (fairseq: 100 MFCC, 500 hubert); rq: codebook size")
    quantizer: str | None = option(help="rq: a quantizer folder (rq.npz + rq.json) to reuse (default: OUT/rq, "
                                        "drawn on the first run from --seed, statistics from --fit-split)")
    fit_split: str | None = option(help="split to fit k-means on when --n-clusters is given (default: the first of "
                                        "--splits); rq: the split the normalisation statistics come from")
    percent: float = option(0.1, help="fraction of utterances to fit on (default 0.1; <=0 or >=1: all)")
    seed: int = option(0)
    code_dim: int = option(16, help="rq: codebook dimension (BEST-RQ: 16)")


def _build_rq_labeler(settings: RqSettings, run: RunSettings) -> Labeler:
    """--quantizer loads one; otherwise OUT/rq is reused when present, else measured and drawn once."""
    from labelers.distributed import distributed_state
    from labelers.random_projection import RandomProjectionLabeler, RandomProjectionQuantizer, fit_quantizer

    q_dir = Path(settings.quantizer) if settings.quantizer else Path(run.out) / "rq"
    if settings.quantizer or (q_dir / "rq.json").is_file():
        try:
            q = RandomProjectionQuantizer.load(q_dir)
        except (OSError, KeyError, ValueError) as e:
            raise LabelSourceError(f"--quantizer: {e}") from None
        if settings.n_clusters and q.n_codes != settings.n_clusters:
            raise LabelSourceError(f"{q_dir} holds a codebook of {q.n_codes} codes, not --n-clusters "
                                   f"{settings.n_clusters}; remove it or pass --quantizer")
        if not settings.quantizer:
            print(f"reusing the random-projection quantizer drawn earlier in {q_dir}")
        return RandomProjectionLabeler(q)
    if not settings.n_clusters:
        raise LabelSourceError("--source rq needs --n-clusters K (codebook size) or --quantizer DIR")
    if run.num_shards and run.num_shards > 1:
        raise LabelSourceError("separate shard jobs must share one quantizer: label one split first (or pass "
                               "--quantizer DIR to every shard)")
    state = distributed_state()
    if state is None or state.is_main_process:
        fit_quantizer(run.data, settings.fit_split or run.splits[0], settings.n_clusters, q_dir,
                      code_dim=settings.code_dim, seed=settings.seed, percent=settings.percent,
                      batch_seconds=run.batch_seconds, progress=run.progress)
    if state is not None:
        state.wait_for_everyone()
    return RandomProjectionLabeler(RandomProjectionQuantizer.load(q_dir))


register(SourceSpec("rq", "random-projection quantizer of normalised stacked log-mels (BEST-RQ, 50 Hz, "
                    "--n-clusters = codebook size), no k-means", RqSettings, _build_rq_labeler))


# ---------------------------------------------------------------- the run

def label_with_source(name: str, settings, run: RunSettings) -> dict:
    """Build source `name` from `settings` and label `run.splits` into `run.out`; returns the summary
    (with the source's own counts under "labeler"), also written to `run.summary_json` when set."""
    import json

    from labelers.labeling_run import label_corpus

    spec = source(name)
    if not isinstance(settings, spec.settings_class):
        raise LabelSourceError(f"--source {name} takes {spec.settings_class.__name__}, not {type(settings).__name__}")
    labeler = spec.build(settings, run)
    summary = label_corpus(
        labeler, run.data, run.splits, run.out, num_shards=run.num_shards, shard_id=run.shard_id,
        batch_seconds=run.batch_seconds, chunk_utterances=run.chunk_utterances, num_workers=run.workers,
        overwrite=run.overwrite, progress=run.progress,
    )
    extra = labeler.summary()
    if extra is not None:  # source-specific counts (ASR: alignments, removed characters, ...)
        summary["labeler"] = extra
        print(f"  {labeler.source}: " + json.dumps(extra))
    if run.summary_json:
        from labelers.corpus.atomic import write_json

        write_json(run.summary_json, summary)
    return summary
