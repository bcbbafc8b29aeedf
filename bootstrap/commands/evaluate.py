"""`bootstrap evaluate`: per-layer PNMI/purity of k-means, linear-probe phone accuracy, optional CER after fine-tuning."""

from __future__ import annotations

import sys

from bootstrap.commands.parsers import add_command, add_threads_argument, apply_threads
from bootstrap.presets import FINETUNE_EVAL_CONFIG


def register(sub) -> None:
    p = add_command(
        sub, "evaluate",
        "score a pre-trained encoder layer by layer (PNMI, purity, phone probe; CER with --finetune)",
        (
            "For each hidden layer of MODEL (a transformers folder, e.g. a pre-training run's hf/): k-means "
            "(fixed K) fitted on --train-split features, scored on --eval-split against reference phones "
            "(PNMI, phone and cluster purity), and the frame accuracy of a linear phone probe trained on frozen "
            "--train-split features. With --finetune, CER/WER after CTC fine-tuning on --labeled-split. Writes "
            "OUT/evaluation.json and OUT/layers.png."
        ),
        run,
    )
    p.add_argument("--model", required=True, help="encoder folder in transformers format (HubertModel, ...)")
    p.add_argument("--data", required=True, help="corpus folder with .tsv and .phn files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--train-split", default="train", help="split the k-means and the probe are fitted on")
    p.add_argument("--eval-split", default="valid", help="split the scores are computed on")
    p.add_argument("--k", type=int, default=100, help="k-means clusters per layer")
    p.add_argument("--layers", default="all", help="'all', or hidden-state indices like '6' or '1,6,12' or '4-8'")
    p.add_argument("--max-train-seconds", type=float, default=1800.0,
                   help="train audio used for features (seeded sample of utterances; all layers are held in "
                        "memory as float16: ~0.6 GB per 10 min for a Base model)")
    p.add_argument("--max-eval-seconds", type=float, default=900.0, help="eval audio used for features (seeded sample)")
    p.add_argument("--probe-epochs", type=int, default=10, help="linear-probe epochs")
    p.add_argument("--score-rate", type=float, default=None, metavar="HZ",
                   help="score frames at this rate instead of the model's own (e.g. 50 to put an 80 ms "
                        "fastconformer on the same phone frames as HuBERT; coarser frames are repeated)")
    add_threads_argument(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--finetune", action="store_true", help="also fine-tune with CTC on --labeled-split and report CER")
    p.add_argument("--labeled-split", default="labeled", help="transcribed split for --finetune")
    p.add_argument("--finetune-config", default=str(FINETUNE_EVAL_CONFIG), help="ASR config for --finetune")
    p.add_argument("--finetune-set", action="append", default=[], metavar="key=value",
                   help="override a fine-tuning config key (repeatable), e.g. loop.max_steps=100")


def run(args) -> int:
    apply_threads(args)
    from bootstrap.evaluation.model_evaluation import evaluate_model, has_reference_phones
    from bootstrap.evaluation.layers import EvalSettings
    from bootstrap.evaluation.layer_report import format_table

    settings = EvalSettings(
        train_split=args.train_split, eval_split=args.eval_split, k=args.k, layers=args.layers,
        max_train_seconds=args.max_train_seconds, max_eval_seconds=args.max_eval_seconds,
        probe_epochs=args.probe_epochs, seed=args.seed, score_rate=args.score_rate,
    )
    if not args.finetune and not has_reference_phones(args.data, args.train_split, args.eval_split):
        print(f"bootstrap evaluate: {args.data} has no reference phones for '{args.train_split}'/'{args.eval_split}' "
              "(.phn): nothing to score without --finetune", file=sys.stderr)
        return 2
    result, json_path, png_path = evaluate_model(
        args.model, args.data, args.out, settings,
        finetune_split=args.labeled_split if args.finetune else None,
        finetune_config=args.finetune_config, finetune_overrides=args.finetune_set,
    )
    print(format_table(result))
    print(f"wrote {json_path}{f' and {png_path}' if png_path else ''} ({result['seconds']:.0f} s)")
    return 0
