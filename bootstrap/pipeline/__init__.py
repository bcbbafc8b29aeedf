"""Declared stage sequences (corpus → labels → pre-training → teacher → evaluation), cached per config.

`experiment` (the YAML file), `cache` (stage keys), `seeds` (every stage once per seed), `runner` (`STAGES`,
a dict of stage functions), `stage_*` (one per kind: labels, pretrain, teacher, evaluate, scratch), `errors`
(`StageError`). Stages call `labelers`, `pretrain` and `bootstrap.evaluation` with typed settings; they never
import `bootstrap.commands` or parse a command line.
"""
