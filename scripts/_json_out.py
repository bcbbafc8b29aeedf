"""What every benchmark script ends with: its result printed as JSON, and written to --out if given."""

from __future__ import annotations

import json
from pathlib import Path


def emit(result: dict, out: str | None) -> dict:
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        Path(out).write_text(text)
    return result
