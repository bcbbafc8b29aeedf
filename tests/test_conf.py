"""Named configs: a path wins, `conf/...` and bare names resolve to the shipped files, unknown names pass through."""

from pathlib import Path

from conf import conf_dir, find_config, named_configs
from pretrain.config import load_config


def test_names_and_repository_paths_resolve_to_the_shipped_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the checkout: `conf/...` no longer exists relative to the folder
    assert find_config("tiny", "pretrain") == conf_dir() / "pretrain" / "tiny.yaml"
    assert find_config("base.yaml", "pretrain") == conf_dir() / "pretrain" / "base.yaml"
    assert find_config("conf/asr/scratch_tiny.yaml") == conf_dir() / "asr" / "scratch_tiny.yaml"
    assert {"tiny", "base", "large"} <= set(named_configs("pretrain"))
    assert load_config("base").model.size == "base"


def test_an_existing_path_wins_and_unknown_names_come_back_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("tiny").write_text("model: {size: base}\n")  # a local file called like a preset
    assert find_config("tiny", "pretrain") == Path("tiny")
    assert find_config("no_such_config", "asr") == Path("no_such_config")
    assert find_config("tiny") == Path("tiny")
