"""A plain `pip install` of the built wheel works from an unrelated folder: configs ship as package data.

Slow (builds a wheel, makes a virtual environment, generates a tiny corpus: ~30-60 s), but part of
`make test` because the failure it guards against (configs found only next to a checkout) is silent
in every other test, which all run from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "bootstrap", "labelers", "pretrain", "conf")


def _run(cmd, cwd, env, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, bin folder, clean environment) of a fresh venv holding only the wheel (no checkout on sys.path)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # build from a copy, so the checkout gets no build/ or egg-info folders
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, src], tmp, env)
    wheel = next(dist.glob("hubert_bootstrap-*.whl"))
    target = tmp / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(target)
    bindir = target / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / ("python.exe" if os.name == "nt" else "python")
    # The dependencies (torch, ...) come from this interpreter's site-packages, appended after the new venv's
    # own, as plain paths: their .pth files (an editable install of this checkout, say) are not executed.
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).strip())
    parents = [p for p in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])]
    (site / "parent_site_packages.pth").write_text("\n".join(parents) + "\n")
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "-q", wheel], tmp, env)
    env["HUBERT_BOOTSTRAP_CACHE"] = str(tmp / "cache")
    work = tmp / "elsewhere"
    work.mkdir()
    return py, bindir, env, work


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    py, _, env, work = installed
    out = _run([py, "-c", "import bootstrap, conf, pretrain; print(bootstrap.__file__); print(conf.__file__)"], work, env)
    for line in out.split():
        assert str(ROOT) not in line and "site-packages" in line, out


def test_named_configs_resolve_from_an_unrelated_folder(installed):
    py, _, env, work = installed
    code = ("from conf import find_config\n"
            "for name, kind in [('tiny', 'pretrain'), ('base', 'pretrain'), ('scratch_tiny', 'asr'),\n"
            "                   ('compare_sources', 'experiments'), ('conf/asr/finetune_tiny.yaml', None)]:\n"
            "    p = find_config(name, kind); assert p.is_file(), (name, p); print(p)\n"
            "from pretrain.config import load_config\n"
            "print('size', load_config('base').model.size)\n")
    out = _run([py, "-c", code], work, env)
    assert "site-packages" in out and "size base" in out, out


def test_pretrain_help_and_demo_corpus_from_an_unrelated_folder(installed):
    py, bindir, env, work = installed
    help_text = _run([py, "-m", "pretrain", "--help"], work, env)
    listed = help_text.split("named configs (conf/pretrain/): ", 1)[1].split("\n", 1)[0].split(", ")
    assert {"base", "large", "tiny", "fastconformer_base", "w2v_bert_base"} <= set(listed), listed
    pytest.importorskip("espeakng_loader", reason="the demo corpus needs the synth extra")
    out = _run([bindir / "bootstrap", "demo", "--corpus-only", "corpus.synth.minutes=0.5"], work, env)
    assert "train" in out and "valid" in out, out
    assert any((Path(env["HUBERT_BOOTSTRAP_CACHE"])).glob("synth-*/corpus.json")), out
