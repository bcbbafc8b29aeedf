"""report.md: every section of the comparison, with the numbers the run produced."""

from __future__ import annotations

from pathlib import Path

from labelers.corpus.atomic import write_json, write_text

from bootstrap.report.collect import collect
from bootstrap.report.figures import curves_figure, label_quality_figure, layers_figure


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x, fmt=".3f") -> str:
    return "n/a" if x is None else format(x, fmt)


def comparison_table(c: dict) -> str:
    """The one-screen table printed at the end of `compare` and `demo`."""
    lines = [f"{'model':<14} {'labels':<22} {'best probe':>10} {'best PNMI':>9} {'CER':>7}"]
    pre = {p["stage"]: p for p in c["pretraining"]}
    for e in c["evaluations"]:
        labels = ",".join(pre.get(e["model_stage"], {}).get("labels") or ["?"])
        lines.append(f"{e['model_stage']:<14} {labels:<22} {e['best']['probe_accuracy']:>10.3f} "
                     f"{e['best']['pnmi']:>9.3f} {_pct(e['cer']):>7}")
    v = c["verdict"]
    if "answer" in v:
        lines.append(f"one ASR-target iteration matches or beats the classic route: {v['answer']} "
                     f"({', '.join(f'{k}: {w}' for k, w in v['asr_matches_or_beats'].items())})")
    return "\n".join(lines)


def _label_section(c: dict, fig: Path | None) -> list[str]:
    out = ["## 1. Label quality", "",
           "Every label source scored against the reference phones of the valid split "
           "(fairseq's measure_teacher_quality: PNMI = I(phone; label) / H(phone)).", "",
           "| stage | source | classes (used) | rate | PNMI | phone purity | cluster purity | perplexity | segment |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in c["label_quality"]:
        blank = r["params"].get("blank")
        src = r["source"] + (f" (blank={blank})" if blank else "")
        out.append(f"| {r['stage']} | {src} | {r['num_classes']} ({r['used_labels']}) | {r['label_rate']} Hz | "
                   f"{r['pnmi']:.3f} | {r['phone_purity']:.3f} | {r['cluster_purity']:.3f} | "
                   f"{r['label_perplexity']:.1f} | {r['label_segment_ms']:.0f} ms |")
    if fig:
        out += ["", f"![label quality]({fig.name})"]
    return out + [""]


def _teacher_section(c: dict) -> list[str]:
    if not c["teachers"]:
        return []
    out = ["## 2. ASR teacher", "", "| stage | valid CER | valid WER | train time |", "|---|---|---|---|"]
    for t in c["teachers"]:
        out.append(f"| {t['stage']} | {_pct(t['cer'])} | {_pct(t['wer'])} | {_num(t['seconds'], '.0f')} s |")
    return out + [""]


def _pretrain_section(c: dict, fig: Path | None) -> list[str]:
    out = ["## 3. Pre-training", "",
           "| stage | labels | updates | audio seen | wall time | final valid loss_m | final valid acc_m |",
           "|---|---|---|---|---|---|---|"]
    for p in c["pretraining"]:
        v = p["validation"]
        hours = p["audio_hours"]
        out.append(f"| {p['stage']} | {', '.join(p['labels'] or [])} | {p['updates']} | "
                   f"{_num(hours * 60 if hours is not None else None, '.1f')} min | {_num(p['seconds'], '.0f')} s | "
                   f"{_num(v.get('loss_m'))} | {_num(v.get('acc_m'))} |")
    out += ["", "Masked accuracy is measured on each run's own targets, so it compares training progress, "
            "not label sources."]
    if fig:
        out += ["", f"![pre-training curves]({fig.name})"]
    return out + [""]


def _layers_section(c: dict, fig: Path | None) -> list[str]:
    out = ["## 4. Per-layer probe accuracy and PNMI", ""]
    for e in c["evaluations"]:
        out += [f"**{e['model_stage']}** (majority-phone accuracy {e['chance_accuracy']:.3f})", "",
                "| layer | probe accuracy | PNMI | phone purity | cluster purity |", "|---|---|---|---|---|"]
        out += [f"| {r['layer']} | {r['probe_accuracy']:.3f} | {r['pnmi']:.3f} | {r['phone_purity']:.3f} | "
                f"{r['cluster_purity']:.3f} |" for r in e["layers"]]
        out.append("")
    if fig:
        out += [f"![per-layer scores]({fig.name})", ""]
    return out


def _cer_section(c: dict) -> list[str]:
    out = ["## 5. CER after CTC fine-tuning on the labeled subset", "", "| model | CER | WER |", "|---|---|---|"]
    out += [f"| {e['model_stage']} | {_pct(e['cer'])} | {_pct(e['wer'])} |" for e in c["evaluations"]]
    return out + [""]


def _answer_section(c: dict) -> list[str]:
    v = c["verdict"]
    out = ["## 6. The question", "",
           "Does one pre-training iteration on ASR-derived targets match or beat the classic route's "
           "iterations on MFCC and then feature k-means targets?", ""]
    if "answer" not in v:
        return out + ["The experiment names no `compare.routes` with both `asr` and `classic`; no answer.", ""]
    a, cl = v["routes"]["asr"], v["routes"]["classic"]
    out += ["| route | final stage | best probe | best PNMI | CER |", "|---|---|---|---|---|",
            f"| ASR targets | {a['stage']} | {a['probe_accuracy']:.3f} | {a['pnmi']:.3f} | {_pct(a['cer'])} |",
            f"| classic | {cl['stage']} | {cl['probe_accuracy']:.3f} | {cl['pnmi']:.3f} | {_pct(cl['cer'])} |",
            "", f"**Answer on this run: {v['answer']}** "
            f"({', '.join(f'{k}: {w}' for k, w in v['asr_matches_or_beats'].items())})."]
    return out + [""]


def write_comparison(exp, records: dict, out_dir: Path) -> tuple[Path, dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    c = collect(records, exp.compare)
    q_png = label_quality_figure(c["label_quality"], out_dir / "label_quality.png")
    curves_png = curves_figure(c["pretraining"], out_dir / "pretrain_curves.png")
    layers_png = layers_figure(c["evaluations"], out_dir / "layers.png")
    lines = [f"# Label-source comparison: {exp.name}", "",
             f"Experiment file `{exp.source}`; stage folders under `{exp.workdir}`. Every number below was "
             "produced by this run (see `comparison.json`).", ""]
    lines += _label_section(c, q_png) + _teacher_section(c) + _pretrain_section(c, curves_png)
    lines += _layers_section(c, layers_png) + _cer_section(c) + _answer_section(c)
    from bootstrap.report.compute import compute_rows, compute_section, quality_vs_compute_figure

    c["compute"] = compute_rows(records, c["evaluations"])
    lines += compute_section(c["compute"], quality_vs_compute_figure(c["compute"], out_dir / "quality_vs_compute.png"))
    lines += ["## Summary table", "", "```", comparison_table(c), "```", ""]
    report = out_dir / "report.md"
    write_json(out_dir / "comparison.json", {k: v for k, v in c.items()})
    write_text(report, "\n".join(lines))
    return report, c
