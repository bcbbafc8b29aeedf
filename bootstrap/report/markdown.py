"""report.md: every section of the comparison, with the numbers the run produced (mean ± std over seeds)."""

from __future__ import annotations

from pathlib import Path

from labelers.corpus.atomic import write_json, write_text

from bootstrap.report.aggregate import INPUT_NAME, aggregate, strip_private
from bootstrap.report.compute import compute_rows, compute_section, pair_flops, quality_vs_compute_figure
from bootstrap.report.figures import cer_figure, curves_figure, label_quality_figure, layers_figure
from bootstrap.report.stats import format_mean_std as ms

METRIC_NAMES = {"cer": "CER", "best_probe": "best probe", "best_pnmi": "best PNMI", "pnmi": "PNMI"}


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _diff(v: dict | None, pct: bool = False) -> str:
    """'-12.3 [-20.1, -4.5]' (points for percentages): mean difference and its 95% interval."""
    if not v or v["difference"]["mean"] is None:
        return "n/a"
    d = v["difference"]
    scale, digits = (100.0, 1) if pct else (1.0, 3)
    text = f"{scale * d['mean']:+.{digits}f}"
    if d["n"] >= 2:
        text += f" [{scale * d['ci95'][0]:+.{digits}f}, {scale * d['ci95'][1]:+.{digits}f}]"
    return text


def _word(v: dict | None) -> str:
    """A verdict, or n/a where neither model had the metric on any seed (e.g. no CER)."""
    if not v:
        return "-"
    return "n/a" if v["difference"]["n"] == 0 else v["verdict"]


def _layer(m: dict) -> str:
    return "-" if m["best_layer"] is None else str(m["best_layer"])


def comparison_table(c: dict) -> str:
    """The one-screen table printed at the end of `compare` and `demo`."""
    seeds = ", ".join("default" if s is None else str(s) for s in c["seeds"])
    pre = c["pretraining"]
    labels = {name: ",".join(pre.get(m["model_stage"], {}).get("labels") or ["-"]) for name, m in c["models"].items()}
    w = max([16] + [len(n) for n in c["models"]])   # names and label sets as long as they come
    lw = max([16] + [len(x) for x in labels.values()])
    lines = [f"seeds: {seeds}   (mean ± std over seeds; verdicts: {c['test'].split(':')[0]})",
             f"{'model':<{w}} {'labels':<{lw}} {'best probe':>15} {'best PNMI':>15} {'layer':>5} {'CER':>15} "
             f"{'CER vs scratch':>16}"]
    for name, m in c["models"].items():
        gain = m.get("vs_scratch", {}).get("cer")
        gain_txt = f"{_diff(gain, pct=True).split(' [')[0]} {gain['verdict']}" if gain and gain["difference"]["n"] else ""
        lines.append(f"{name:<{w}} {labels[name]:<{lw}} {ms(m['metrics']['best_probe']):>15} "
                     f"{ms(m['metrics']['best_pnmi']):>15} {_layer(m):>5} {ms(m['metrics']['cer'], pct=True):>15} "
                     f"{gain_txt:>16}")
    learned = _learned(c)
    if learned:
        lines.append(learned)
    if c["verdict"]:
        routes = c["routes"]
        lines.append(f"ASR route ({routes['asr']}) vs classic route ({routes['classic']}): "
                     + "; ".join(f"{METRIC_NAMES.get(k, k)} {v}" for k, v in c["verdict"].items()))
    tv = c.get("targets_verdict")
    if tv:
        lines.append(f"iteration-2 targets ({tv['it2']}) vs iteration-1 targets ({tv['it1']}), PNMI: {tv['verdict']}")
    for name, p in (c.get("pairs") or {}).items():
        ratio = "" if p["flops_ratio"] is None else f" (FLOPs x{p['flops_ratio']:.2f})"
        words = [f"{METRIC_NAMES.get(k, k)} {_word(v)}" for k, v in p["verdicts"].items()]
        lines.append(f"{name}: {p['a']} vs {p['b']}{ratio}: " + "; ".join(words))
    return "\n".join(lines)


def _learned(c: dict) -> str:
    """One line: which pre-trained models beat scratch beyond the seed spread, whose best layer is a
    transformer layer above layer 0 (bootstrap/report/aggregate.py, `_learning`)."""
    pre = {n: m for n, m in c["models"].items() if m["kind"] == "pretrained" and m.get("learning")}
    if not pre:
        return ""
    beat = [n for n, m in pre.items() if m["learning"]["beats_scratch_beyond_spread"]]
    deep = [f"{n} (layer {m['best_layer']})" for n, m in pre.items() if m["learning"]["transformer_layer_best"]]
    return (f"beat scratch on CER by more than the seed spread: {', '.join(beat) or 'none'}; "
            f"best PNMI in a transformer layer above layer 0: {', '.join(deep) or 'none'}")


def _ending_with_figure(out: list[str], fig: Path | None, alt: str) -> list[str]:
    """A section's lines, then its figure (when drawn) after a blank line, then the blank line that ends it."""
    if fig:
        out = out + ["", f"![{alt}]({fig.name})"]
    return out + [""]


