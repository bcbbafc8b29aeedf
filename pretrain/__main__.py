"""`python -m pretrain --config conf/pretrain/tiny.yaml [key=value ...]`, also under `accelerate launch`.

`accelerate launch pretrain --config ...` runs this file as a script from the repository root; the
path fix below makes `import pretrain` / `import labelers` work in that case too.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script (`accelerate launch pretrain`, `python pretrain`)
    _here = Path(__file__).resolve().parent
    # Python put this folder first on sys.path: replace it by the repository root, so that `pretrain`
    # and `labelers` import as packages and our module names (config, data, ...) shadow nothing.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))
    __package__ = "pretrain"


def main(argv: list[str] | None = None) -> dict | None:
    argv = list(sys.argv[1:] if argv is None else argv)
    from pretrain.config import ConfigError, help_text, load_config

    if "-h" in argv or "--help" in argv:
        print(help_text())
        return None
    path = None
    if "--config" in argv:
        i = argv.index("--config")
        if i + 1 >= len(argv):
            sys.exit("--config needs a YAML file")
        path = argv[i + 1]
        del argv[i : i + 2]
    try:
        cfg = load_config(path, argv)
    except ConfigError as e:
        sys.exit(f"config error: {e}")

    from accelerate.utils import DistributedDataParallelKwargs

    from pretrain.loop import LaunchError, make_accelerator, run_training
    from pretrain.task import PretrainTask

    # LayerDrop skips whole layers, so DDP must tolerate parameters without gradients.
    ddp = DistributedDataParallelKwargs(find_unused_parameters=cfg.model.layerdrop > 0)
    try:
        accelerator = make_accelerator(cfg.loop, kwargs_handlers=[ddp])
    except LaunchError as e:
        sys.exit(f"launch error: {e}")
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


if __name__ == "__main__":
    main()
