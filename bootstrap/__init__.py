"""Entry points and orchestration: corpus import, label bootstrapping, pipelines, experiments, reports."""
