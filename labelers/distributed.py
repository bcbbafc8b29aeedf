"""The process group of an `accelerate launch` / `torchrun` run, or None in a plain single process.

accelerate's PartialState is a process-wide singleton whose first construction fixes CPU vs GPU, and
multi-process CPU runs need `PartialState(cpu=True)`; every caller goes through here so they agree.
"""

from __future__ import annotations

import os


def launched() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or int(os.environ.get("LOCAL_RANK", "-1")) != -1


def distributed_state():
    """accelerate.PartialState when launched with several processes, else None (nothing initialised)."""
    if not launched():
        return None
    import torch
    from accelerate import PartialState

    cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes") or not torch.cuda.is_available()
    state = PartialState(cpu=cpu)
    return state if state.num_processes > 1 else None
