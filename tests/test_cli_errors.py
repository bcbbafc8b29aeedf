"""Issue 10, defects 3 and 9: expected errors are one line + exit 1 (traceback with --debug), and
nothing is written to --out before the inputs are validated."""

import sys
from pathlib import Path

import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parent))
from broken_audio import tone  # noqa: E402

from bootstrap.labels_cli import main as labels_main  # noqa: E402
from pretrain.__main__ import main as pretrain_main  # noqa: E402
from pretrain.cli_errors import DEBUG_ENV  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def corpus(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    rows = []
    for i in range(3):
        sf.write(audio / f"u{i}.wav", tone(1.0, seed=i), 16000)
        rows.append(f"u{i}.wav\t16000")
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.tsv").write_text(f"{audio}\n" + "\n".join(rows) + "\n")
    return data


def one_error_line(capsys, prog: str, *words: str) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert not any("Traceback" in line for line in lines), lines
    errors = [line for line in lines if line.startswith(f"{prog}: error: ")]  # besides progress bars
    assert len(errors) == 1, lines
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


def exits_1(fn, argv):
    with pytest.raises(SystemExit) as e:
        fn(argv)
    assert e.value.code == 1


LABEL = ["--source", "mfcc", "--n-clusters", "4", "--n-init", "1", "--no-progress"]


@pytest.mark.parametrize("case,words", [
    ("nodata", ["nodata", "not found"]),
    ("nosplit", ["nosplit", "no manifest"]),
    ("shard", ["--shard-id 2", "[0, 2)"]),
])
def test_label_input_errors_are_one_line_and_leave_no_output(corpus, tmp_path, capsys, case, words):
    out = tmp_path / "out"
    argv = {"nodata": ["--data", str(tmp_path / "nodata"), "--splits", "train"],
            "nosplit": ["--data", str(corpus), "--splits", "nosplit"],
            "shard": ["--data", str(corpus), "--splits", "train", "--shard-id", "2", "--num-shards", "2"]}[case]
    exits_1(labels_main, LABEL + argv + ["--out", str(out)])
    one_error_line(capsys, "bootstrap-labels", *words)
    assert not out.exists()


def test_model_errors_are_one_line(corpus, tmp_path, capsys, tiny_hubert):
    exits_1(labels_main, LABEL[:1] + ["hubert", "--model", str(tiny_hubert), "--layer", "99"] + LABEL[2:] +
            ["--data", str(corpus), "--splits", "train", "--out", str(tmp_path / "o1")])
    one_error_line(capsys, "bootstrap-labels", "99")
    exits_1(labels_main, ["--source", "asr", "--model", str(tiny_hubert), "--data", str(corpus), "--splits", "train",
                          "--out", str(tmp_path / "o2"), "--no-progress"])
    one_error_line(capsys, "bootstrap-labels", str(tiny_hubert))


def test_debug_shows_the_traceback(corpus, tmp_path, capsys, monkeypatch):
    argv = LABEL + ["--data", str(corpus), "--splits", "nosplit", "--out", str(tmp_path / "o")]
    with pytest.raises(FileNotFoundError):
        labels_main(argv + ["--debug"])
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(FileNotFoundError):
        labels_main(argv)


def test_pretrain_errors_are_one_line(corpus, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("loop:\n  max_steps: [1\n  lr: 3\n")
    exits_1(pretrain_main, ["--config", str(bad)])
    one_error_line(capsys, "pretrain", str(bad), "YAML syntax error at line 3")
    out = tmp_path / "run"
    exits_1(pretrain_main, ["--config", str(ROOT / "conf/pretrain/tiny.yaml"), f"data.data_dir={corpus}",
                            f"data.label_dirs=[{tmp_path / 'nolabels'}]", f"loop.output_dir={out}"])
    one_error_line(capsys, "pretrain", "nolabels", "not a label folder")
    assert not out.exists()
    exits_1(pretrain_main, ["--config", str(ROOT / "conf/pretrain/tiny.yaml"), f"data.data_dir={tmp_path / 'nodata'}",
                            f"loop.output_dir={out}"])
    capsys.readouterr()
    assert not out.exists()


def test_wrapper_expected_versus_bugs(capsys):
    from labelers.corpus.atomic import DiskFullError
    from labelers.corpus.audio import AudioHeaderError
    from pretrain.cli_errors import cli_errors
    from pretrain.loop import LaunchError

    def raising(exc):
        @cli_errors("prog")
        def main(argv):
            raise exc
        return main

    for exc, words in [(AudioHeaderError("a.wav", "header claims 0 channels"), ["a.wav: header claims 0 channels"]),
                       (DiskFullError("x/train.km"), ["disk full while writing x/train.km"]),
                       (FileNotFoundError(2, "No such file or directory", "conf/x.yaml"), ["conf/x.yaml: No such file"]),
                       (ValueError("multi\nline   message"), ["multi line message"]),
                       (LaunchError("2 processes did not join one job"), ["did not join one job"])]:
        exits_1(raising(exc), [])
        one_error_line(capsys, "prog", *words)
    with pytest.raises(KeyError):  # a bug keeps its traceback
        raising(KeyError("x"))([])
