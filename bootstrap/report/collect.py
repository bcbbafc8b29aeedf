"""Gather a finished experiment's numbers into one comparison dict (written as comparison.json)."""

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
                     "validation": summary.get("validation") or {}, "valid_curve": valid, "log": res["log"]})
    return rows


def evaluation_rows(records: dict) -> list[dict]:
    rows = []
    for name, rec in _by_kind(records, "evaluate").items():
        ev = rec["result"]["evaluation"]
        ft = ev.get("finetune") or {}
        rows.append({"stage": name, "model_stage": rec["params"]["model"], "layers": ev["layers"],
                     "best": ev["best"], "chance_accuracy": ev["phones"]["chance_accuracy"],
                     "cer": ft.get("cer"), "wer": ft.get("wer"), "png": rec["result"]["png"]})
    return rows


def teacher_rows(records: dict) -> list[dict]:
    rows = []
    for name, rec in _by_kind(records, "train_asr").items():
        v = rec["result"].get("valid") or {}
        rows.append({"stage": name, "cer": v.get("cer"), "wer": v.get("wer"), "seconds": rec.get("seconds")})
    return rows


def verdict(evaluations: list[dict], routes: dict) -> dict:
    """The paper's question: does one iteration on ASR targets match or beat the classic route?

    `routes` maps a route name to its final evaluation stage, e.g. {"asr": "eval_it1_asr",
    "classic": "eval_it2_mfcc"}. Higher probe accuracy and PNMI are better, lower CER is better.
    """
    by_stage = {e["stage"]: e for e in evaluations}
    scores = {}
    for route, stage in routes.items():
        e = by_stage.get(stage)
        if e:
            scores[route] = {"stage": stage, "probe_accuracy": e["best"]["probe_accuracy"],
                             "pnmi": e["best"]["pnmi"], "cer": e["cer"]}
    out = {"routes": scores}
    if {"asr", "classic"} <= scores.keys():
        a, c = scores["asr"], scores["classic"]
        wins = {
            "probe_accuracy": a["probe_accuracy"] >= c["probe_accuracy"],
            "pnmi": a["pnmi"] >= c["pnmi"],
        }
        if a["cer"] is not None and c["cer"] is not None:
            wins["cer"] = a["cer"] <= c["cer"]
        out["asr_matches_or_beats"] = wins
        out["answer"] = ("yes" if all(wins.values()) else "partly" if any(wins.values()) else "no")
    return out


def collect(records: dict, compare: dict) -> dict:
    evaluations = evaluation_rows(records)
    return {
        "label_quality": label_quality_rows(records),
        "teachers": teacher_rows(records),
        "pretraining": pretrain_rows(records),
        "evaluations": evaluations,
        "verdict": verdict(evaluations, compare.get("routes") or {}),
    }
