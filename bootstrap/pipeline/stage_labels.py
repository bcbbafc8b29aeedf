"""Labels stage: any registered label source, built from its typed settings, then the label quality on
the valid split. Calls the library (`labelers.sources.label_with_source`), no command line in between."""

from __future__ import annotations

import json
from pathlib import Path

from bootstrap.pipeline.errors import StageError
from labelers.quality import format_quality, label_set_quality, write_quality
from labelers.sources import RunSettings, label_with_source, source

OWN_KEYS = ("source", "model", "splits", "threads", "max_teacher_cer")
# Stage parameters that configure the run rather than the source (RunSettings fields; no_progress inverted).
RUN_KEYS = ("device", "batch_seconds", "num_shards", "shard_id", "chunk_utterances", "workers", "overwrite",
            "no_progress")


def check_teacher(params: dict, ctx) -> None:
    """`max_teacher_cer: 0.8` refuses to label with a teacher stage whose valid CER is above it: a CTC
    teacher that never left the blank plateau gives near-constant labels (docs/results.md, seed 3)."""
    limit = params.get("max_teacher_cer")
    if limit is None:
        return
    teacher = params.get("model")
    cer = (ctx.result_of(teacher).get("valid") or {}).get("cer") if teacher else None
    if cer is None:
        raise StageError(f"max_teacher_cer is set but '{teacher}' is not a train_asr stage of this experiment "
                         "with a valid CER")
    if cer > float(limit):
        raise StageError(f"teacher '{teacher}': valid CER {100 * cer:.1f}% is above max_teacher_cer "
                         f"{100 * float(limit):.1f}%; its labels would carry little (retrain it: another seed, "
                         "more updates)")


def run(params: dict, ctx, folder: Path) -> dict:
    check_teacher(params, ctx)
    label_dir = folder / "labels"
    splits = params.get("splits") or [ctx.splits["unlabeled"], ctx.splits["valid"]]
    spec = source(params["source"])
    # As on the command line: an absent, null or false option takes the source's default.
    given = {k: v for k, v in params.items() if v is not None and v is not False}
    options = {k: v for k, v in given.items() if k not in OWN_KEYS and k not in RUN_KEYS}
    if params.get("model"):
        options["model"] = ctx.output_of(params["model"])
    if "n_clusters" in params and "fit_split" not in params:
        options["fit_split"] = ctx.splits["unlabeled"]
    if params.get("threads"):
        import torch

        torch.set_num_threads(int(params["threads"]))
    run_values = {k: given[k] for k in RUN_KEYS if k in given and k != "no_progress"}
    run_settings = RunSettings.from_values(data=str(ctx.data_dir), splits=list(splits), out=str(label_dir),
                                           summary_json=str(folder / "summary.json"),
                                           progress=not given.get("no_progress", False), **run_values)
    label_with_source(spec.name, spec.settings(**options), run_settings)
    result = {"path": str(label_dir), "source": params["source"]}
    valid = ctx.splits["valid"]
    if (Path(ctx.data_dir) / f"{valid}.phn").is_file() and valid in splits:
        quality = label_set_quality(label_dir, ctx.data_dir, valid)
        write_quality(quality, folder / "quality.json")
        print(format_quality(quality))
        result["quality"] = {k: v for k, v in quality.items() if not k.startswith("_")}  # as in quality.json
    if (folder / "summary.json").is_file():
        result["summary"] = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return result
