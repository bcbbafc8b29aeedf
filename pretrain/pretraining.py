"""The pre-training entry point for code: `run_pretraining(PretrainConfig) -> summary`.

`python -m pretrain` (also under `accelerate launch`) parses its command line into a PretrainConfig and
calls this; the pipeline's pre-training stage builds the PretrainConfig itself and calls it directly.
"""

from __future__ import annotations

import sys

from pretrain.config import PretrainConfig


def run_pretraining(cfg: PretrainConfig) -> dict:
    """Train (resuming from `cfg.loop.output_dir` when it holds checkpoints), export `hf/`; the summary."""
    from accelerate.utils import DistributedDataParallelKwargs

    from pretrain.loop import make_accelerator, run_training
    from pretrain.task import PretrainTask

    # LayerDrop skips whole layers, so DDP must tolerate parameters without gradients.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.model.layerdrop > 0)
    accelerator = make_accelerator(cfg.loop, kwargs_handlers=[ddp])
    task = PretrainTask(cfg.data, cfg.model, cfg.loop.seed, accelerator)
    summary = run_training(task, cfg.loop, accelerator, run_config=cfg.to_dict())
    if accelerator.is_main_process:
        val = summary.get("validation") or {}
        accs = " ".join(f"{k} {v:.3f}" for k, v in val.items() if k.startswith(("loss_m", "acc_m")))
        print(
            f"done: {summary['updates']} updates, {summary['audio_hours']:.3f} h of audio, "
            f"{summary['skipped_steps']} non-finite steps skipped, {summary.get('skipped_utterances', 0)} "
            f"utterances skipped; valid {accs or 'n/a'}; HF model in {summary.get('hf_dir')}",
            file=sys.stderr,
        )
    return summary
