"""One seed's finished stages as rows per kind (bootstrap/report/aggregate.py folds the seeds together)."""

from __future__ import annotations

import json
from pathlib import Path

QUALITY_KEYS = ("pnmi", "phone_purity", "cluster_purity", "label_perplexity", "used_labels", "num_classes",
                "label_rate", "label_segment_ms")


def _by_kind(records: dict, kind: str) -> dict:
    return {name: rec for name, rec in records.items() if rec["kind"] == kind}


def read_log(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def label_quality_rows(records: dict) -> list[dict]:
    rows = []
    for name, rec in _by_kind(records, "labels").items():
        q = rec["result"].get("quality")
        if q:
            rows.append({"stage": name, "source": rec["result"]["source"], **{k: q.get(k) for k in QUALITY_KEYS},
                         "params": rec["params"]})
    return rows


def pretrain_rows(records: dict) -> list[dict]:
    rows = []
    for name, rec in _by_kind(records, "pretrain").items():
        res = rec["result"]
        summary = res.get("summary") or {}
        valid = [r for r in read_log(res["log"]) if r.get("split") == "valid"]
        rows.append({"stage": name, "labels": res.get("labels"), "updates": summary.get("updates"),
                     "audio_hours": summary.get("audio_hours"), "seconds": rec.get("seconds"),
                     "cpu_seconds": rec.get("cpu_seconds"),
                     "validation": summary.get("validation") or {}, "valid_curve": valid, "log": res["log"]})
    return rows


def evaluation_rows(records: dict) -> list[dict]:
    rows = []
    for name, rec in _by_kind(records, "evaluate").items():
        ev = rec["result"]["evaluation"]
        ft = ev.get("finetune") or {}
        rows.append({"stage": name, "model_stage": rec["params"].get("model"), "features": rec["params"].get("features"),
                     "layers": ev["layers"], "best": ev["best"],
                     "chance_accuracy": (ev.get("phones") or {}).get("chance_accuracy"),
                     "cer": ft.get("cer"), "wer": ft.get("wer"), "png": rec["result"]["png"]})
    return rows


def teacher_rows(records: dict) -> list[dict]:
    rows = []
    for name, rec in _by_kind(records, "train_asr").items():
        v = rec["result"].get("valid") or {}
        rows.append({"stage": name, "cer": v.get("cer"), "wer": v.get("wer"), "seconds": rec.get("seconds")})
    return rows
