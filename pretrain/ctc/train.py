"""Train a CTC ASR model (the bootstrap teacher, or a fine-tuned pre-trained encoder).

The generic training engine (`pretrain.loop`) runs the `CTCTask`: mixed precision, accumulation,
checkpoints every N updates with exact resume, TensorBoard/JSONL logs and a progress bar.

Output folder: the model in transformers format (`AutoModelForCTC` / `AutoProcessor` load it), the
engine's `train_log.jsonl`, `curves.png`, `summary.json` and `checkpoints/`, and `asr_summary.json`
written last: its presence marks a finished run.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from labelers.corpus.atomic import write_json

from pretrain.ctc.asr_config import ASRConfig
from pretrain.ctc.asr_task import CTCTask

SUMMARY_FILE = "asr_summary.json"


def train_asr(data_dir, split: str, out_dir, cfg: ASRConfig, init=None, valid_split: str | None = "valid",
              resume: bool = True) -> dict:
    """Train on `split`, score `valid_split` with greedy CER/WER, save to `out_dir`; returns the summary."""
    from pretrain.loop import LoopConfig, make_accelerator, run_training

    from labelers.corpus.split import open_split

    for name in (split, valid_split) if valid_split else (split,):
        open_split(data_dir, name)  # a missing corpus or split is refused before OUT exists
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    loop_cfg = LoopConfig(**{**cfg.loop, "output_dir": str(out_dir), "resume": cfg.loop.get("resume", "auto") if resume else "none"})
    loop_cfg.betas = tuple(loop_cfg.betas)
    accelerator = make_accelerator(loop_cfg)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        from accelerate.utils import set_seed

        set_seed(loop_cfg.seed)  # the from-scratch model's initial weights follow the seed
        task = CTCTask(cfg, data_dir, split, tmp, valid_split, init)
        info = task.describe()
        result = run_training(task, loop_cfg, accelerator)
    valid = result.get("validation") or {}
    summary = {
        "data_dir": str(Path(data_dir).resolve()), "split": split, "valid_split": valid_split, **info,
        "updates": result["updates"], "epochs": result["epochs"], "audio_hours_seen": result["audio_hours"],
        "skipped_steps": result["skipped_steps"], "wall_seconds": round(time.time() - t0, 2),
        "total_flops": result.get("total_flops"), "flops_per_audio_s": result.get("flops_per_audio_s"),
        "runtime_skipped": task.runtime_skips, "valid": valid, "evals": _evals(out_dir / "train_log.jsonl"),
        "config": cfg.as_dict(),
    }
    if accelerator.is_main_process:
        write_json(out_dir / SUMMARY_FILE, summary)
    return summary


def _evals(log_path: Path) -> list[dict]:
    if not log_path.is_file():
        return []
    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    return [{k: r[k] for k in ("step", "loss", "cer", "wer") if k in r} for r in rows if r.get("split") == "valid"]


def load_summary(asr_dir) -> dict | None:
    """The finished run's summary, or None when `asr_dir` holds no finished run."""
    path = Path(asr_dir) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def print_summary(summary: dict, out_dir) -> None:
    v = summary.get("valid") or {}
    print(f"train-asr: {summary['architecture']} ({summary['parameters'] / 1e6:.2f} M params, "
          f"{summary['frame_seconds'] * 1000:.0f} ms frames, vocab {summary['vocab_size']})")
    skipped = summary["train_skipped"] + summary["runtime_skipped"]
    print(f"  data: {summary['train_utterances']} utterances, {summary['train_seconds'] / 60:.1f} min; "
          f"skipped {len(summary['train_skipped'])} before training, {len(summary['runtime_skipped'])} unreadable")
    for s in skipped[:5]:
        print(f"    skipped {s['utt']}: {s['reason']}")
    print(f"  {summary['updates']} updates, {summary['audio_hours_seen'] * 3600:.0f} audio-s seen, "
          f"{summary['wall_seconds']:.0f} s wall")
    units = summary.get("units") or {}
    if units.get("units") == "phones":
        t = units["train"]
        line = f"  units: {summary['vocab_size'] - 3} phones from {units['phones_from']}"
        if units["phones_from"] == "lexicon":
            line += (f" ({units['lexicon']['lexicon']}); OOV words dropped: {t['oov_words']} of {t['words']} "
                     f"({100 * t['oov_rate']:.1f}%), e.g. {t['oov_examples'][:5]}")
        print(line)
    if v and "per" in v:
        print(f"  {summary['valid_split']}: PER {100 * v['per']:.1f}%  ({int(v['utterances'])} utterances, greedy)")
    elif v:
        print(f"  {summary['valid_split']}: CER {100 * v['cer']:.1f}%  WER {100 * v['wer']:.1f}%  "
              f"({int(v['utterances'])} utterances, greedy)")
    print(f"  saved: {out_dir}")
