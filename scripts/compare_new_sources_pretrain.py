"""Pre-training part of the new-sources comparison (issue 14) at the smallest scale a shared 2-core CPU allows.

Uses the label sets of scripts/compare_new_sources_labels.py (same OUT folder, same seeds). Per seed,
one tiny HuBERT per target set / loss, all with the same config, steps and seed:
  asr_chars (ce), asr_chars (ctc), asr_phones (ce), mfcc_km (ce), rq (ce), and scratch (random weights);
then `bootstrap evaluate` (per-layer k-means PNMI, K=50, and a linear phone probe, on valid) for each.
Writes OUT/pretrain_comparison.json: per-seed values, mean, sd, 95% t-interval, and paired differences
with verdicts for the three questions. Seeds run in order, so a partial run still gives whole seeds.

    python scripts/compare_new_sources_pretrain.py --out runs/new_sources_labels --seeds 1,2,3 --steps 300
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_new_sources_labels import interval, verdict  # noqa: E402

PY = sys.executable
ROOT = Path(__file__).resolve().parents[1]
MODELS = {  # name -> (label set folder, loss)
    "asr_chars_ce": ("asr_chars", "ce"),
    "asr_chars_ctc": ("asr_chars", "ctc"),
    "asr_phones_ce": ("asr_phones", "ce"),
    "mfcc_km_ce": ("mfcc_km", "ce"),
    "rq_ce": ("rq", "ce"),
}
PAIRS = {"ctc_minus_ce_on_asr": ("asr_chars_ctc", "asr_chars_ce"),
         "phones_minus_chars": ("asr_phones_ce", "asr_chars_ce"),
         "rq_minus_mfcc": ("rq_ce", "mfcc_km_ce")}
METRICS = ("best_pnmi", "best_probe")


def run(*argv: str) -> None:
    t0 = time.time()
    subprocess.run([PY, "-m", *argv], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"  {' '.join(argv[:2])} {argv[-1] if argv[0] == 'pretrain' else ''} ... {time.time() - t0:.0f} s", flush=True)


def scratch_model(out: Path, seed: int, overrides: list[str]) -> Path:
    """The same encoder as the pre-trained ones, random weights from `seed`, in transformers format."""
    import torch
    from transformers import HubertModel

    from pretrain.config import load_config
    from pretrain.model import hubert_config

    hf = out / "hf"
    if not (hf / "config.json").is_file():
        cfg = load_config(ROOT / "conf/pretrain/tiny.yaml", overrides)
        torch.manual_seed(seed)
        HubertModel(hubert_config(cfg.model)).save_pretrained(hf)
    return hf


def scores(eval_dir: Path) -> dict:
    best = json.loads((eval_dir / "evaluation.json").read_text())["best"]  # over all hidden states, layer 0 included
    return {"best_pnmi": best["pnmi"], "best_probe": best["probe_accuracy"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="the label comparison's OUT folder")
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--steps", type=int, default=300)
    args = p.parse_args()
    out = Path(args.out)
    data = out / "corpus"
    results: dict[str, dict[int, dict]] = {m: {} for m in [*MODELS, "scratch"]}
    t_start = time.time()
    for seed in [int(s) for s in args.seeds.split(",")]:
        sd = out / f"seed{seed}"
        common = [f"data.data_dir={data}", "data.train_split=train", "data.valid_split=valid",
                  "data.batch_seconds=16", f"loop.max_steps={args.steps}", f"loop.seed={seed}",
                  "loop.eval_every=0", f"loop.save_every={args.steps}", "loop.trackers=", "model.num_hidden_layers=3",
                  "model.conv_dim=[32,32,32,32,32,32,32]", "model.dropout=0.0", "model.attention_dropout=0.0",
                  "model.dropout_input=0.0", "loop.lr=3.0e-3"]
        for name, (labels, loss) in MODELS.items():
            run_dir = sd / f"pt_{name}"
            if not (run_dir / "hf" / "config.json").is_file():
                run("pretrain", "--config", str(ROOT / "conf/pretrain/tiny.yaml"), *common,
                    f"data.label_dirs=[{sd / labels}]", f"model.loss={loss}", f"loop.output_dir={run_dir}")
        scratch_model(sd / "pt_scratch", seed, [c for c in common if c.startswith("model.")])
        for name in [*MODELS, "scratch"]:
            ev = sd / f"eval_{name}"
            if not (ev / "evaluation.json").is_file():
                run("bootstrap.cli", "evaluate", "--model", str(sd / f"pt_{name}" / "hf"), "--data", str(data),
                    "--out", str(ev), "--k", "50", "--probe-epochs", "10", "--seed", str(seed), "--threads", "1",
                    "--train-split", "train", "--eval-split", "valid")
            results[name][seed] = scores(ev)
        print(f"seed {seed}: " + json.dumps({k: {m: round(v[seed][m], 4) for m in METRICS} for k, v in results.items()}),
              flush=True)
    seeds = sorted(results["scratch"])
    summary = {"steps": args.steps, "seeds": seeds, "models": {}, "paired": {}}
    for name, per_seed in results.items():
        summary["models"][name] = {m: interval([per_seed[s][m] for s in seeds]) for m in METRICS}
    for label, (a, b) in PAIRS.items():
        summary["paired"][label] = {}
        for m in METRICS:
            d = interval([results[a][s][m] - results[b][s][m] for s in seeds])
            summary["paired"][label][m] = {**d, "verdict": verdict(d)}
    summary["wall_seconds"] = round(time.time() - t_start, 1)
    summary["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    from labelers.corpus.atomic import write_json

    write_json(out / "pretrain_comparison.json", summary)
    print(json.dumps(summary["paired"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
