"""The CTC training task: what a generic training loop needs to fine-tune or train a CTC model.

It owns the vocabulary, model, feature extractor and data; the loop owns the optimiser, precision,
accumulation, checkpoints and progress. `step` returns the loss of one batch; `evaluate` decodes a
held-out split greedily and returns CER/WER.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from tqdm.auto import tqdm

from labelers.corpus import open_split

from .ctc_config import ASRConfig
from .ctc_data import length_sorted_batches, load_ctc_split, make_loader, model_inputs
from .ctc_metrics import ErrorCounter, greedy_ids
from .ctc_model import (
    encoder_parameters, frame_seconds, frames_for_samples, output_lengths, pretrained_ctc_model, scratch_ctc_model,
)
from .ctc_vocab import build_vocab, make_tokenizer


class CTCTask:
    def __init__(self, cfg: ASRConfig, data_dir: str | os.PathLike, split: str, work_dir: str | os.PathLike,
                 valid_split: str | None = "valid", init: str | os.PathLike | None = None):
        self.cfg, self.data_dir, self.init = cfg, Path(data_dir), init
        letters = self._letters(split)
        self.vocab = build_vocab(letters)
        self.tokenizer = make_tokenizer(self.vocab, work_dir)
        if init:
            self.model, self.feature_extractor = pretrained_ctc_model(init, len(self.vocab), 0, cfg.init_overrides)
        else:
            self.model, self.feature_extractor = scratch_ctc_model(cfg.arch, len(self.vocab), 0)
        self._head_free = cfg.freeze_encoder_steps <= 0 or not init
        self._encoder_params = encoder_parameters(self.model)

        def frames(n):
            return frames_for_samples(self.model, n, self.feature_extractor)

        self.train = load_ctc_split(data_dir, split, self.vocab, frames, cfg.max_seconds, cfg.min_seconds)
        if not len(self.train):
            raise ValueError(f"{data_dir}/{split}: no usable utterances for CTC training (skipped: {self.train.skipped[:3]})")
        self.valid = None
        if valid_split:
            self.valid = load_ctc_split(data_dir, valid_split, self.vocab, None, None, 0.0)
            if cfg.max_eval_utterances and len(self.valid) > cfg.max_eval_utterances:
                self._truncate(self.valid, cfg.max_eval_utterances)
        self.runtime_skips: list[dict] = []

    def _letters(self, split: str) -> list[str]:
        from labelers.manifest import words_to_letters

        sp = open_split(self.data_dir, split)
        if sp.has("ltr"):
            return sp.letters()
        if sp.has("wrd"):
            return [words_to_letters(w) for w in sp.words()]
        raise FileNotFoundError(f"{sp.manifest_path}: split '{split}' has no transcripts ({split}.ltr or {split}.wrd)")

    @staticmethod
    def _truncate(split, n: int) -> None:
        for name in ("paths", "utts", "num_samples", "targets", "texts"):
            setattr(split, name, getattr(split, name)[:n])

    # ---- what the loop calls -------------------------------------------------------------
    def describe(self) -> dict:
        return {
            "architecture": type(self.model).__name__,
            "init": str(self.init) if self.init else None,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "trainable_parameters": sum(p.numel() for p in self.model.parameters() if p.requires_grad),
            "vocab_size": len(self.vocab),
            "frame_seconds": frame_seconds(self.model, self.feature_extractor),
            "train_utterances": len(self.train),
            "train_seconds": round(self.train.seconds(), 2),
            "train_skipped": self.train.skipped,
            "unknown_chars": self.train.unknown_chars,
        }

    def train_loader(self, epoch: int):
        batches = length_sorted_batches(self.train.num_samples, self.cfg.batch_seconds, self.cfg.max_batch_size,
                                        shuffle=True, seed=self.cfg.seed + epoch)
        return make_loader(self.train, self.feature_extractor, batches, self.cfg.num_workers)

    def step(self, model, batch: dict) -> tuple[torch.Tensor | None, dict]:
        """Loss of one collated batch (None when every utterance in it failed to load)."""
        self.runtime_skips.extend(batch.get("skipped", []))
        if "labels" not in batch:
            return None, {}
        out = model(**model_inputs(batch))
        return out.loss, {"audio_seconds": batch["audio_seconds"], "utterances": len(batch["utts"])}

    def after_backward(self, step: int) -> None:
        """Before the optimiser step: drop encoder gradients while the encoder is still frozen."""
        if step < self.cfg.freeze_encoder_steps and self.init:
            for p in self._encoder_params:
                p.grad = None

    @torch.no_grad()
    def evaluate(self, model, device, progress: bool = False) -> dict:
        if self.valid is None or not len(self.valid):
            return {}
        model.eval()
        batches = length_sorted_batches(self.valid.num_samples, self.cfg.batch_seconds, self.cfg.max_batch_size)
        counter, loss_sum, loss_n = ErrorCounter(), 0.0, 0
        for batch in tqdm(make_loader(self.valid, self.feature_extractor, batches, self.cfg.num_workers),
                          desc="valid", leave=False, disable=not progress):
            self.runtime_skips.extend(batch.get("skipped", []))
            if "labels" not in batch:
                continue
            inputs = {k: v.to(device) for k, v in model_inputs(batch).items()}
            out = model(**inputs)
            if out.loss is not None and torch.isfinite(out.loss):
                loss_sum += float(out.loss) * len(batch["utts"])
                loss_n += len(batch["utts"])
            lengths = output_lengths(model, inputs["attention_mask"])
            logits = out.logits.float().cpu().numpy()
            for row, ref in enumerate(batch["texts"]):
                hyp = self.tokenizer.decode(greedy_ids(logits[row], int(lengths[row]), blank=0), group_tokens=False)
                counter.add(ref, hyp)
        model.train()
        return {"loss": loss_sum / max(loss_n, 1), **counter.as_dict()}

    def save(self, model, out_dir: str | os.PathLike) -> None:
        """transformers format: model + processor (feature extractor and tokenizer)."""
        from transformers import Wav2Vec2Processor

        out_dir = Path(out_dir)
        model.save_pretrained(out_dir)
        Wav2Vec2Processor(feature_extractor=self.feature_extractor, tokenizer=self.tokenizer).save_pretrained(out_dir)
