"""Train a CTC ASR model (the bootstrap teacher, or a fine-tuned pre-trained encoder) with Accelerate.

Output folder: the model in transformers format (`AutoModelForCTC` / `AutoProcessor` load it), then
`train_log.jsonl` (one line per log/eval event), `asr_curves.png`, and `asr_summary.json` last: its
presence marks a finished run. Accelerate checkpoints go to `checkpoints/step_N` (kept: the latest).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from labelers.atomic import write_json

from .ctc_config import ASRConfig
from .ctc_task import CTCTask

SUMMARY_FILE = "asr_summary.json"


def lr_lambda(cfg: ASRConfig):
    """fairseq's tri-stage fine-tuning schedule (warmup, hold, exponential decay), or linear/constant."""
    total, warm = max(cfg.max_steps, 1), max(cfg.warmup_steps, 0)

    def f(step: int) -> float:
        if warm and step < warm:
            return (step + 1) / warm
        if cfg.schedule == "constant":
            return 1.0
        if cfg.schedule == "linear":
            return max(cfg.final_lr_scale, 1 - (step - warm) / max(total - warm, 1))
        hold_end = warm + int(cfg.hold_fraction * (total - warm))
        if step < hold_end:
            return 1.0
        frac = min(1.0, (step - hold_end) / max(total - hold_end, 1))
        return math.exp(math.log(cfg.final_lr_scale) * frac)

    return f


def _latest_checkpoint(ckpt_dir: Path) -> Path | None:
    done = [p for p in ckpt_dir.glob("step_*") if (p / "position.json").is_file()]
    return max(done, key=lambda p: int(p.name.split("_")[1])) if done else None


