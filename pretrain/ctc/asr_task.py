"""The CTC training task, in the shape the generic training engine (`pretrain.loop`) drives.

It owns the vocabulary, model, feature extractor and data; the engine owns the optimiser, precision,
accumulation, checkpoints, logging and progress. Batches are a pure function of (seed, epoch,
position), so a resumed run sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from labelers.corpus.atomic import write_json
from labelers.corpus.split import open_split

from pretrain.ctc.spec_augment import spec_augment
from pretrain.ctc.asr_config import ASRConfig
from pretrain.ctc.transcribed_data import length_sorted_batches, load_ctc_split, make_loader, model_inputs
from pretrain.ctc.error_rates import ErrorCounter, greedy_ids
from pretrain.ctc.asr_models import (
    encoder_parameters, frame_seconds, frames_for_samples, output_lengths, pretrained_ctc_model, scratch_ctc_model,
)
from pretrain.ctc.vocab import build_phone_vocab, build_vocab, make_tokenizer
from pretrain.loop import LoopConfig, accumulation_steps
from pretrain.flops import ctc_train_flops

UNITS_FILE = "teacher_units.json"  # what the teacher's tokens are; `--source asr` reads it (labelers.phone_encoder)


def split_letters(data_dir, split: str) -> list[str]:
    """`.ltr` lines of a split, or its `.wrd` lines converted to letters."""
    return open_split(data_dir, split).require_transcripts("letters")


class CTCTask:
    def __init__(self, cfg: ASRConfig, data_dir: str | os.PathLike, split: str, work_dir: str | os.PathLike,
                 valid_split: str | None = "valid", init: str | os.PathLike | None = None):
        from accelerate import PartialState

        self.cfg, self.data_dir, self.init = cfg, Path(data_dir), init
        self.seed = int(cfg.loop.get("seed", 1))
        self.units = PhoneUnits(cfg, data_dir, split, valid_split) if cfg.units == "phones" else None
        if self.units:
            self.vocab = build_phone_vocab(self.units.train.lines)
        else:
            self.vocab = build_vocab(split_letters(data_dir, split))
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.tokenizer = make_tokenizer(self.vocab, work_dir)
        if init:
            self.model, self.feature_extractor = pretrained_ctc_model(init, len(self.vocab), 0, cfg.init_overrides)
        else:
            self.model, self.feature_extractor = scratch_ctc_model(cfg.arch, len(self.vocab), 0)

        def frames(n):
            return frames_for_samples(self.model, n, self.feature_extractor)

        self.train = load_ctc_split(data_dir, split, self.vocab, frames, cfg.max_seconds, cfg.min_seconds,
                                    phone_lines=self.units.train.lines if self.units else None)
        if not len(self.train):
            raise ValueError(f"{data_dir}/{split}: no usable utterances for CTC training (skipped: {self.train.skipped[:3]})")
        self.valid = None
        if valid_split:
            self.valid = load_ctc_split(data_dir, valid_split, self.vocab,
                                        phone_lines=self.units.valid.lines if self.units else None)
            if cfg.max_eval_utterances and len(self.valid) > cfg.max_eval_utterances:
                self.valid = self.valid.head(cfg.max_eval_utterances)
        state = PartialState()
        self.rank, self.world = state.process_index, state.num_processes
        self.runtime_skips: list[dict] = []
        # Encoder freezing follows the update count, derived from the data position (resume-safe).
        self._micro = 0
        self._frozen = False
        self._accum = accumulation_steps(LoopConfig(grad_accum=int(cfg.loop.get("grad_accum", 1)),
                                                    emulate_gpus=int(cfg.loop.get("emulate_gpus", 0))), self.world)
        if init and cfg.freeze_encoder_steps > 0:
            for p in encoder_parameters(self.model):
                if p.requires_grad:
                    p.register_hook(self._mask_frozen_grad)

    def _mask_frozen_grad(self, grad):
        return torch.zeros_like(grad) if self._frozen else grad

    # ---- the engine's task protocol ----------------------------------------------------------
    def build_model(self):
        return self.model

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches for `epoch`: same count on every rank, reshuffled per epoch from the seed."""
        batches = length_sorted_batches(self.train.num_samples, self.cfg.batch_seconds, self.cfg.max_batch_size,
                                        shuffle=True, seed=self.seed * 1000 + epoch)
        if self.world > 1:
            usable = len(batches) - len(batches) % self.world
            if usable == 0:
                raise ValueError(f"{len(batches)} batches cannot be shared by {self.world} processes; lower batch_seconds")
            batches = batches[:usable][self.rank :: self.world]
        return batches

    def train_batches(self, epoch: int, start: int):
        batches = self.epoch_batches(epoch)
        self._micro = epoch * len(batches) + start
        for batch in make_loader(self.train, self.feature_extractor, batches[start:], self.cfg.num_workers):
            yield batch
            self._micro += 1

    def step(self, model, batch: dict):
        """(loss, metrics, audio seconds) of one micro-batch."""
        self._frozen = bool(self.init) and (self._micro // self._accum) < self.cfg.freeze_encoder_steps
        self.runtime_skips.extend(batch.get("skipped", []))
        device = next(model.parameters()).device
        if "labels" not in batch:  # every utterance failed to decode: a no-op step keeps positions aligned
            return torch.zeros((), device=device, requires_grad=True), {}, 0.0
        inputs = model_inputs(batch)
        if self.cfg.spec_augment and "input_features" in inputs:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self._micro)
            inputs["input_features"] = spec_augment(inputs["input_features"], inputs.get("attention_mask"), g,
                                                    **self.cfg.spec_augment)
        inputs = {k: v.to(device) for k, v in inputs.items()}
        out = model(**inputs)
        return out.loss, {"encoder_frozen": float(self._frozen)}, batch["audio_seconds"]

    def flops(self, batch: dict) -> float:
        """Training FLOPs of a micro-batch, from its shape (pretrain.flops.ctc_train_flops; no device sync)."""
        if "labels" not in batch:
            return 0.0
        frozen = self.init is not None and hasattr(self.model, "freeze_feature_encoder")  # CNN frozen at --init
        return float(ctc_train_flops(self.model.config, batch["padded_samples"], len(batch["utts"]), frozen))

    @torch.no_grad()
    def evaluate(self, model) -> dict:
        """Greedy decoding of the held-out split: loss, CER (characters incl. spaces) and WER."""
        if self.valid is None or not len(self.valid):
            return {}
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        batches = length_sorted_batches(self.valid.num_samples, self.cfg.batch_seconds, self.cfg.max_batch_size)
        counter, loss_sum, loss_n = ErrorCounter(), 0.0, 0
        for batch in make_loader(self.valid, self.feature_extractor, batches, self.cfg.num_workers):
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
                ids = greedy_ids(logits[row], int(lengths[row]), blank=0)
                if self.units:  # multi-character phones: space-separated, so "wer" is the phone error rate
                    hyp = " ".join(self.id_to_token[int(i)] for i in ids)
                else:
                    hyp = self.tokenizer.decode(ids, group_tokens=False)
                counter.add(ref, hyp)
        model.train(was_training)
        m = counter.as_dict()
        out = {"loss": loss_sum / max(loss_n, 1), "cer": m["cer"], "wer": m["wer"], "utterances": float(m["utterances"])}
        if self.units:
            out["per"] = m["wer"]
        return out

    def finish(self, model, out_dir, accelerator=None) -> dict:
        if accelerator is None or accelerator.is_main_process:
            self.save(model, out_dir)
        return {}

    # ---- description and export ---------------------------------------------------------------
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
            "units": self.units.describe() if self.units else {"units": "chars"},
        }

    def save(self, model, out_dir: str | os.PathLike) -> None:
        """transformers format: model + processor (feature extractor and tokenizer)."""
        from transformers import Wav2Vec2Processor

        model.save_pretrained(out_dir)
        Wav2Vec2Processor(feature_extractor=self.feature_extractor, tokenizer=self.tokenizer).save_pretrained(out_dir)
        # Also the classic preprocessor_config.json: loaders that read it directly (labelers.features_model
        # takes do_normalize from it) see the same settings as AutoProcessor.
        self.feature_extractor.save_pretrained(out_dir)
        write_json(Path(out_dir) / UNITS_FILE, self.units.describe() if self.units else {"units": "chars"})


class PhoneUnits:
    """Phone targets for the teacher: `.phn` collapsed, or words through the lexicon (OOV counted)."""

    def __init__(self, cfg: ASRConfig, data_dir, split: str, valid_split: str | None):
        from labelers.corpus.phone_transcripts import Lexicon, resolve_phone_source, split_phone_lines

        self.phones_from = resolve_phone_source(data_dir, split, cfg.phones_from)
        self.lexicon = Lexicon.load(cfg.lexicon, cfg.lexicon_stress) if self.phones_from == "lexicon" else None
        self.train = split_phone_lines(data_dir, split, self.phones_from, self.lexicon)
        self.valid = split_phone_lines(data_dir, valid_split, self.phones_from, self.lexicon) if valid_split else None

    def describe(self) -> dict:
        return {"units": "phones", "phones_from": self.phones_from,
                "lexicon": self.lexicon.describe() if self.lexicon else None,
                "train": self.train.report(), "valid": self.valid.report() if self.valid else None}
