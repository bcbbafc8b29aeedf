"""Issue 10, defects 5 and 8: save_every=0 means "final checkpoint only"; a run resumed from its final
checkpoint (killed after it) does not write its final log lines twice."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_loop import ToyTask, _cfg  # noqa: E402

from pretrain.loop import list_checkpoints, run_training  # noqa: E402


def _log(out):
    return [json.loads(ln) for ln in (out / "train_log.jsonl").read_text().splitlines()]


def test_save_every_zero_keeps_only_the_final_checkpoint(tmp_path):
    run_training(ToyTask(), _cfg(tmp_path / "a", 7, save_every=0, keep_last=0))
    assert [p.name for p in list_checkpoints(tmp_path / "a")] == ["step_00000007"]


def test_resume_after_the_final_checkpoint_logs_nothing_twice(tmp_path):
    out = tmp_path / "b"
    run_training(ToyTask(), _cfg(out, 8, eval_every=4))
    first = (out / "train_log.jsonl").read_text()
    finals = [r for r in _log(out) if r["step"] == 8]
    assert sorted(r["split"] for r in finals) == ["train", "valid"]
    summary = run_training(ToyTask(), _cfg(out, 8, eval_every=4))  # as if killed after the final checkpoint
    assert (out / "train_log.jsonl").read_text() == first
    assert summary["validation"]["w_norm"] == next(r["w_norm"] for r in finals if r["split"] == "valid")
    keys = [(r["step"], r["split"]) for r in _log(out)]
    assert len(keys) == len(set(keys))
