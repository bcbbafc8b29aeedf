"""An experiment file: the corpus, then named stages in order, each referring to earlier ones by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pretrain.config_ranges import safe_yaml

from conf import find_config
from pretrain.overrides import OverrideError, apply_overrides as _apply_overrides

STAGE_KINDS = ("train_asr", "labels", "pretrain", "scratch", "evaluate")
# Keys whose values name earlier stages (a string or a list of strings).
REFERENCE_KEYS = ("model", "labels", "init")


class ExperimentError(ValueError):
    pass


@dataclass
class StageSpec:
    name: str
    kind: str
    params: dict = field(default_factory=dict)

    def references(self) -> list[str]:
        refs = []
        for key in REFERENCE_KEYS:
            value = self.params.get(key)
            if isinstance(value, str):
                refs.append(value)
            elif isinstance(value, list):
                refs.extend(v for v in value if isinstance(v, str))
        return refs


@dataclass
class Experiment:
    name: str
    workdir: Path
    corpus: dict
    splits: dict
    stages: list[StageSpec]
    compare: dict = field(default_factory=dict)
    source: Path | None = None
    seeds: list[int] = field(default_factory=list)  # empty: one run with each stage's own seeds

    def stage(self, name: str) -> StageSpec:
        for spec in self.stages:
            if spec.name == name:
                return spec
        raise ExperimentError(f"no stage named '{name}' (have {[s.name for s in self.stages]})")


DEFAULT_SPLITS = {"unlabeled": "train", "labeled": "labeled", "valid": "valid", "test": "test"}


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """`a.b.c=value` (value parsed as YAML) into a copy of the nested dict."""
    try:
        return _apply_overrides(raw, overrides)
    except OverrideError as e:
        raise ExperimentError(str(e)) from None


def load_experiment(path: str | Path, overrides: list[str] | None = None) -> Experiment:
    path = find_config(path, "experiments")
    if not path.is_file():
        raise ExperimentError(f"{path}: experiment file not found")
    raw = safe_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    raw = apply_overrides(raw, overrides or [])
    for key in ("name", "corpus", "stages"):
        if key not in raw:
            raise ExperimentError(f"{path}: missing top-level key '{key}'")
    stages: list[StageSpec] = []
    seen: set[str] = set()
    for name, body in (raw["stages"] or {}).items():
        body = dict(body or {})
        kind = body.pop("kind", None)
        if kind not in STAGE_KINDS:
            raise ExperimentError(f"{path}: stage '{name}' has kind {kind!r}; expected one of {STAGE_KINDS}")
        if kind == "scratch" and "like" in body:
            body = _like(body, stages, name, path)
        spec = StageSpec(name, kind, body)
        for ref in spec.references():
            if ref not in seen and not _looks_like_path(ref):
                raise ExperimentError(f"{path}: stage '{name}' refers to '{ref}', which is not an earlier stage")
        stages.append(spec)
        seen.add(name)
    _check_pairs(raw.get("compare") or {}, stages, path)
    workdir = Path(raw.get("workdir", Path("runs") / raw["name"]))
    return Experiment(
        name=raw["name"],
        workdir=workdir,
        corpus=raw["corpus"],
        splits={**DEFAULT_SPLITS, **(raw.get("splits") or {})},
        stages=stages,
        compare=raw.get("compare") or {},
        source=path,
        seeds=_seeds(raw.get("seeds"), path),
    )


def _check_pairs(compare: dict, stages: list[StageSpec], path: Path) -> None:
    """`compare.pairs: {name: [A, B]}` must name two evaluate stages: checked before hours of stages run."""
    evaluates = {s.name for s in stages if s.kind == "evaluate"} | {s.params.get("model") for s in stages
                                                                      if s.kind == "evaluate"}
    for name, refs in (compare.get("pairs") or {}).items():
        if not isinstance(refs, list) or len(refs) != 2:
            raise ExperimentError(f"{path}: compare.pairs.{name}: expected [A, B], two evaluate stages; got {refs!r}")
        bad = [ref for ref in refs if ref not in evaluates]
        if bad:
            raise ExperimentError(f"{path}: compare.pairs.{name}: {', '.join(map(str, bad))} is not an evaluate "
                                  "stage (or the model of one)")


def _like(body: dict, stages: list[StageSpec], name: str, path: Path) -> dict:
    """`like: it1_asr` on a scratch stage copies that pre-training stage's `config` and `overrides`, so
    the baseline has the same encoder as the models it is compared with."""
    ref = body.pop("like")
    other = next((s for s in stages if s.name == ref), None)
    if other is None or other.kind != "pretrain":
        raise ExperimentError(f"{path}: stage '{name}': 'like: {ref}' must name an earlier pretrain stage")
    copied = {k: other.params[k] for k in ("config", "overrides") if k in other.params}
    return {**copied, **body}


def _seeds(value, path: Path) -> list[int]:
    """`seeds: [1, 2, 3]` repeats every stage once per seed (bootstrap/pipeline/seeds.py)."""
    if value is None:
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ExperimentError(f"{path}: 'seeds' must be a non-empty list of integers, got {value!r}")
    if len(set(value)) != len(value):
        raise ExperimentError(f"{path}: 'seeds' lists a seed twice: {value}")
    return list(value)


def _looks_like_path(ref: str) -> bool:
    """A reference may also be an existing folder (a CTC model, a label set) instead of a stage name."""
    return "/" in ref or Path(ref).exists()
