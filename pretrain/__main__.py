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


from pretrain.cli_errors import cli_errors  # noqa: E402  (after the path fix above)


@cli_errors("pretrain")
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

    from pretrain.loop import LaunchError
    from pretrain.pretraining import run_pretraining

    try:
        return run_pretraining(cfg)
    except LaunchError as e:  # processes that do not form one job: refused before anything is written
        sys.exit(f"launch error: {e}")


def cli() -> int:
    """The `pretrain` console script: exit status 0 on success (main returns the summary dict)."""
    main()
    return 0


if __name__ == "__main__":
    sys.exit(cli())