def train_asr(data_dir, split: str, out_dir, cfg: ASRConfig, init=None, valid_split: str | None = "valid",
              resume: bool = True, progress: bool = True) -> dict:
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    accelerator = Accelerator(mixed_precision=cfg.mixed_precision, gradient_accumulation_steps=cfg.grad_accum)
    set_seed(cfg.seed)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        task = CTCTask(cfg, data_dir, split, tmp, valid_split, init)
    info = task.describe()
    model = task.model
    trainable = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trainable if p.ndim >= 2]
    no_decay = [p for p in trainable if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    ckpt_dir = out_dir / "checkpoints"
    step, epoch, batch_in_epoch = 0, 0, 0
    latest = _latest_checkpoint(ckpt_dir) if resume else None
    if latest is not None:
        accelerator.load_state(str(latest))
        pos = json.loads((latest / "position.json").read_text())
        step, epoch, batch_in_epoch = pos["step"], pos["epoch"], pos["batch_in_epoch"]
        accelerator.print(f"resuming from {latest} (step {step})")

    log_path = out_dir / "train_log.jsonl"
    log = open(log_path, "a" if latest is not None else "w", encoding="utf-8")

    def emit(record: dict) -> None:
        if accelerator.is_main_process:
            log.write(json.dumps(record) + "\n")
            log.flush()

    def checkpoint() -> None:
        path = ckpt_dir / f"step_{step}"
        accelerator.save_state(str(path))
        if accelerator.is_main_process:
            write_json(path / "position.json", {"step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch})
            for old in ckpt_dir.glob("step_*"):
                if old != path:
                    shutil.rmtree(old, ignore_errors=True)

    bar = tqdm(total=cfg.max_steps, initial=step, desc="train-asr", disable=not progress or not accelerator.is_main_process,
               file=sys.stderr, dynamic_ncols=True)
    model.train()
    audio_seconds, nonfinite, evals, last_eval = 0.0, 0, [], {}
    running, running_n = 0.0, 0
    stop_reason = "max_steps"
    while step < cfg.max_steps:
        loader = accelerator.prepare(task.train_loader(epoch))
        if batch_in_epoch:
            loader = accelerator.skip_first_batches(loader, batch_in_epoch)
        for batch in loader:
            batch_in_epoch += 1
            with accelerator.accumulate(model):
                loss, metrics = task.step(model, batch)
                if loss is None:
                    continue
                if not torch.isfinite(loss):
                    nonfinite += 1
                    optimizer.zero_grad(set_to_none=True)
                    continue
                accelerator.backward(loss)
                task.after_backward(step)
                if accelerator.sync_gradients and cfg.clip_norm:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.clip_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            audio_seconds += metrics["audio_seconds"]
            running += float(loss.detach())
            running_n += 1
            if not accelerator.sync_gradients:
                continue
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.max_steps:
                rec = {"step": step, "loss": running / running_n, "lr": scheduler.get_last_lr()[0],
                       "audio_seconds": round(audio_seconds, 2), "elapsed": round(time.time() - t0, 2)}
                emit(rec)
                bar.set_postfix(loss=f"{rec['loss']:.3f}", lr=f"{rec['lr']:.2e}", cer=last_eval.get("cer", float("nan")))
                running, running_n = 0.0, 0
            if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps:
                last_eval = {"step": step, **task.evaluate(model, accelerator.device)}
                evals.append(last_eval)
                emit({"eval": last_eval})
            if cfg.save_every and step % cfg.save_every == 0:
                checkpoint()
            if cfg.max_train_seconds and time.time() - t0 > cfg.max_train_seconds:
                stop_reason = f"max_train_seconds={cfg.max_train_seconds}"
                break
            if step >= cfg.max_steps:
                break
        else:
            epoch, batch_in_epoch = epoch + 1, 0
            continue
        break
    bar.close()
    train_time = time.time() - t0
    final = {"step": step, **task.evaluate(model, accelerator.device, progress=progress)}
    evals.append(final)
    emit({"eval": final})
    log.close()
    if cfg.save_every:
        checkpoint()

    summary = {
        "data_dir": str(Path(data_dir).resolve()), "split": split, "valid_split": valid_split,
        **info, "steps": step, "epochs": epoch, "stopped_by": stop_reason,
        "train_wall_seconds": round(train_time, 2), "audio_seconds_seen": round(audio_seconds, 2),
        "nonfinite_steps_skipped": nonfinite, "runtime_skipped": task.runtime_skips,
        "valid": final, "evals": evals, "config": cfg.as_dict(),
    }
    if accelerator.is_main_process:
        task.save(accelerator.unwrap_model(model), out_dir)
        plot_curves(log_path, out_dir / "asr_curves.png")
        write_json(out_dir / SUMMARY_FILE, summary)
    accelerator.wait_for_everyone()
    return summary


def plot_curves(log_path: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    train = [r for r in rows if "loss" in r and "eval" not in r]
    evals = [r["eval"] for r in rows if "eval" in r and "cer" in r["eval"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot([r["step"] for r in train], [r["loss"] for r in train], label="train")
    a.plot([r["step"] for r in evals], [r["loss"] for r in evals], "o-", label="valid")
    a.set(xlabel="step", ylabel="CTC loss", title="CTC loss")
    a.legend()
    b.plot([r["step"] for r in evals], [100 * r["cer"] for r in evals], "o-", label="CER")
    b.plot([r["step"] for r in evals], [100 * r["wer"] for r in evals], "s-", label="WER")
    b.set(xlabel="step", ylabel="%", title="valid error rate (greedy)")
    b.legend()
    fig.tight_layout()
    tmp = png.with_name(f".{png.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, png)


def print_summary(summary: dict, out_dir) -> None:
    v = summary.get("valid", {})
    print(f"train-asr: {summary['architecture']} ({summary['parameters'] / 1e6:.2f} M params, "
          f"{summary['frame_seconds'] * 1000:.0f} ms frames, vocab {summary['vocab_size']})")
    print(f"  data: {summary['train_utterances']} utterances, {summary['train_seconds'] / 60:.1f} min; "
          f"skipped {len(summary['train_skipped'])} before training, {len(summary['runtime_skipped'])} unreadable")
    for s in (summary["train_skipped"] + summary["runtime_skipped"])[:5]:
        print(f"    skipped {s['utt']}: {s['reason']}")
    print(f"  trained {summary['steps']} steps in {summary['train_wall_seconds']:.0f} s "
          f"({summary['audio_seconds_seen'] / max(summary['train_wall_seconds'], 1e-9):.1f} audio-s/s), stopped by {summary['stopped_by']}")
    if v:
        print(f"  {summary['valid_split']}: CER {100 * v['cer']:.1f}%  WER {100 * v['wer']:.1f}%  "
              f"({v['utterances']} utterances, greedy)")
    print(f"  saved: {out_dir}")
