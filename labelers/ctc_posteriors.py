"""Any `transformers` CTC model as a source of per-frame token log-posteriors.

`CTCModel.load(path_or_id)` opens a model folder (or a model already in the local hub cache; never
the network) with `AutoModelForCTC` and its feature extractor and tokenizer. Everything the label
code needs is read from the model, not assumed:

- the frame geometry (`FrameGeometry`): seconds per output frame and the time of frame 0's centre.
  wav2vec2 family (raw waveform in, conv feature encoder): hop = product of conv strides (320
  samples = 20 ms), centre = half the receptive field (400 samples -> 12.5 ms, the same centre as
  `labelers.corpus.frames`). Parakeet / FastConformer (log-mel in, conv subsampling): hop = feature
  extractor hop x subsampling factor (10 ms x 8 = 80 ms; 40 ms with factor 4); the STFT is centred
  and the subsampling convs are symmetric, so frame j is centred at j x hop. Unknown architectures
  are measured by running the model on silence of two lengths.
- the blank id (`config.pad_token_id`, as both HF CTC losses use it) and the vocabulary (id -> token
  string) with its word delimiter (`|`, `▁` or a space token).

`log_posteriors(wavs)` runs batched inference: pieces sorted by length, batches bounded by padded
seconds, the feature extractor's padding mask, `torch.no_grad`, bf16/fp16 autocast on GPU, and long
audio cut into overlapping chunks whose log-posteriors are stitched, dropping half the overlap from
each side of every seam.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch

from labelers.corpus.frames import SAMPLE_RATE
from labelers.corpus.batching import pack_by_length, sort_by_length
from labelers.corpus.chunking import plan_chunks, stitch

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class CTCModelError(ValueError):
    pass


@dataclass(frozen=True)
class FrameGeometry:
    """Where a CTC model's output frames sit in time."""

    hop_samples: int  # samples at 16 kHz between output frames
    offset_samples: float  # centre of output frame 0, in samples
    method: str  # how it was found: "conv-strides", "subsampling", "measured"

    @property
    def frame_seconds(self) -> float:
        return self.hop_samples / SAMPLE_RATE

    @property
    def offset_seconds(self) -> float:
        return self.offset_samples / SAMPLE_RATE


# ---------------------------------------------------------------------------------------------------
# geometry


def _receptive_field(kernels: Iterable[int], strides: Iterable[int]) -> int:
    field, jump = 1, 1
    for k, s in zip(kernels, strides):
        field += (k - 1) * jump
        jump *= s
    return field


def _conv_geometry(config) -> FrameGeometry:
    kernels, strides = list(config.conv_kernel), list(config.conv_stride)
    hop = int(np.prod(strides))
    field = _receptive_field(kernels, strides)
    if getattr(config, "add_adapter", False):
        # the adapter convs (kernel 1 in the length formula, stride adapter_stride) coarsen the hop
        hop *= int(config.adapter_stride) ** int(config.num_adapter_layers)
    return FrameGeometry(hop_samples=hop, offset_samples=field / 2, method="conv-strides")


def _subsampling_geometry(config, feature_extractor) -> FrameGeometry:
    enc = config.encoder_config
    factor = int(enc.subsampling_factor)
    stride = int(getattr(enc, "subsampling_conv_stride", 2))
    if stride ** int(round(math.log(factor, stride))) != factor:
        raise CTCModelError(f"subsampling factor {factor} is not a power of the conv stride {stride}")
    hop = int(feature_extractor.hop_length) * factor
    # centred STFT (frame i at i * hop_length) + symmetric same-padding convs: frame j at j * hop.
    return FrameGeometry(hop_samples=hop, offset_samples=0.0, method="subsampling")


# ---------------------------------------------------------------------------------------------------
# the model


def _token_strings(tokenizer, vocab_size: int) -> list[str]:
    tokens = tokenizer.convert_ids_to_tokens(list(range(vocab_size)))
    out = []
    for i, t in enumerate(tokens):
        out.append(t if isinstance(t, str) and t != "" else f"<id{i}>")
    return out


def _word_delimiter(tokenizer, vocab: list[str]) -> str | None:
    tok = getattr(tokenizer, "word_delimiter_token", None)
    if tok and tok in vocab:
        return tok
    if any(t.startswith("▁") for t in vocab):
        return "▁"
    if " " in vocab:
        return " "
    if "|" in vocab:
        return "|"
    return None