def _label_section(c: dict, fig: Path | None) -> list[str]:
    out = ["## 1. Label quality", "",
           "Every label source scored against the reference phones of the valid split "
           "(fairseq's measure_teacher_quality: PNMI = I(phone; label) / H(phone)), mean ± std over seeds.", "",
           "| stage | source | classes | rate | PNMI | phone purity | cluster purity | perplexity | segment ms |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, r in c["labels"].items():
        m = r["metrics"]
        blank = r["params"].get("blank")
        src = r["source"] + (f" (blank={blank})" if blank else "")
        out.append(f"| {name} | {src} | {r['num_classes']} | {r['label_rate']} Hz | {ms(m['pnmi'])} | "
                   f"{ms(m['phone_purity'])} | {ms(m['cluster_purity'])} | {ms(m['label_perplexity'], digits=1)} | "
                   f"{ms(m['label_segment_ms'], digits=0)} |")
    if not c["labels"]:
        out.append("| (no reference phones: label quality is n/a) | | | | | | | | |")
    tv = c.get("targets_verdict")
    if tv:
        out += ["", f"Iteration 2's targets (`{tv['it2']}`) against iteration 1's (`{tv['it1']}`), PNMI difference "
                f"{_diff(tv)}: **{tv['verdict']}**."]
    return _ending_with_figure(out, fig, "label quality")


def _teacher_section(c: dict) -> list[str]:
    if not c["teachers"]:
        return []
    out = ["## 2. ASR teacher", "", "| stage | valid CER | valid WER | train time |", "|---|---|---|---|"]
    for name, t in c["teachers"].items():
        out.append(f"| {name} | {ms(t['metrics']['cer'], pct=True)} | {ms(t['metrics']['wer'], pct=True)} | "
                   f"{ms(t['seconds'], digits=0)} s |")
    return out + [""]


def _pretrain_section(c: dict, fig: Path | None) -> list[str]:
    out = ["## 3. Pre-training", "",
           "| stage | labels | updates | audio seen | wall time | CPU time | final valid loss_m | final valid acc_m |",
           "|---|---|---|---|---|---|---|---|"]
    for name, p in c["pretraining"].items():
        v = p["validation"]
        hours = p["audio_hours"]
        out.append(f"| {name} | {', '.join(p['labels'] or [])} | {p['updates']} | "
                   f"{'n/a' if hours is None else f'{hours * 60:.1f}'} min | {ms(p['seconds'], digits=0)} s | "
                   f"{ms(p['cpu_seconds'], digits=0)} s | {ms(v.get('loss_m'))} | {ms(v.get('acc_m'))} |")
    out += ["", "Masked accuracy is measured on each run's own targets, so it compares training progress, "
            "not label sources. Wall times depend on the machine's load; CPU time less so."]
    return _ending_with_figure(out, fig, "pre-training curves")


def _layers_section(c: dict, fig: Path | None) -> list[str]:
    out = ["## 4. Per-layer probe accuracy and PNMI", ""]
    shown = {n: m for n, m in c["models"].items() if m["layers"]}
    if not shown:
        return out + ["The corpus has no reference phones: probe and PNMI are n/a.", ""]
    for name, m in shown.items():
        chance = ms(m["chance_accuracy"])
        out += [f"**{name}** (majority-phone accuracy {chance}; best PNMI layer over seeds: {_layer(m)}, per seed "
                f"{m['best_layer_per_seed']})", "",
                "| layer | probe accuracy | PNMI | phone purity | cluster purity |", "|---|---|---|---|---|"]
        out += [f"| {r['layer']} | {ms(r['probe_accuracy'])} | {ms(r['pnmi'])} | {ms(r['phone_purity'])} | "
                f"{ms(r['cluster_purity'])} |" for r in m["layers"]]
        tl = m.get("transformer_vs_layer0")
        if tl and tl["difference"]["n"]:
            out += ["", f"Best transformer layer against layer 0 (PNMI): {_diff(tl)}, **{tl['verdict']}**."]
        out.append("")
    if fig:
        out += [f"![per-layer scores]({fig.name})", ""]
    return out


def _cer_section(c: dict, fig: Path | None) -> list[str]:
    out = ["## 5. Gains over the baselines", "",
           "Every model gets the same CTC fine-tuning on the labeled subset, `scratch` (the same encoder with "
           "random weights) included. Differences are model minus baseline, mean [95% interval] over seeds; "
           "for CER lower is better (points of CER).", "",
           "| model | CER | WER | baseline | CER vs scratch | verdict | best probe vs scratch | verdict | best PNMI "
           "vs input features | verdict |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in c["models"].items():
        if m["kind"] == "input":
            continue
        vs, vi = m.get("vs_scratch") or {}, m.get("vs_input") or {}
        cells = [_diff(vs.get("cer"), pct=True), _word(vs.get("cer")), _diff(vs.get("best_probe")),
                 _word(vs.get("best_probe")), _diff(vi.get("best_pnmi")), _word(vi.get("best_pnmi"))]
        if m["kind"] == "scratch":
            cells[:4] = ["(baseline)", "-", "(baseline)", "-"]
        out.append(f"| {name} | {ms(m['metrics']['cer'], pct=True)} | {ms(m['metrics']['wer'], pct=True)} | "
                   f"{m.get('scratch') or '-'} | " + " | ".join(cells) + " |")
    if INPUT_NAME in c["models"]:
        m = c["models"][INPUT_NAME]
        out += ["", f"Input features (39-d MFCC frames at 100 Hz): probe {ms(m['metrics']['best_probe'])}, "
                f"PNMI {ms(m['metrics']['best_pnmi'])}."]
    return _ending_with_figure(out, fig, "CER after fine-tuning")


def _answer_section(c: dict) -> list[str]:
    out = ["## 6. The question", "",
           "Does one pre-training iteration on ASR-derived targets match or beat the classic route's "
           "iterations on MFCC and then feature k-means targets?", ""]
    if not c["verdict"]:
        if c.get("pairs"):
            return []  # an experiment asking another question (its pairs answer it)
        return out + ["The experiment names no `compare.routes` with both `asr` and `classic`; no answer.", ""]
    a, cl = c["models"][c["routes"]["asr"]], c["models"][c["routes"]["classic"]]
    out += [f"| metric | ASR route ({c['routes']['asr']}) | classic route ({c['routes']['classic']}) | "
            "difference [95% interval] | verdict for the ASR route |", "|---|---|---|---|---|"]
    for metric, word in c["verdict"].items():
        pct = metric == "cer"
        out.append(f"| {METRIC_NAMES.get(metric, metric)} | {ms(a['metrics'][metric], pct=pct)} | "
                   f"{ms(cl['metrics'][metric], pct=pct)} | {_diff(c['verdict_details'][metric], pct=pct)} | "
                   f"**{word}** |")
    out += ["", f"Test: {c['test']}."]
    return out + [""]


def _pairs_section(c: dict) -> list[str]:
    if not c.get("pairs"):
        return []
    out = ["## Pairs", "", "`compare.pairs`: the first model against the second, paired over seeds (first minus "
           "second, mean [95% interval]; for CER lower is better), and the first's training FLOPs over the "
           "second's (teachers included).", "",
           "| pair | FLOPs ratio | metric | first | second | difference | verdict for the first |",
           "|---|---|---|---|---|---|---|"]
    for name, p in c["pairs"].items():
        ratio = "n/a" if p["flops_ratio"] is None else f"{p['flops_ratio']:.2f}"
        for metric, v in p["verdicts"].items():
            pct = metric == "cer"
            out.append(f"| {name} | {ratio} | {METRIC_NAMES.get(metric, metric)} | "
                       f"{ms(c['models'][p['a']]['metrics'][metric], pct=pct)} | "
                       f"{ms(c['models'][p['b']]['metrics'][metric], pct=pct)} | {_diff(v, pct=pct)} | **{_word(v)}** |")
    return out + ["", f"Test: {c['test']}.", ""]


def write_comparison(exp, records_by_seed: dict, out_dir: Path) -> tuple[Path, dict]:
    """report.md, comparison.json and PNG figures from `{seed: {stage: record}}` (bootstrap/pipeline/seeds.py)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    c = strip_private(aggregate(records_by_seed, exp.compare))
    c["experiment"] = {"name": exp.name, "source": str(exp.source), "workdir": str(exp.workdir)}
    q_png = label_quality_figure(c["labels"], out_dir / "label_quality.png")
    curves_png = curves_figure(c["pretraining"], out_dir / "pretrain_curves.png")
    layers_png = layers_figure(c["models"], out_dir / "layers.png")
    cer_png = cer_figure(c["models"], out_dir / "cer.png")
    seeds = ", ".join("default" if s is None else str(s) for s in c["seeds"])
    lines = [f"# Comparison: {exp.name}", "",
             f"Experiment file `{exp.source}`; stage folders under `{exp.workdir}`; seeds: {seeds}. Every number "
             "below was produced by this run (see `comparison.json`); `a ± b` is the mean and standard deviation "
             "over seeds.", ""]
    lines += _label_section(c, q_png) + _teacher_section(c) + _pretrain_section(c, curves_png)
    c["compute"] = compute_rows(next(iter(records_by_seed.values()), {}), c["models"])  # FLOPs: same every seed
    pair_flops(c["pairs"], c["compute"])
    lines += _layers_section(c, layers_png) + _cer_section(c, cer_png) + _pairs_section(c) + _answer_section(c)
    lines += compute_section(c["compute"], quality_vs_compute_figure(c["compute"], out_dir / "quality_vs_compute.png"))
    lines += ["## Summary table", "", "```", comparison_table(c), "```", ""]
    report = out_dir / "report.md"
    write_json(out_dir / "comparison.json", c)
    write_text(report, "\n".join(lines))
    return report, c
