"""HuBERT masked prediction as a task for the generic loop (pretrain.loop.run_training)."""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import gather_object

from labelers.corpus.atomic import write_json
from labelers.corpus.label_store import LabelSet

from pretrain.data import DataConfig, MaskParams, PretrainData
from pretrain.loss import LOSSES, LossResult
from pretrain.model import HubertPretrainModel, ModelConfig


class PretrainTask:
    def __init__(self, data_cfg: DataConfig, model_cfg: ModelConfig, seed: int, accelerator: Accelerator):
        self.data_cfg, self.model_cfg, self.acc = data_cfg, model_cfg, accelerator
        self.label_sets = [LabelSet.open(d) for d in data_cfg.label_dirs]
        self.loss = LOSSES[model_cfg.loss]
        self._flop_config = None  # the backbone's transformers config, built on first use
        mask = MaskParams(model_cfg.mask_prob, model_cfg.mask_length, model_cfg.min_masks)
        from pretrain.backbones import backbone_class

        common = dict(rank=accelerator.process_index, world=accelerator.num_processes,
                      pin_memory=accelerator.device.type == "cuda",
                      frame_rate=backbone_class(model_cfg.backbone).frame_rate,
                      output_frames=backbone_class(model_cfg.backbone).output_frames)
        self.train = PretrainData(data_cfg, data_cfg.train_split, mask, seed, **common)
        self.valid = (PretrainData(data_cfg, data_cfg.valid_split, mask, seed + 1, shuffle=False, **common)
                      if data_cfg.valid_split else None)
        self.skipped_at_load = len(self.train.skipped) + (len(self.valid.skipped) if self.valid else 0)
        self.skipped_in_batches: list[dict] = []
        accelerator.print(
            f"train: {len(self.train.utts)} utterances, {self.train.seconds / 3600:.2f} h, "
            f"{len(self.train.batch_keys(0))} batches/epoch/process; skipped {len(self.train.skipped)}"
            + (f"; valid: {len(self.valid.utts)} utterances" if self.valid else "")
        )

    def build_model(self) -> HubertPretrainModel:
        return HubertPretrainModel(self.model_cfg, [ls.num_classes for ls in self.label_sets])

    def train_batches(self, epoch: int, start: int):
        return self.train.loader(epoch, start)

    def _forward(self, model, batch, with_unmasked=None) -> LossResult:
        dev = self.acc.device
        wav = batch["wav"].to(dev, non_blocking=True)
        targets = [t.to(dev, non_blocking=True) for t in batch["targets"]]
        mask = batch["mask"].to(dev, non_blocking=True)
        lengths = batch["wav_lengths"].to(dev, non_blocking=True) if batch["padded"] else None
        index = batch.get("mask_index")
        index = index.to(dev, non_blocking=True) if index is not None else None
        out = model(wav, targets, mask, lengths, with_unmasked=with_unmasked, per_frame=self.loss.per_frame,
                    mask_index=index)
        return self.loss.fn(out, self.model_cfg)

    def flops(self, batch) -> float:
        """Training FLOPs of a micro-batch, from its shape and mask (host tensors: no device sync)."""
        from pretrain.flops import train_flops

        if batch["wav"] is None:
            return 0.0
        if getattr(self, "_flop_config", None) is None:  # built on first use
            from pretrain.flops import backbone_config

            self._flop_config = backbone_config(self.model_cfg)
        B, S = batch["wav"].shape
        return float(train_flops(self.model_cfg.backbone, self._flop_config, S, B, int(batch["mask"].sum()),
                                 self.model_cfg.arch()["final_dim"],
                                 [ls.num_classes for ls in getattr(self, "label_sets", [])],
                                 self.model_cfg.feature_grad_mult))

    def step(self, model, batch):
        self.skipped_in_batches.extend(batch["skipped"])
        if batch["wav"] is None:  # every file of the batch failed to load: a zero loss keeps ranks in step
            zero = sum(p.sum() for p in model.parameters()) * 0.0
            return zero, {}, 0.0, 0
        res = self._forward(model, batch)
        metrics = {k: v for k, v in res.metrics.items() if k not in ("loss", "n_masked")}
        # The loop weights this micro-batch by its sample size and divides by the total over the update.
        return res.loss, metrics, batch["audio_seconds"], res.sample_size

    def evaluate(self, model) -> dict:
        """Validation loss and masked/unmasked accuracy over all ranks, each weighted by its own frame count
        (masked frames for *_m, unmasked ones for *_u, the sample size for loss and feature_pen)."""
        if self.valid is None:
            return {}
        sums: dict[str, list[float]] = {}
        for batch in self.valid.loader(0, 0, self.data_cfg.valid_max_batches):
            if batch["wav"] is None:
                continue
            res = self._forward(model, batch, with_unmasked=True)
            for k, w in res.weights.items():
                total = sums.setdefault(k, [0.0, 0.0])
                total[0] += float(res.metrics[k]) * w
                total[1] += w
        # The same names on every rank (a rank may have had no batch), so one all-reduce adds them up.
        keys = sorted(set().union(*gather_object([sorted(sums)]))) if self.acc.num_processes > 1 else sorted(sums)
        if not keys:
            return {}
        t = torch.tensor([sums.get(k, [0.0, 0.0]) for k in keys], dtype=torch.float64, device=self.acc.device)
        t = self.acc.reduce(t, "sum")
        return {k: total / w for k, (total, w) in zip(keys, t.tolist()) if w > 0}

    def finish(self, model, out_dir: Path, accelerator: Accelerator) -> dict:
        from pretrain.export import export_run

        # A file that fails to load fails every epoch and on every rank that draws it: one entry per utterance.
        in_batches = {s["utt"]: s for s in gather_object(self.skipped_in_batches)}
        skipped = self.train.skipped + (self.valid.skipped if self.valid else []) + list(in_batches.values())
        if accelerator.is_main_process:
            export_run(model, Path(out_dir), [str(d) for d in self.data_cfg.label_dirs], self.data_cfg.normalize)
            write_json(Path(out_dir) / "skipped.json", skipped)
        return {"hf_dir": str(Path(out_dir) / "hf"), "skipped_utterances": len(skipped)}
