"""A small, generic Accelerate training engine shared by HuBERT pre-training and CTC fine-tuning.

A *task* supplies the model and the data; this file owns everything else: precision, accumulation
(incl. `emulate_gpus`), clipping, Adam + warmup/decay, skipping non-finite steps, validation, logging
(TensorBoard + JSONL + tqdm), checkpoints every N updates (keep last K) and exact resumption.

    class MyTask:
        def build_model(self) -> torch.nn.Module
        def train_batches(self, epoch: int, start: int) -> Iterable      # this rank's batches of `epoch`,
                                                                         # skipping its first `start`
        def step(self, model, batch) -> (loss, {name: float tensor}, audio_seconds[, weight])
        def evaluate(self, model) -> {name: float}                        # may return {} (no validation)
        def flops(self, batch) -> float                                   # optional: training FLOPs of a
                                                                          # micro-batch (pretrain.flops)
        def finish(self, model, out_dir) -> dict                          # optional: export at the end

    summary = run_training(task, LoopConfig(...), accelerator)

`weight` (optional, default 1) says how much a micro-batch counts: an update's gradient is
sum_i weight_i * grad(loss_i) / sum_i weight_i over the micro-batches of every process. HuBERT passes
fairseq's sample size with a loss normalised by it, so the update's loss is the summed loss over the
whole effective batch divided by its total frames, whatever the accumulation and process count.

Exact resumption (a run killed with SIGKILL and resumed ends with the same weights as one that was
never interrupted) rests on four things: checkpoints are written to a temporary folder and renamed,
`accelerator.save_state` stores model/optimizer/scaler/RNG states, the scheduler and our `TrainState`
(update count, epoch, batch position) are registered for checkpointing, and tasks make batches a pure
function of (seed, epoch, position) with their own generators, never the global RNG.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from labelers.corpus.atomic import DiskFullError, disk_full_as_error, write_text

CHECKPOINT_DIR = "checkpoints"
LOG_FILE = "train_log.jsonl"


@dataclass
class LoopConfig:
    """Optimisation and bookkeeping settings; every field is a `loop.<name>` key in the YAML."""

    output_dir: str = field(default="runs/pretrain", metadata={"help": "run folder: checkpoints, logs, export"})
    max_steps: int = field(default=1000, metadata={"help": "optimizer updates to run"})
    lr: float = field(default=5e-4, metadata={"help": "peak learning rate"})
    betas: tuple[float, float] = field(default=(0.9, 0.98), metadata={"help": "Adam betas"})
    eps: float = field(default=1e-6, metadata={"help": "Adam epsilon"})
    weight_decay: float = field(default=0.01, metadata={"help": "decoupled weight decay (AdamW)"})
    warmup_steps: int = field(default=100, metadata={"help": "linear warmup updates"})
    decay_power: float = field(default=1.0, metadata={"help": "polynomial decay power after warmup (1 = linear)"})
    end_lr: float = field(default=0.0, metadata={"help": "learning rate reached at max_steps"})
    clip_norm: float = field(default=10.0, metadata={"help": "gradient norm clipping (0 = off)"})
    mixed_precision: str = field(default="", metadata={"help": "no | bf16 | fp16 ('' = from accelerate launch / config)"})
    grad_accum: int = field(default=1, metadata={"help": "micro-batches per update on each process"})
    emulate_gpus: int = field(
        default=0, metadata={"help": "reproduce the effective batch of N GPUs: accumulation x= N / num_processes"}
    )
    seed: int = field(default=1337, metadata={"help": "seed for init, data order, cropping and masking"})
    log_every: int = field(default=10, metadata={"help": "updates between training log lines"})
    eval_every: int = field(default=200, metadata={"help": "updates between validations (0 = only at the end)"})
    save_every: int = field(default=500, metadata={"help": "updates between checkpoints (0 = only the final one, which is always saved)"})
    keep_last: int = field(default=3, metadata={"help": "checkpoints kept on disk"})
    resume: str = field(default="auto", metadata={"help": "auto (latest checkpoint if any) | none | <checkpoint path>"})
    trackers: str = field(default="tensorboard", metadata={"help": "accelerate trackers, comma-separated ('' = none)"})
    compile: bool = field(default=False, metadata={"help": "torch.compile the model's forward (eager fallback with a warning)"})
    compile_mode: str = field(default="", metadata={"help": "torch.compile mode ('' = default, max-autotune, reduce-overhead)"})
    compile_backend: str = field(default="inductor", metadata={"help": "torch.compile backend"})


class Task(Protocol):
    def build_model(self) -> torch.nn.Module: ...
    def train_batches(self, epoch: int, start: int) -> Iterable[Any]: ...
    def step(self, model: torch.nn.Module, batch: Any) -> tuple[torch.Tensor, dict, float]: ...
    def evaluate(self, model: torch.nn.Module) -> dict: ...


@dataclass
class TrainState:
    """Progress saved with every checkpoint (registered with `accelerator.register_for_checkpointing`)."""

    step: int = 0  # updates attempted (the LR schedule and the data position follow it)
    epoch: int = 0
    batch_in_epoch: int = 0  # micro-batches of `epoch` already consumed by this rank
    audio_seconds: float = 0.0  # seen by all ranks together
    skipped_steps: int = 0  # non-finite gradients
    train_seconds: float = 0.0  # wall time of the updates, all runs of this output folder together
    flops: float = 0.0  # training FLOPs of all ranks (when the task counts them)

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)


def accumulation_steps(cfg: LoopConfig, num_processes: int) -> int:
    """Micro-batches per update on each process; `emulate_gpus: N` multiplies by N / num_processes."""
    accum = max(1, cfg.grad_accum)
    if cfg.emulate_gpus:
        if cfg.emulate_gpus % num_processes:
            raise ValueError(
                f"emulate_gpus={cfg.emulate_gpus} is not a multiple of the {num_processes} processes launched"
            )
        accum *= cfg.emulate_gpus // num_processes
    return accum


def make_optimizer(model: torch.nn.Module, cfg: LoopConfig) -> torch.optim.Optimizer:
    """AdamW with decoupled weight decay on every parameter, as fairseq's Adam; the fused kernel on CUDA."""
    params = [p for p in model.parameters() if p.requires_grad]
    on_cuda = bool(params) and all(p.is_cuda for p in params)
    return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay,
                             fused=on_cuda or None)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: LoopConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warmup to `lr`, then polynomial decay to `end_lr` at `max_steps` (fairseq polynomial_decay)."""
    warm, total, power, end = cfg.warmup_steps, cfg.max_steps, cfg.decay_power, cfg.end_lr / cfg.lr

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        left = max(0.0, 1.0 - (step - warm) / max(1, total - warm))
        return end + (1.0 - end) * left**power

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class LaunchError(RuntimeError):
    """The processes a launcher started do not form one training job."""


# Where launchers say how many processes they started (torchrun / accelerate launch, then MPI's mpirun).
WORLD_SIZE_VARS = ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")


def launched_processes() -> int:
    """The number of processes the launcher claims to have started (1 without a launcher)."""
    return max([int(os.environ.get(v) or 1) for v in WORLD_SIZE_VARS])


def make_accelerator(cfg: LoopConfig, kwargs_handlers: list | None = None) -> Accelerator:
    """An Accelerator for `cfg`: precision, trackers writing under `output_dir/tb`.

    Without a GPU it is built with `cpu=True`, so that the processes torchrun or `accelerate launch
    --multi_gpu` start join one gloo job instead of each training its own copy. A launcher whose N
    processes do not become one job of N ranks is refused (LaunchError).
    """
    from accelerate.utils import ProjectConfiguration

    trackers = [t for t in cfg.trackers.split(",") if t.strip()]
    mp = None if cfg.mixed_precision in ("", None) else cfg.mixed_precision
    claimed = launched_processes()
    try:
        accelerator = Accelerator(
            mixed_precision=mp,
            cpu=not torch.cuda.is_available(),
            log_with=trackers or None,
            project_config=ProjectConfiguration(project_dir=cfg.output_dir, logging_dir=os.path.join(cfg.output_dir, "tb")),
            kwargs_handlers=kwargs_handlers,
        )
    except (ValueError, RuntimeError) as e:
        if claimed == 1:
            raise
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise LaunchError(f"{claimed} processes were launched ({_world_size_env()}) but could not join one job: "
                          f"{reason}") from e
    if accelerator.num_processes != claimed:
        raise LaunchError(
            f"the launcher started {claimed} processes ({_world_size_env()}) but this one joined a job of "
            f"{accelerator.num_processes}: they would train separate copies into one folder; launch with "
            "torchrun or `accelerate launch --multi_gpu` (on CPU too)"
        )
    return accelerator


def _world_size_env() -> str:
    return ", ".join(f"{v}={os.environ[v]}" for v in WORLD_SIZE_VARS if os.environ.get(v))


# ---------------------------------------------------------------- checkpoints


def list_checkpoints(out_dir: str | os.PathLike) -> list[Path]:
    root = Path(out_dir) / CHECKPOINT_DIR
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step_") and p.name[5:].isdigit())


def save_checkpoint(accelerator: Accelerator, out_dir: str, step: int, keep_last: int) -> Path:
    """save_state into a temporary folder, then rename: a killed run never leaves a half checkpoint."""
    root = Path(out_dir) / CHECKPOINT_DIR
    final = root / f"step_{step:08d}"
    tmp = root / f".tmp_step_{step:08d}"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    try:
        with disk_full_as_error(f"checkpoint {final}", root):
            accelerator.save_state(str(tmp))
    except DiskFullError:
        shutil.rmtree(tmp, ignore_errors=True)  # give the space back; the previous checkpoints are intact
        raise
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in list_checkpoints(out_dir)[:-keep_last] if keep_last > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()
    return final


def resolve_resume(cfg: LoopConfig) -> Path | None:
    if cfg.resume in ("", "none", "no", None):
        return None
    if cfg.resume == "auto":
        found = list_checkpoints(cfg.output_dir)
        return found[-1] if found else None
    path = Path(cfg.resume)
    if not path.is_dir():
        raise FileNotFoundError(f"resume: checkpoint folder {path} does not exist")
    return path


# ---------------------------------------------------------------- logging


class JsonlLog:
    """Append-only JSONL log written by the main process; on resume, lines past the checkpoint are dropped,
    and a line the resumed run repeats at the checkpoint's own step (the final validation, when the
    kill came after the final checkpoint) is not written twice."""

    def __init__(self, path: Path, enabled: bool, resume_step: int | None):
        self.path, self.enabled = path, enabled
        self.logged: set[tuple] = set()  # (step, split) already in the log at the resume step
        if not enabled:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is None:
            write_text(path, "")
        elif path.exists():
            lines = [(ln, json.loads(ln)) for ln in path.read_text().splitlines() if ln.strip()]
            keep = [(ln, r) for ln, r in lines if r.get("step", 0) <= resume_step]
            self.logged = {(r.get("step"), r.get("split")) for _, r in keep if r.get("step") == resume_step}
            write_text(path, "".join(ln + "\n" for ln, _ in keep))

    def write(self, record: dict) -> None:
        if (record.get("step"), record.get("split")) in self.logged:
            return
        if self.enabled:
            with disk_full_as_error(self.path), open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")


def _mean_metrics(accelerator: Accelerator, sums: dict[str, list[float]]) -> dict[str, float]:
    """Average each metric over the micro-batches (of every process) that reported it.

    `sums[name] = [total, count]`. Processes may report different names (a batch without audio
    reports none), so the union of names is agreed first; the reduction itself is one all-reduce.
    """
    keys = set(sums)
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        keys = set().union(*gather_object([sorted(keys)]))
    keys = sorted(keys)
    if not keys:
        return {}
    t = torch.tensor([sums.get(k, [0.0, 0.0]) for k in keys], device=accelerator.device, dtype=torch.float64)
    t = accelerator.reduce(t, reduction="sum")
    return {k: float(total / n) for k, (total, n) in zip(keys, t.tolist()) if n > 0}


def _add(sums: dict[str, list[float]], name: str, value: float, weight: float = 1.0) -> None:
    entry = sums.setdefault(name, [0.0, 0.0])
    entry[0] += value * weight
    entry[1] += weight


# ---------------------------------------------------------------- the loop


def _micro_batches(task: Task, state: TrainState) -> Iterator[Any]:
    """Endless stream of this rank's micro-batches; keeps `state.epoch/batch_in_epoch` in step."""
    while True:
        produced = False
        for batch in task.train_batches(state.epoch, state.batch_in_epoch):
            produced = True
            state.batch_in_epoch += 1
            yield batch
        if not produced and state.batch_in_epoch == 0:
            raise ValueError("the task produced no training batches (empty corpus or batch size too small?)")
        state.epoch += 1
        state.batch_in_epoch = 0


