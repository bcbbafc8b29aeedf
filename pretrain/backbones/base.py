"""The backbone interface: waveform batch -> features -> masked encoder -> hidden states.

Every backbone wraps one `transformers` model (`self.model`, what `hf/` holds and
`AutoModel.from_pretrained` loads back) and answers the same questions, so the pre-training head,
the masking and the loss in `pretrain.model` never look inside it:

- `frame_rate` / `hop`: output frames per second and samples per frame (labels are converted to it);
- `encode(wav, frame_lengths, mask)`: last hidden states (B, T, D), a feature penalty (0 where the
  backbone has none) and the frame padding mask (None when the batch has no padding). `mask` (B, T) is
  True where the encoder input is replaced by the learned mask embedding; it is applied with
  `torch.where`, never with boolean indexing, so no count ever has to reach the host;
- `feature_extractor(normalize)`: the transformers feature extractor saved beside the model;
- `save_pretrained(folder, normalize)` and `from_pretrained(folder, cfg)`.

Parameters outside `self.model` (a mask embedding the transformers class does not own) are "extra
state": the export keeps them in head.pt so that `load_pretrain_model` rebuilds the exact model.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from labelers.corpus.frames import num_frames as frames_at_rate


class Backbone(nn.Module):
    name: str = ""
    frame_rate: float = 50.0
    SIZES: dict[str, dict] = {}
    # Architecture keys that `model.<key>` overrides may change for this backbone.
    OVERRIDABLE = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")

    model: nn.Module

    @property
    def hop(self) -> int:
        return int(round(16000 / self.frame_rate))

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def num_frames(self, num_samples: int) -> int:
        """Label frames for an utterance: the project's single frame-count rule at this frame rate."""
        return frames_at_rate(num_samples, self.frame_rate)

    @classmethod
    def output_frames(cls, num_samples: int) -> int:
        """Frames the encoder itself gives for an unpadded utterance (masks stay inside them)."""
        return frames_at_rate(num_samples, cls.frame_rate)

    def encode(self, wav: torch.Tensor, frame_lengths: torch.Tensor | None, mask: torch.Tensor | None):
        raise NotImplementedError

    def feature_extractor(self, normalize: bool):
        raise NotImplementedError

    # ------------------------------------------------------------------ export

    def export_config_changes(self) -> dict:
        """Config fields to set only while saving (e.g. a fine-tuning masking rate)."""
        return {}

    def save_pretrained(self, folder: str | os.PathLike, normalize: bool) -> None:
        cfg = self.model.config
        changes = self.export_config_changes()
        saved = {k: getattr(cfg, k) for k in changes}
        for k, v in changes.items():
            setattr(cfg, k, v)
        try:
            self.model.save_pretrained(folder)
        finally:
            for k, v in saved.items():
                setattr(cfg, k, v)
        self.feature_extractor(normalize).save_pretrained(folder)

    def extra_state(self) -> dict:
        return {k: v.detach().cpu() for k, v in self.state_dict().items() if not k.startswith("model.")}

    def load_extra_state(self, state: dict) -> None:
        if state:
            missing = self.load_state_dict(state, strict=False)
            if missing.unexpected_keys:
                raise ValueError(f"unexpected backbone state: {missing.unexpected_keys}")

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, cfg) -> "Backbone":
        raise NotImplementedError


def resolve_arch(cls: type[Backbone], cfg) -> dict:
    """The size preset of `cfg.size` for backbone `cls`, with the `model.<key>` overrides applied."""
    if cfg.size not in cls.SIZES:
        raise ValueError(f"model.size '{cfg.size}' unknown for backbone '{cls.name}' (choose from {sorted(cls.SIZES)})")
    arch = dict(cls.SIZES[cfg.size])
    for k in cls.OVERRIDABLE + ("final_dim",):
        v = getattr(cfg, k, None)
        if v is not None:
            arch[k] = tuple(v) if isinstance(v, list) else v
    if getattr(cfg, "conv_dim", None) is not None and "conv_dim" not in cls.OVERRIDABLE:
        raise ValueError(f"model.conv_dim applies to the hubert backbone only, not '{cls.name}'")
    return arch


def padding_mask(lengths: torch.Tensor | None, T: int, device) -> torch.Tensor | None:
    """(B, T) True on real frames, or None when `lengths` is None (a batch without padding)."""
    if lengths is None:
        return None
    return torch.arange(T, device=device)[None, :] < lengths[:, None]


def check_folder(folder: str | os.PathLike) -> Path:
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no config.json (expected a folder written by save_pretrained)")
    return folder


def fit_mask(mask: torch.Tensor, T: int) -> torch.Tensor:
    """The (B, T_labels) mask cut or extended (with False) to the encoder's T frames."""
    if mask.shape[1] >= T:
        return mask[:, :T]
    return torch.cat([mask, mask.new_zeros(mask.shape[0], T - mask.shape[1])], dim=1)
