"""Entry points and orchestration: corpus import, label bootstrapping, pipelines, experiments, reports.

`cli` (a dict of subcommand register functions from `commands/`), `labels_cli` + `label_sources` (the
label sources' options, built from their settings dataclasses in `labelers.sources`), `pipeline/`
(stages that call the library with typed settings), `presets` (default config files), `evaluation/`,
`report/`. May import `pretrain` and `labelers`; only the command-line mains turn errors into exit codes.
"""
