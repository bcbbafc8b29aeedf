"""`loop.compile: true`: the model's forward through `torch.compile`, falling back to eager with a warning.

Only `forward` is replaced (on the unwrapped module), so parameters, state dicts and checkpoints are
those of the eager model and a run can be resumed with or without compilation. Compilation happens at
the first call of each new input shape: fixed-shape batches (`data.length_buckets`) keep that to a
handful. If compiling fails (no C++ compiler, an operation dynamo cannot trace, ...), the failure is
reported once and training continues in eager mode; an error of the model itself is raised again by
the eager call.
"""

from __future__ import annotations

import warnings

import torch


def compile_forward(module: torch.nn.Module, mode: str = "", backend="inductor") -> torch.nn.Module:
    eager = module.forward
    try:
        compiled = torch.compile(eager, mode=mode or None, backend=backend)
    except Exception as e:  # torch.compile itself unavailable (e.g. an unsupported Python)
        warnings.warn(f"torch.compile unavailable ({type(e).__name__}: {e}); training eagerly")
        return module
    state = {"compiled": True}

    def forward(*args, **kwargs):
        if state["compiled"]:
            try:
                return compiled(*args, **kwargs)
            except Exception as e:
                state["compiled"] = False
                warnings.warn(f"torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0][:300]}); "
                              "continuing in eager mode")
        return eager(*args, **kwargs)

    module.forward = forward
    module._compiled_forward = state  # lets callers and tests see whether compilation held
    return module
