"""Export a trained run: `hf/` (HubertModel + feature extractor config) and the head beside it.

    out/hf/            config.json, model.safetensors, preprocessor_config.json
                       -> transformers.HubertModel.from_pretrained(out/hf)
    out/head.pt        final_proj and label embeddings (state dicts)
    out/head.json      num_classes per label set, final_dim, the model config, label folders
`load_pretrain_model(out)` rebuilds the full HubertPretrainModel to continue or fine-tune.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from transformers import HubertModel, Wav2Vec2FeatureExtractor

from labelers.corpus.frames import SAMPLE_RATE

from pretrain.model import HubertPretrainModel, ModelConfig

FINETUNE_MASK_PROB = 0.05


def export_run(model: HubertPretrainModel, out_dir: Path, label_dirs: list[str], normalize: bool) -> Path:
    hf = out_dir / "hf"
    tmp = out_dir / ".hf.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    # Pre-training masks came from pretrain.masking; the exported config gets the usual fine-tuning
    # SpecAugment rate (as converted fairseq checkpoints): > 0 keeps `masked_spec_embed`, and a
    # HubertForCTC built from it does not mask 80% of frames by surprise.
    saved_prob = model.hubert.config.mask_time_prob
    model.hubert.config.mask_time_prob = FINETUNE_MASK_PROB
    try:
        model.hubert.save_pretrained(tmp)
    finally:
        model.hubert.config.mask_time_prob = saved_prob
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=normalize,
        return_attention_mask=model.hubert.config.feat_extract_norm == "layer",
    ).save_pretrained(tmp)
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
    backbone = HubertModel.from_pretrained(out_dir / info.get("hf_dir", "hf"))
    model = HubertPretrainModel(cfg, info["num_classes"], backbone=backbone)
    state = torch.load(out_dir / "head.pt", map_location="cpu")
    model.final_proj.load_state_dict(state["final_proj"])
    for emb, sd in zip(model.label_embs, state["label_embs"]):
        emb.load_state_dict(sd)
    return model
