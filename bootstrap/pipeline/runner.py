"""Run an experiment's stages in order, skipping finished ones and resuming unfinished ones."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from bootstrap.pipeline.cache import load_done, mark_done, stage_dir, stage_key
from bootstrap.pipeline import stage_evaluate, stage_labels, stage_pretrain, stage_scratch, stage_teacher
from bootstrap.pipeline.experiment import Experiment, StageSpec

# kind -> `run(params, ctx, folder) -> result dict`
STAGES = {
    "train_asr": stage_teacher.run,
    "labels": stage_labels.run,
    "pretrain": stage_pretrain.run,
    "scratch": stage_scratch.run,
    "evaluate": stage_evaluate.run,
}


@dataclass
class StageContext:
    """What a stage sees: the corpus, the split roles, and the results of earlier stages."""

    data_dir: Path
    splits: dict
    records: dict = field(default_factory=dict)

    def output_of(self, ref: str) -> str:
        """A stage name resolves to its output folder; anything else is taken as a path."""
        if ref in self.records:
            return self.records[ref]["result"]["path"]
        if not Path(ref).exists():
            raise FileNotFoundError(f"'{ref}' is neither a finished stage nor an existing folder")
        return ref

    def result_of(self, ref: str) -> dict:
        return self.records[ref]["result"] if ref in self.records else {}


def prepare_corpus(exp: Experiment) -> tuple[Path, str]:
    """The corpus folder and a key for it (synthetic corpora are generated into the cache once)."""
    corpus = exp.corpus
    if "path" in corpus:
        path = Path(corpus["path"])
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: corpus folder not found (experiment {exp.source})")
        return path, f"path:{path.resolve()}"
    if "synth" in corpus:
        from labelers.corpus.synth.default import default_corpus

        opts = corpus["synth"] or {}
        path = default_corpus(minutes=float(opts.get("minutes", 10.0)), seed=int(opts.get("seed", 0)))
        return path, f"synth:{opts.get('minutes', 10.0)}:{opts.get('seed', 0)}"
    raise ValueError(f"{exp.source}: corpus needs 'path: DIR' or 'synth: {{minutes, seed}}'")


def run_experiment(exp: Experiment, only: list[str] | None = None, log=print) -> dict[str, dict]:
    """Run (or reuse) every stage; `only` limits the run to those stages and what they depend on."""
    data_dir, corpus_key = prepare_corpus(exp)
    ctx = StageContext(data_dir=data_dir, splits=exp.splits)
    wanted = _with_dependencies(exp, only) if only else {s.name for s in exp.stages}
    for spec in exp.stages:
        if spec.name not in wanted:
            continue
        ctx.records[spec.name] = _run_stage(exp, spec, ctx, corpus_key, log)
    return ctx.records


def _run_stage(exp: Experiment, spec: StageSpec, ctx: StageContext, corpus_key: str, log) -> dict:
    upstream = {ref: ctx.records[ref]["key"] for ref in spec.references() if ref in ctx.records}
    upstream["corpus"] = corpus_key
    upstream["splits"] = json.dumps(ctx.splits, sort_keys=True)
    key = stage_key(spec.kind, spec.params, upstream)
    folder = stage_dir(exp.workdir, spec.name, key)
    done = load_done(folder, key)
    if done is not None:
        log(f"[{spec.name}] done earlier ({folder}); skipping")
        return done
    state = "resuming" if folder.exists() else "starting"
    log(f"[{spec.name}] {state} {spec.kind} in {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    result = STAGES[spec.kind](dict(spec.params), ctx, folder)
    record = mark_done(folder, spec.name, spec.kind, key, spec.params, result, time.perf_counter() - start,
                       cpu_seconds=_cpu_seconds() - cpu_start)
    log(f"[{spec.name}] finished in {record['seconds']:.1f} s ({record['cpu_seconds']:.0f} CPU-s, "
        f"load {record['loadavg']})")
    return record


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children, all threads: on a shared machine it says what a
    stage costs better than its wall time (idle wall time ~ CPU seconds / cores used)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _with_dependencies(exp: Experiment, names: list[str]) -> set[str]:
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        stack.extend(r for r in exp.stage(name).references() if r in {s.name for s in exp.stages})
    return wanted
