"""Pre-training stage: `python -m pretrain` on the corpus with one or more earlier label stages."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from bootstrap.pipeline.argv import overrides, read_json
from bootstrap.pipeline.cache import resolve_config


def run(params: dict, ctx, folder: Path) -> dict:
    labels = params["labels"] if isinstance(params["labels"], list) else [params["labels"]]
    label_dirs = [ctx.output_of(ref) for ref in labels]
    argv = ["--config", str(resolve_config(params.get("config", "tiny"), "pretrain")),
            f"data.data_dir={ctx.data_dir}",
            f"data.train_split={ctx.splits['unlabeled']}",
            f"data.valid_split={ctx.splits['valid']}",
            f"data.label_dirs={'[' + ','.join(label_dirs) + ']'}",
            f"loop.output_dir={folder}"]
    argv += overrides(params.get("overrides"))
    launch = params.get("launch")  # e.g. "accelerate launch --config_file conf/accelerate/multi_gpu_8.yaml"
    if launch:
        cmd = shlex.split(launch) + ["-m", "pretrain"] + argv
        subprocess.run(cmd, check=True)
        summary = read_json(folder / "summary.json")
    else:
        from pretrain.__main__ import main as pretrain_main

        summary = pretrain_main(argv)
    hf_dir = Path(summary.get("hf_dir") or folder / "hf")
    if not hf_dir.is_dir():
        sys.exit(f"pre-training in {folder} finished without an hf/ export")
    return {"path": str(hf_dir), "run_dir": str(folder), "log": str(folder / "train_log.jsonl"),
            "labels": labels, "summary": summary}
