"""Labels stage: `bootstrap-labels` with any source, then the label quality on the valid split."""

from __future__ import annotations

from pathlib import Path

from bootstrap import labels_cli
from labelers.quality import format_quality, label_set_quality, write_quality

from bootstrap.pipeline.argv import options, read_json

OWN_KEYS = ("source", "model", "splits")


def run(params: dict, ctx, folder: Path) -> dict:
    label_dir = folder / "labels"
    splits = params.get("splits") or [ctx.splits["unlabeled"], ctx.splits["valid"]]
    argv = ["--source", params["source"], "--data", str(ctx.data_dir), "--splits", ",".join(splits),
            "--out", str(label_dir), "--summary-json", str(folder / "summary.json")]
    if params.get("model"):
        argv += ["--model", ctx.output_of(params["model"])]
    if "n_clusters" in params and "fit_split" not in params:
        argv += ["--fit-split", ctx.splits["unlabeled"]]
    argv += options(params, skip=OWN_KEYS)
    code = labels_cli.main(argv)
    if code:
        raise RuntimeError(f"bootstrap-labels {' '.join(argv)} exited with {code}")
    result = {"path": str(label_dir), "source": params["source"]}
    valid = ctx.splits["valid"]
    if (Path(ctx.data_dir) / f"{valid}.phn").is_file() and valid in splits:
        quality = label_set_quality(label_dir, ctx.data_dir, valid)
        write_quality(quality, folder / "quality.json")
        print(format_quality(quality))
        result["quality"] = {k: v for k, v in quality.items() if not k.startswith("_")}  # as in quality.json
    if (folder / "summary.json").is_file():
        result["summary"] = read_json(folder / "summary.json")
    return result
