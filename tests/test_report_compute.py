"""The comparison report's compute column: own FLOPs, teachers' FLOPs carried along, the figure."""

from __future__ import annotations

from bootstrap.report.compute import compute_rows, compute_section, model_compute, quality_vs_compute_figure


def _records():
    def pretrain(flops, labels):
        return {"kind": "pretrain", "params": {"labels": labels},
                "result": {"summary": {"total_flops": flops, "device_hours": 0.5}}}

    return {
        "teacher": {"kind": "train_asr", "params": {}, "result": {"valid": {"cer": 0.2}}},
        "mfcc_km": {"kind": "labels", "params": {"source": "mfcc"}, "result": {}},
        "asr": {"kind": "labels", "params": {"source": "asr", "model": "teacher"}, "result": {}},
        "it1": pretrain(1e15, ["mfcc_km"]),
        "it1_km": {"kind": "labels", "params": {"source": "hubert", "model": "it1"}, "result": {}},
        "it2": pretrain(2e15, ["it1_km"]),
        "it1_asr": pretrain(3e15, ["asr"]),
    }


def test_a_counted_ctc_teacher_and_the_export_it_was_fine_tuned_from_are_carried():
    records = _records()
    records["teacher"] = {"kind": "train_asr", "params": {"init": "it1"},
                          "result": {"summary": {"total_flops": 5e14}}}
    got = model_compute(records, "it1_asr")
    assert got["total_flops"] == 3e15 + 5e14 + 1e15 and not got["teacher_flops_missing"]


def test_teachers_flops_are_carried_and_uncounted_ones_flagged(tmp_path):
    def stat(x):
        return {"per_seed": [x], "n": 1, "mean": x, "std": 0.0, "ci95": [x, x]}

    models = {m: {"kind": "pretrained", "model_stage": m,
                  "metrics": {"best_pnmi": stat(p), "best_probe": stat(0.5), "cer": stat(c)}}
              for m, p, c in (("it1", 0.3, 0.5), ("it2", 0.4, 0.4), ("it1_asr", 0.35, 0.45))}
    models["scratch"] = {"kind": "scratch", "model_stage": "scratch", "metrics": {}}  # no training: no row
    rows = {r["model_stage"]: r for r in compute_rows(_records(), models)}
    assert set(rows) == {"it1", "it2", "it1_asr"}
    assert rows["it1"]["total_flops"] == 1e15 and not rows["it1"]["teacher_flops_missing"]
    assert rows["it2"]["own_flops"] == 2e15 and rows["it2"]["total_flops"] == 3e15  # iteration 1 included
    assert rows["it1_asr"]["total_flops"] == 3e15 and rows["it1_asr"]["teacher_flops_missing"]
    png = quality_vs_compute_figure(list(rows.values()), tmp_path / "q.png")
    assert png.stat().st_size > 1000
    text = "\n".join(compute_section(list(rows.values()), png))
    assert "| it2 | 2e+15 | 3e+15 | n/a | 0.500 | 0.400 | 0.500 | 40.0% |" in text and "a teacher not counted" in text
