"""Hidden states of a transformers speech encoder (HuBERT, wav2vec 2.0, WavLM, w2v-BERT, Parakeet...) as features.

Waveform encoders (a CNN with `conv_stride`) give 50 Hz frames; encoders over spectral features read
their folder's feature extractor (`AutoFeatureExtractor`): Wav2Vec2BertModel (fbank stacked x2, 50 Hz),
ParakeetEncoder (log-mel, `subsampling_factor` x 10 ms: 12.5 Hz at the default 8).

Loads any checkpoint folder `transformers.AutoModel` understands; a `*ForCTC` folder loads its base
encoder (transformers drops the CTC head and the `hubert.`/`wav2vec2.` prefix). Layer L means
`hidden_states[L]`: 0 is the input to the first transformer layer, L the output of layer L, which is
what fairseq's `dump_hubert_feature.py --layer L` gives. Several layers come out of one forward pass.

- Only the layers up to the deepest requested one (+1, so a stable-layer-norm model's final norm is
  never applied to an intermediate layer) are run.
- Long audio is cut into `chunk_seconds` blocks aligned to the 20 ms frame grid, each encoded with
  `context_seconds` of extra audio on both sides that is then discarded, and stitched: the frame
  count is exactly `num_frames(n, 50)` (fairseq's plain chunk concatenation loses a frame per cut).
- Batches are zero-padded with an attention mask. Models whose first conv layer uses group norm
  (HuBERT/wav2vec2 Base: `feat_extract_norm == "group"`) normalise over time, so padding would change
  their features: they are batched only with pieces of identical length (transformers' own advice).
- Input is normalised per utterance when the folder's feature extractor says `do_normalize`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from labelers.corpus.batching import pack_by_length, sort_by_length
from labelers.corpus.chunking import plan_context_chunks, stitch
from labelers.corpus.frames import MODEL_RATE, SAMPLE_RATE, num_frames


def load_encoder(model_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """(model in eval mode on `device`, do_normalize) for a transformers checkpoint folder."""
    model, do_normalize, _ = load_encoder_and_features(model_dir, device)
    return model, do_normalize


def spectral_feature_extractor(model_dir: Path):
    """The folder's feature extractor when the model reads spectral `input_features`, else None (waveform)."""
    from transformers import AutoFeatureExtractor

    if not (model_dir / "preprocessor_config.json").is_file():
        return None
    fe = AutoFeatureExtractor.from_pretrained(model_dir)
    return fe if "input_features" in getattr(fe, "model_input_names", []) else None


def frame_hop(config, fe) -> int:
    """Input samples per output frame of the encoder."""
    if getattr(config, "conv_stride", None):
        return int(np.prod(config.conv_stride))
    if fe is not None and getattr(config, "subsampling_factor", None):  # Parakeet: mel hop x subsampling
        return int(fe.hop_length * config.subsampling_factor)
    if fe is not None and getattr(fe, "stride", None):  # w2v-BERT: 10 ms fbank frames stacked by `stride`
        return int(160 * fe.stride)
    raise ValueError(f"{type(config).__name__}: cannot tell the encoder's frame rate")


def load_encoder_and_features(model_dir: str | os.PathLike, device: str | torch.device = "cpu"):
    """(model in eval mode on `device`, do_normalize, spectral feature extractor or None)."""
    from transformers import AutoConfig, AutoModel

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir}: no config.json (expected a folder written by save_pretrained)")
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, config=config)
    model.eval().to(device)
    do_normalize = False
    pre = model_dir / "preprocessor_config.json"
    if pre.is_file():
        do_normalize = bool(json.loads(pre.read_text()).get("do_normalize", False))
    return model, do_normalize, spectral_feature_extractor(model_dir)


def _encoder_layers(model):
    enc = getattr(model, "encoder", None)
    return getattr(enc, "layers", None) if enc is not None else getattr(model, "layers", None)


def _set_encoder_layers(model, layers) -> None:
    if getattr(model, "encoder", None) is not None:
        model.encoder.layers = layers
    else:
        model.layers = layers


