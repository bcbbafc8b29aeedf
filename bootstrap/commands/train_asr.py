"""`bootstrap train-asr`: train (or fine-tune) a character CTC ASR model, saved in transformers format."""

from __future__ import annotations

import argparse
from pathlib import Path

from conf import find_config, named_configs

FINETUNE_EVAL_CONFIG = find_config("finetune_tiny", "asr")  # `evaluate --finetune`: a few minutes of labels


def default_asr_config(init) -> Path:
    """From scratch: the small teacher; with a pre-trained encoder: fairseq-style fine-tuning."""
    return find_config("finetune_base" if init else "scratch_tiny", "asr")


def register(sub) -> None:
    p = sub.add_parser(
        "train-asr",
        help="train a CTC ASR teacher (from scratch or --init a pre-trained encoder)",
        description=(
            "Train a character CTC model on transcribed audio ({split}.tsv + {split}.ltr or .wrd) and save it "
            "in transformers format (AutoModelForCTC + AutoProcessor load OUT). From scratch: a small "
            "FastConformer (ParakeetForCTC, 40 ms frames). With --init: a pre-trained HuBERT/wav2vec2 export "
            "fine-tuned with a new CTC layer (CNN frozen). Reports greedy CER/WER on --valid-split."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--data", required=True, help="corpus folder with {split}.tsv and transcripts")
    p.add_argument("--split", default="labeled", help="split to train on")
    p.add_argument("--valid-split", default="valid", help="held-out split scored with CER/WER ('none' to skip)")
    p.add_argument("--out", required=True, help="output folder (model, processor, asr_summary.json)")
    p.add_argument("--init", default=None, help="pre-trained encoder folder (transformers format) to fine-tune")
    p.add_argument("--config", default=None,
                   help="YAML settings: a path or a preset name (" + ", ".join(named_configs("asr")) + "; default: "
                        "scratch_tiny, or finetune_base with --init)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's choice; 1 is often fastest on a busy small machine)")
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints already in --out")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="override config keys, e.g. loop.max_steps=200 loop.lr=1e-3 arch.hidden_size=96")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from pretrain.ctc.asr_config import load_asr_config
    from pretrain.ctc.train import print_summary, train_asr

    config = find_config(args.config, "asr") if args.config else default_asr_config(args.init)
    cfg = load_asr_config(config, args.overrides)
    valid = None if str(args.valid_split).lower() in ("none", "") else args.valid_split
    summary = train_asr(args.data, args.split, args.out, cfg, init=args.init, valid_split=valid,
                        resume=not args.no_resume)
    print_summary(summary, args.out)
    return 0
