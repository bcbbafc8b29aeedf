"""The import rules of docs/ARCHITECTURE.md, enforced: `lint-imports` over pyproject.toml's contracts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("labelers", "pretrain", "bootstrap")


def _lint_imports(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.fail(f"{exe} not found: install the test extra (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([str(exe), "--no-cache", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_import_contracts_are_kept():
    proc = _lint_imports()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_a_violated_contract_is_reported(tmp_path):
    # pretrain does import the substrate, so forbidding it must break: the checker can fail.
    cfg = tmp_path / "contracts.toml"
    cfg.write_text(
        '[tool.importlinter]\nroot_packages = ["labelers", "pretrain"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "pretrain without the substrate"\ntype = "forbidden"\n'
        'source_modules = ["pretrain"]\nforbidden_modules = ["labelers.corpus"]\n'
    )
    proc = _lint_imports("--config", str(cfg))
    assert proc.returncode != 0
    assert "pretrain without the substrate BROKEN" in proc.stdout


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def test_pretrain_contract_names_every_label_source():
    """The contract lists label sources by name: a new one outside labelers.corpus must be added there."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (pretrain,) = [c for c in contracts if c["source_modules"] == ["pretrain"]]
    sources = set()
    for p in _modules("labelers"):
        rel = p.relative_to(ROOT / "labelers")
        if rel.parts[0] != "corpus" and p.name != "__init__.py":
            sources.add("labelers." + ".".join(rel.with_suffix("").parts[:1]))
    assert sources <= set(pretrain["forbidden_modules"]), sorted(sources - set(pretrain["forbidden_modules"]))


def test_no_two_modules_share_a_name():
    by_name = defaultdict(list)
    for package in PACKAGES:
        for p in _modules(package):
            if p.name not in ("__init__.py", "__main__.py"):
                by_name[p.name].append(str(p.relative_to(ROOT)))
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert not clashes, clashes
