"""Repeated seeds: `seeds: [1, 2, 3]` in an experiment runs every stage once per seed.

Each seed's copy of a stage gets the seed in its parameters (so its cache key differs) and its folder
under WORKDIR/seed{N}/. What the seed sets, per stage kind:
  train_asr  loop.seed (the teacher's initial weights and batch order)
  labels     --seed of the k-means fit (sources without k-means follow their upstream model's seed)
  pretrain   loop.seed (initial weights, batch order, crops, masks)
  scratch    the random initial weights
  evaluate   the probe's and the per-layer k-means' seed, and the fine-tuning's loop.seed
Stages downstream of a seeded stage differ per seed through their upstream keys as well.
"""

from __future__ import annotations

import copy
import dataclasses

from bootstrap.pipeline.experiment import Experiment, StageSpec


def _with_override(mapping: dict | None, key: str, value) -> dict:
    out = dict(mapping or {})
    out[key] = value  # dotted keys are flattened with the others (pretrain.overrides.flatten); this one comes last
    return out


def seeded_params(spec: StageSpec, seed: int) -> dict:
    params = copy.deepcopy(spec.params)
    if spec.kind in ("train_asr", "pretrain"):
        params["overrides"] = _with_override(params.get("overrides"), "loop.seed", seed)
    elif spec.kind == "labels":
        if "n_clusters" in params or "kmeans" in params:
            params["seed"] = seed
    elif spec.kind == "scratch":
        params["seed"] = seed
    elif spec.kind == "evaluate":
        params["seed"] = seed
        if params.get("finetune"):
            params["finetune_overrides"] = _with_override(params.get("finetune_overrides"), "loop.seed", seed)
    return params


def seeded_experiment(exp: Experiment, seed: int) -> Experiment:
    """The experiment as run for one seed: same stages, seeded parameters, its own folder."""
    stages = [StageSpec(s.name, s.kind, seeded_params(s, seed)) for s in exp.stages]
    return dataclasses.replace(exp, stages=stages, workdir=exp.workdir / f"seed{seed}", seeds=[seed])


def run_seeds(exp: Experiment, only: list[str] | None = None, log=print) -> dict:
    """{seed: {stage name: record}}; an experiment without `seeds` gives {None: records} (one run)."""
    from bootstrap.pipeline.runner import run_experiment

    if not exp.seeds:
        return {None: run_experiment(exp, only=only, log=log)}
    out = {}
    for i, seed in enumerate(exp.seeds):
        log(f"=== seed {seed} ({i + 1}/{len(exp.seeds)}) ===")
        out[seed] = run_experiment(seeded_experiment(exp, seed), only=only,
                                   log=lambda msg, s=seed: log(f"[seed {s}] {msg}"))
    return out