def _scale_gradients(model: torch.nn.Module, factor: float) -> None:
    if factor != 1.0:
        for p in model.parameters():
            if p.grad is not None:
                p.grad.mul_(factor)


def _evaluate(task: Task, model: torch.nn.Module, accelerator: Accelerator) -> dict:
    model.eval()
    with torch.no_grad(), accelerator.autocast():
        metrics = task.evaluate(model) or {}
    model.train()
    return metrics


def run_training(task: Task, cfg: LoopConfig, accelerator: Accelerator | None = None, run_config: dict | None = None) -> dict:
    """Train `task` for `cfg.max_steps` updates; returns a summary dict (also written to summary.json)."""
    accelerator = accelerator or make_accelerator(cfg)
    out_dir = Path(cfg.output_dir)
    set_seed(cfg.seed)  # model init is identical on every rank and on resume
    model = task.build_model().to(accelerator.device)  # on its device first, so AdamW can use the fused kernel
    optimizer = make_optimizer(model, cfg)
    scheduler = make_scheduler(optimizer, cfg)
    model, optimizer = accelerator.prepare(model, optimizer)
    if cfg.compile:
        from pretrain.compile import compile_forward

        compile_forward(accelerator.unwrap_model(model), cfg.compile_mode, cfg.compile_backend)
    # The scheduler is not prepared: Accelerate would step it once per process. It follows our update count.
    state = TrainState()
    accelerator.register_for_checkpointing(scheduler, state)
    accum = accumulation_steps(cfg, accelerator.num_processes)

    resume_from = resolve_resume(cfg)
    if resume_from is not None:
        accelerator.load_state(str(resume_from))
        accelerator.print(f"resumed from {resume_from} at update {state.step} (epoch {state.epoch})")
    log = JsonlLog(out_dir / LOG_FILE, accelerator.is_main_process, state.step if resume_from else None)
    if accelerator.is_main_process and run_config is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text(out_dir / "config.json", json.dumps(run_config, indent=2, default=str))
    if accelerator.trackers == [] and cfg.trackers:
        flat = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in asdict(cfg).items()}
        accelerator.init_trackers("run", config=flat)

    from pretrain.flops import peak_flops

    peak = peak_flops(accelerator.device)  # None on CPU: no MFU
    count_flops = hasattr(task, "flops")
    stream = _micro_batches(task, state)
    bar = tqdm(total=cfg.max_steps, initial=state.step, disable=not accelerator.is_local_main_process, dynamic_ncols=True)
    sums: dict[str, list[float]] = {}
    window_audio, window_flops, window_start = 0.0, 0.0, time.perf_counter()
    model.train()
    last_val: dict = {}
    while state.step < cfg.max_steps:
        t0 = time.perf_counter()
        step_audio = step_loss = step_weight = step_flops = 0.0
        for i in range(accum):
            batch = next(stream)
            if count_flops:
                step_flops += float(task.flops(batch))  # from the batch's shape, on the host
            sync = i == accum - 1
            ctx = accelerator.no_sync(model) if not sync and accelerator.num_processes > 1 else _null()
            with ctx, accelerator.autocast():
                loss, metrics, audio_s, *weight = task.step(model, batch)
            # A micro-batch counts by its weight (HuBERT: fairseq's sample size, the frames behind its loss;
            # a task that gives none: 1, a plain mean over micro-batches). Gradients are summed here...
            weight = float(weight[0]) if weight else 1.0
            accelerator.backward(loss * weight if weight != 1.0 else loss)
            step_audio += float(audio_s)
            step_loss += float(loss.detach()) * weight
            step_weight += weight
            for k, v in metrics.items():
                _add(sums, k, float(v))
        # ...and divided by the total weight of every micro-batch of every process (fairseq's trainer), so an
        # update's gradient is that of the whole effective batch at once. DDP averaged over processes: x N.
        audio_all, loss_all, weight_all, flops_all = accelerator.reduce(
            torch.tensor([step_audio, step_loss, step_weight, step_flops], device=accelerator.device,
                         dtype=torch.float64), "sum"
        ).tolist()
        _scale_gradients(model, accelerator.num_processes / (weight_all or 1.0))
        _add(sums, "loss", loss_all / (weight_all or 1.0))
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.clip_norm if cfg.clip_norm > 0 else float("inf"))
        grad_norm = float(grad_norm) if grad_norm is not None else float("nan")
        if accelerator.scaler is not None:  # fp16: the scaler skips and lowers its scale by itself
            optimizer.step()
            skipped = accelerator.optimizer_step_was_skipped
        elif math.isfinite(grad_norm):
            optimizer.step()
            skipped = False
        else:
            skipped = True
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        state.step += 1
        state.skipped_steps += int(skipped)
        state.audio_seconds += audio_all
        state.flops += flops_all
        state.train_seconds += time.perf_counter() - t0
        window_audio += audio_all
        window_flops += flops_all
        _add(sums, "grad_norm", grad_norm)

        if state.step % cfg.log_every == 0 or state.step == cfg.max_steps:
            rec = _mean_metrics(accelerator, sums)
            elapsed = time.perf_counter() - window_start
            rec.update(
                step=state.step, split="train", lr=scheduler.get_last_lr()[0], epoch=state.epoch,
                audio_hours=state.audio_seconds / 3600, audio_s_per_s=window_audio / max(elapsed, 1e-9),
                skipped_steps=state.skipped_steps,
            )
            if count_flops:
                rec.update(flops_per_s=window_flops / max(elapsed, 1e-9), total_flops=state.flops,
                           device_hours=state.train_seconds * accelerator.num_processes / 3600)
                if peak:
                    rec["mfu"] = rec["flops_per_s"] / (peak * accelerator.num_processes)
            log.write(rec)
            accelerator.log({f"train/{k}": v for k, v in rec.items() if isinstance(v, (int, float))}, step=state.step)
            shown = {"loss": f"{rec['loss']:.3f}"}
            if "acc_m" in rec:  # the task's own accuracy (HuBERT's masked accuracy; CTC has none)
                shown["acc_m"] = f"{rec['acc_m']:.3f}"
            if "mfu" in rec:
                shown["mfu"] = f"{rec['mfu']:.1%}"
            bar.set_postfix(**shown, lr=f"{rec['lr']:.2e}", audio_h=f"{rec['audio_hours']:.2f}",
                            aps=f"{rec['audio_s_per_s']:.0f}")
            sums, window_audio, window_flops, window_start = {}, 0.0, 0.0, time.perf_counter()
        bar.update(1)

        if cfg.eval_every and state.step % cfg.eval_every == 0 and state.step < cfg.max_steps:
            last_val = _validate(task, model, accelerator, state, log)
        if cfg.save_every and state.step % cfg.save_every == 0 and state.step < cfg.max_steps:
            save_checkpoint(accelerator, cfg.output_dir, state.step, cfg.keep_last)
    bar.close()

    last_val = _validate(task, model, accelerator, state, log) or last_val
    save_checkpoint(accelerator, cfg.output_dir, state.step, cfg.keep_last)
    summary = {
        "updates": state.step, "epochs": state.epoch, "audio_hours": state.audio_seconds / 3600,
        "skipped_steps": state.skipped_steps, "train_seconds_this_run": state.train_seconds,
        "accumulation": accum, "processes": accelerator.num_processes, "validation": last_val,
        "audio_s_per_s": state.audio_seconds / max(state.train_seconds, 1e-9),
        "device_hours": state.train_seconds * accelerator.num_processes / 3600,
    }
    if count_flops:
        summary.update(total_flops=state.flops, flops_per_audio_s=state.flops / max(state.audio_seconds, 1e-9),
                       flops_per_s=state.flops / max(state.train_seconds, 1e-9))
        if peak:
            summary["mfu"] = summary["flops_per_s"] / (peak * accelerator.num_processes)
            summary["device"] = torch.cuda.get_device_name(accelerator.device)
    if hasattr(task, "finish"):
        accelerator.wait_for_everyone()
        summary.update(task.finish(accelerator.unwrap_model(model), out_dir, accelerator) or {})
    if accelerator.is_main_process:
        from pretrain.curves import plot_log

        plot_log(out_dir / LOG_FILE, out_dir / "curves.png")
        write_text(out_dir / "summary.json", json.dumps(summary, indent=2, default=str))
    accelerator.end_training()
    return summary


def _validate(task: Task, model, accelerator: Accelerator, state: TrainState, log: JsonlLog) -> dict:
    metrics = _evaluate(task, model, accelerator)
    if metrics:
        rec = {"step": state.step, "split": "valid", **metrics}
        log.write(rec)
        accelerator.log({f"valid/{k}": v for k, v in metrics.items()}, step=state.step)
        accelerator.print("valid @ %d: %s" % (state.step, " ".join(f"{k}={v:.4g}" for k, v in metrics.items())))
    return metrics


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
