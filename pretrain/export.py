"""Export a trained run: `hf/` (the backbone's transformers model + feature extractor) and the head beside it.

    out/hf/            config.json, model.safetensors, preprocessor_config.json
                       -> transformers.AutoModel / AutoFeatureExtractor.from_pretrained(out/hf)
                          (HubertModel, Wav2Vec2BertModel or ParakeetEncoder, by `model.backbone`)
    out/head.pt        final_proj and label embeddings (state dicts), and backbone parameters outside
                       the transformers model (fastconformer's mask embedding)
    out/head.json      num_classes per label set, final_dim, the model config, label folders
`load_pretrain_model(out)` rebuilds the full pre-training model to continue or fine-tune.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from pretrain.backbones import load_backbone
from pretrain.backbones.hubert import FINETUNE_MASK_PROB  # noqa: F401 (compat)
from pretrain.model import HubertPretrainModel, ModelConfig


def export_run(model: HubertPretrainModel, out_dir: Path, label_dirs: list[str], normalize: bool) -> Path:
    hf = out_dir / "hf"
    tmp = out_dir / ".hf.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    model.backbone.save_pretrained(tmp, normalize)
    if hf.exists():
        shutil.rmtree(hf)
    os.replace(tmp, hf)
    torch.save(model.head_state(), out_dir / "head.pt.tmp")
    os.replace(out_dir / "head.pt.tmp", out_dir / "head.pt")
    info = {**model.head_config(), "label_dirs": label_dirs, "hf_dir": "hf"}
    (out_dir / "head.json.tmp").write_text(json.dumps(info, indent=2))
    os.replace(out_dir / "head.json.tmp", out_dir / "head.json")
    return hf


def load_pretrain_model(out_dir: str | os.PathLike) -> HubertPretrainModel:
    """Backbone from `hf/`, head from `head.pt`: the exact model that was exported."""
    out_dir = Path(out_dir)
    info = json.loads((out_dir / "head.json").read_text())
    cfg = ModelConfig(**{k: v for k, v in info["model"].items()})
    backbone = load_backbone(out_dir / info.get("hf_dir", "hf"), cfg)
    model = HubertPretrainModel(cfg, info["num_classes"], backbone=backbone)
    state = torch.load(out_dir / "head.pt", map_location="cpu")
    model.final_proj.load_state_dict(state["final_proj"])
    for emb, sd in zip(model.label_embs, state["label_embs"]):
        emb.load_state_dict(sd)
    model.backbone.load_extra_state(state.get("backbone_extra", {}))
    return model