class ModelFeatures:
    """Feature extractor over `layers` of a speech encoder; `extract` returns the first layer's."""

    rate = MODEL_RATE  # per instance: SAMPLE_RATE / hop
    name = "hubert"

    def __init__(self, model_dir: str | os.PathLike, layers: list[int] | int, device: str | torch.device | None = None,
                 chunk_seconds: float = 60.0, context_seconds: float = 2.0, batch_seconds: float = 100.0):
        self.model_dir = Path(model_dir)
        self.layers = [layers] if isinstance(layers, int) else list(layers)
        self.device = torch.device(device) if device is not None else torch.device(
            "cuda" if torch.cuda.is_available() else "cpu")
        self.model, self.do_normalize, self.spectral = load_encoder_and_features(model_dir, self.device)
        cfg = self.model.config
        n_layers = cfg.num_hidden_layers
        for layer in self.layers:
            if not 0 <= layer <= n_layers:
                raise ValueError(f"{model_dir}: layer {layer} outside [0, {n_layers}] (0 = transformer input)")
        stride = frame_hop(cfg, self.spectral)
        self.rate = SAMPLE_RATE / stride
        layers_mod = _encoder_layers(self.model)
        keep = min(n_layers, max(self.layers) + 1)
        if layers_mod is not None and keep < len(layers_mod):
            _set_encoder_layers(self.model, torch.nn.ModuleList(list(layers_mod)[:keep]))
        self.group_norm = getattr(cfg, "feat_extract_norm", "layer") == "group"
        self.dim = int(cfg.hidden_size)
        self.hop = stride
        self.chunk_frames = max(1, int(chunk_seconds * self.rate))
        self.context_frames = int(context_seconds * self.rate)
        self.batch_samples = int(batch_seconds * SAMPLE_RATE)
        self.chunk_seconds, self.context_seconds = chunk_seconds, context_seconds

    def _batches(self, pieces):
        lengths = [c.end - c.start for _, c in pieces]
        return pack_by_length(sort_by_length(lengths), lengths, self.batch_samples, same_length=self.group_norm)

    @torch.no_grad()
    def extract_layers(self, wavs: list[np.ndarray]) -> dict[int, list[torch.Tensor]]:
        """{layer: [(num_frames(len(w), rate), dim) tensor per waveform]}, on this extractor's device."""
        plans = [plan_context_chunks(len(w), self.hop, self.chunk_frames, self.context_frames) for w in wavs]
        pieces = [(u, c) for u, plan in enumerate(plans) for c in plan]
        outs: dict[int, dict[int, torch.Tensor]] = {layer: {} for layer in self.layers}
        for batch in self._batches(pieces):
            inputs = []
            for i in batch:
                u, c = pieces[i]
                x = torch.as_tensor(wavs[u][c.start : c.end], dtype=torch.float32)
                if self.do_normalize:
                    x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
                inputs.append(x)
            lens = [len(x) for x in inputs]
            padded = torch.zeros(len(inputs), max(lens))
            mask = torch.zeros(len(inputs), max(lens), dtype=torch.long)
            for j, x in enumerate(inputs):
                padded[j, : len(x)] = x
                mask[j, : len(x)] = 1
            if self.spectral is not None:
                feats = self.spectral([x.numpy() for x in inputs], sampling_rate=SAMPLE_RATE, return_tensors="pt",
                                      padding=True, return_attention_mask=True)
                hs = self.model(feats["input_features"].to(self.device),
                                attention_mask=feats["attention_mask"].to(self.device),
                                output_hidden_states=True).hidden_states
            else:
                kwargs = {} if self.group_norm else {"attention_mask": mask.to(self.device)}
                hs = self.model(padded.to(self.device), output_hidden_states=True, **kwargs).hidden_states
            for j, i in enumerate(batch):
                c = pieces[i][1]
                have = num_frames(lens[j], self.rate)
                if have < c.keep_to:
                    raise AssertionError(f"piece of {lens[j]} samples gave {have} frames, needs {c.keep_to}")
                for layer in self.layers:
                    outs[layer][i] = hs[layer][j][: c.keep_to]
        result = {}
        for layer in self.layers:
            per_utt, first = [], 0
            for w, plan in zip(wavs, plans):
                mats = [outs[layer][first + k] for k in range(len(plan))]
                first += len(plan)
                per_utt.append(stitch(mats, plan, self.hop, num_frames(len(w), self.rate)) if plan
                               else torch.zeros(0, self.dim, device=self.device))
            result[layer] = per_utt
        return result

    def extract(self, wavs: list[np.ndarray]) -> list[torch.Tensor]:
        return self.extract_layers(wavs)[self.layers[0]]

    def describe(self) -> dict:
        cfg = self.model.config
        return {
            "features": "hidden_states",
            "model": str(self.model_dir.resolve()),
            "model_type": cfg.model_type,
            "layers": self.layers,
            "dim": self.dim,
            "rate": self.rate,
            "chunk_seconds": self.chunk_seconds,
            "context_seconds": self.context_seconds,
            "do_normalize": self.do_normalize,
        }