class CTCModel:
    """A loaded CTC model with its feature extractor, tokenizer and frame geometry."""

    def __init__(self, model, feature_extractor, tokenizer, *, name: str = "", device: str = "cpu", dtype: str = "auto"):
        self.model = model.eval()
        self.feature_extractor = feature_extractor
        self.tokenizer = tokenizer
        self.name = name
        self.device = torch.device(device)
        if dtype == "auto":
            dtype = "bf16" if self.device.type == "cuda" else "fp32"
        if dtype not in DTYPES:
            raise CTCModelError(f"dtype must be one of {sorted(DTYPES)} or auto, got {dtype!r}")
        self.dtype = dtype
        self.model.to(self.device)
        self.raw_waveform = int(getattr(feature_extractor, "feature_size", 1)) == 1 and hasattr(model.config, "conv_stride")
        self.geometry = self._geometry()
        self.vocab_size = int(model.config.vocab_size)
        self.vocab = _token_strings(tokenizer, self.vocab_size)
        self.blank_id = self._blank_id()
        self.word_delimiter = _word_delimiter(tokenizer, self.vocab)
        sr = getattr(feature_extractor, "sampling_rate", SAMPLE_RATE)
        if sr != SAMPLE_RATE:
            raise CTCModelError(f"{name}: the feature extractor expects {sr} Hz; this toolkit feeds {SAMPLE_RATE} Hz audio")

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, path_or_id: str | os.PathLike, device: str = "cpu", dtype: str = "auto") -> "CTCModel":
        """Load offline from a folder or the local hub cache (`local_files_only=True`)."""
        from transformers import AutoFeatureExtractor, AutoModelForCTC, AutoProcessor, AutoTokenizer

        name = os.fspath(path_or_id)
        try:
            model = AutoModelForCTC.from_pretrained(name, local_files_only=True)
        except (OSError, ValueError) as e:
            raise CTCModelError(
                f"{name}: cannot load a CTC model offline (a folder with config.json and weights, or a model "
                f"already in the local Hugging Face cache): {e}"
            ) from None
        feature_extractor = tokenizer = None
        try:  # a processor bundles both when the folder has one
            proc = AutoProcessor.from_pretrained(name, local_files_only=True)
            feature_extractor = getattr(proc, "feature_extractor", None)
            tokenizer = getattr(proc, "tokenizer", None)
        except Exception:  # noqa: BLE001 - fall back to loading the parts one by one
            pass
        try:
            feature_extractor = feature_extractor or AutoFeatureExtractor.from_pretrained(name, local_files_only=True)
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(name, local_files_only=True)
        except Exception as e:  # noqa: BLE001
            raise CTCModelError(f"{name}: model loads, but its feature extractor or tokenizer does not: {e}") from None
        return cls(model, feature_extractor, tokenizer, name=name, device=device, dtype=dtype)

    # -- facts about the model -------------------------------------------------------------------
    @property
    def architecture(self) -> str:
        return type(self.model).__name__

    @property
    def frame_seconds(self) -> float:
        return self.geometry.frame_seconds

    def _geometry(self) -> FrameGeometry:
        cfg = self.model.config
        if self.raw_waveform:
            return _conv_geometry(cfg)
        enc = getattr(cfg, "encoder_config", None)
        if enc is not None and hasattr(enc, "subsampling_factor") and hasattr(self.feature_extractor, "hop_length"):
            return _subsampling_geometry(cfg, self.feature_extractor)
        return self.measure_geometry()

    def _blank_id(self) -> int:
        blank = getattr(self.model.config, "pad_token_id", None)
        if blank is None:
            blank = getattr(self.tokenizer, "pad_token_id", None)
        if blank is None or not 0 <= int(blank) < self.vocab_size:
            raise CTCModelError(f"{self.name}: cannot tell the CTC blank (config.pad_token_id is {blank!r})")
        tok_pad = getattr(self.tokenizer, "pad_token_id", None)
        if tok_pad is not None and tok_pad != blank:
            log.warning("%s: config.pad_token_id %s (used as blank) != tokenizer pad id %s", self.name, blank, tok_pad)
        return int(blank)

    def num_frames(self, num_samples: int) -> int:
        """Output frames the model gives for `num_samples` of audio, from its own length formula."""
        n = torch.tensor([int(num_samples)])
        if self.raw_waveform and hasattr(self.model, "_get_feat_extract_output_lengths"):
            return max(0, int(self.model._get_feat_extract_output_lengths(n)[0]))
        fe = self.feature_extractor
        if hasattr(self.model, "_get_subsampling_output_length") and hasattr(fe, "hop_length"):
            n_fft = int(getattr(fe, "n_fft", 0))
            feats = (n + n_fft // 2 * 2 - n_fft) // int(fe.hop_length)  # ParakeetFeatureExtractor's rule
            return max(0, int(self.model._get_subsampling_output_length(feats)[0]))
        return max(1, int(round((num_samples - self.geometry.offset_samples) / self.geometry.hop_samples + 0.5)))

    def measure_geometry(self) -> FrameGeometry:
        """Run the model on silence of two lengths; hop = sample difference / frame difference."""
        a, b = 2 * SAMPLE_RATE, 4 * SAMPLE_RATE
        ta = self._forward([np.zeros(a, np.float32)])[0].shape[0]
        tb = self._forward([np.zeros(b, np.float32)])[0].shape[0]
        if tb <= ta:
            raise CTCModelError(f"{self.name}: output length does not grow with input; cannot find the frame rate")
        hop = int(round((b - a) / (tb - ta)))
        return FrameGeometry(hop_samples=hop, offset_samples=hop / 2, method="measured")

    def describe(self) -> dict:
        return {
            "model": self.name,
            "architecture": self.architecture,
            "frame_seconds": self.frame_seconds,
            "frame_offset_seconds": self.geometry.offset_seconds,
            "frame_geometry": self.geometry.method,
            "vocab_size": self.vocab_size,
            "blank_id": self.blank_id,
            "blank_token": self.vocab[self.blank_id],
            "word_delimiter": self.word_delimiter,
            "device": str(self.device),
            "dtype": self.dtype,
        }

    # -- inference -------------------------------------------------------------------------------
    def _inputs(self, wavs: list[np.ndarray]) -> tuple[dict, list[int]]:
        fe = self.feature_extractor
        kwargs = dict(sampling_rate=SAMPLE_RATE, return_tensors="pt", padding=True)
        enc = fe(wavs, **kwargs)
        inputs = {k: v.to(self.device) for k, v in enc.items() if k in ("input_values", "input_features", "attention_mask")}
        if "attention_mask" in inputs and inputs["attention_mask"].dtype != torch.long:
            inputs["attention_mask"] = inputs["attention_mask"].long()
        lengths = [self.num_frames(len(w)) for w in wavs]
        return inputs, lengths

    @property
    def num_layers(self) -> int:
        cfg = self.model.config
        cfg = getattr(cfg, "encoder_config", None) or cfg
        return int(cfg.num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        cfg = self.model.config
        cfg = getattr(cfg, "encoder_config", None) or cfg
        return int(cfg.hidden_size)

    def _forward(self, wavs: list[np.ndarray], layer: int | None = None) -> list[np.ndarray]:
        """One padded batch -> per-item float32 matrices of valid frames: (frames, V) log-posteriors,
        or with `layer` the encoder's hidden_states[layer] (0 = input to the first block)."""
        inputs, lengths = self._inputs(wavs)
        use_amp = self.device.type == "cuda" and self.dtype != "fp32"
        with torch.no_grad(), torch.autocast(self.device.type, dtype=DTYPES[self.dtype], enabled=use_amp):
            out = self.model(**inputs, output_hidden_states=layer is not None)
        if layer is None:
            mat = torch.log_softmax(out.logits.float(), dim=-1).cpu().numpy()
        else:
            mat = out.hidden_states[layer].float().cpu().numpy()
        result = []
        for i, n in enumerate(lengths):
            t = min(n, mat.shape[1]) if n > 0 else mat.shape[1]
            result.append(np.ascontiguousarray(mat[i, :t]))
        return result

    def log_posteriors(self, wavs: list[np.ndarray], **kwargs) -> list[np.ndarray]:
        """Per-utterance (num_frames(len), V) float32 log-posteriors, in the input order (see `run`)."""
        return self.run(wavs, layer=None, **kwargs)

    def hidden_states(self, wavs: list[np.ndarray], layer: int, **kwargs) -> list[np.ndarray]:
        """Per-utterance (num_frames(len), hidden) encoder features of `layer`, at the model's frame rate."""
        if not 0 <= layer <= self.num_layers:
            raise CTCModelError(f"{self.name}: layer {layer} outside [0, {self.num_layers}] (0 = encoder input)")
        return self.run(wavs, layer=layer, **kwargs)

    def run(
        self,
        wavs: list[np.ndarray],
        layer: int | None = None,
        batch_seconds: float = 160.0,
        chunk_seconds: float = 30.0,
        overlap_seconds: float = 4.0,
        progress: Callable[[int], None] | None = None,
    ) -> list[np.ndarray]:
        """Per-utterance matrices (log-posteriors, or hidden states of `layer`), in the input order.

        Long utterances are cut into `chunk_seconds` pieces overlapping by `overlap_seconds`; all pieces
        are sorted by length and packed into batches whose padded duration stays under
        `batch_seconds` (at least one piece per batch).
        """
        hop = self.geometry.hop_samples
        chunk_samples = max(int(chunk_seconds * SAMPLE_RATE), 4 * hop)
        plans = [plan_chunks(len(w), chunk_samples, int(overlap_seconds * SAMPLE_RATE), hop) for w in wavs]
        pieces = [(u, k, c) for u, plan in enumerate(plans) for k, c in enumerate(plan)]
        lengths = [c.end - c.start for _, _, c in pieces]
        results: dict[int, np.ndarray] = {}
        # longest first: a batch that does not fit in memory fails at once, not at the end
        for batch in pack_by_length(sort_by_length(lengths, descending=True), lengths, batch_seconds * SAMPLE_RATE):
            outs = self._forward([wavs[pieces[j][0]][pieces[j][2].start : pieces[j][2].end] for j in batch], layer)
            for j, o in zip(batch, outs):
                results[j] = o
            if progress is not None:
                progress(len(batch))
        out, j = [], 0
        for u, plan in enumerate(plans):
            mats = [results[j + k] for k in range(len(plan))]
            j += len(plan)
            out.append(stitch(mats, plan, hop, self.num_frames(len(wavs[u]))))
        return out
