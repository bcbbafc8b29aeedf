"""Training-step throughput of a backbone (`--backbone hubert | w2v-bert | fastconformer`, `--size`), eager
and/or compiled, and for hubert torchaudio's HuBERTPretrainModel beside it.

    python scripts/bench_pretrain.py --backbone hubert --size tiny --batch-seconds 40 --steps 6 --compile both
    python scripts/bench_pretrain.py --backbone w2v-bert --size base --batch-seconds 87.5 --steps 20 --device cuda --dtype bf16

Top-level JSON keys: `audio_s_per_s`, `flops_per_audio_s` (training FLOPs from pretrain/flops.py, the
formula every run logs), `peak_mem` (+ `peak_mem_unit`: GiB allocated on CUDA, MiB RSS growth of one
step on CPU) and on GPU `mfu` (against `--peak-tflops`, default the card's bf16 peak), for our eager
step; every variant's figures are under its own key ("ours", "ours_compiled", "torchaudio").
Our step gathers the masked frames with the fixed-size index the data loader provides (no host sync),
with the fixed masked count of length-bucketed batches (one shape: a compiled step is built once).

Both models get the same dimensions (CNN, width, depth, heads, FFN, positional conv, final_dim, classes),
dropout, feature_grad_mult 0.1, LayerDrop 0 (so both do the same work every step), AdamW, and the same
padding-free batch (equal-length utterances, as our data loader makes by cropping to the shortest).
Each timed step = masks + forward + loss + backward + optimizer step; the two models alternate step by
step in one process. Differences that remain are each implementation's own: torchaudio (like ESPnet's
recipe with it) projects every frame and builds logits for masked AND unmasked frames; ours only for
the frames the loss uses, with SDPA attention.

Output JSON: audio seconds per second and peak memory for each, `ratio` = ours / torchaudio (audio-s/s).
Peak memory: CUDA max_memory_allocated on GPU; on CPU the peak RSS growth of one step in a forked child.
On GPU also model FLOPs utilisation: MFU = training FLOPs per step (pretrain/flops.py: forward +
backward of every matmul and convolution, attention included) / step time / peak. (Ours scores masked
frames; the FLOPs of torchaudio's extra unmasked-frame logits are not credited: MFU counts useful FLOPs.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from _json_out import emit  # noqa: E402

from labelers.corpus.frames import SAMPLE_RATE, num_frames  # noqa: E402
from pretrain.loss import compute_loss  # noqa: E402
from pretrain.masking import compute_mask, expected_masked  # noqa: E402
from pretrain.backbones import BACKBONES, backbone_class  # noqa: E402
from pretrain.flops import backbone_config, peak_flops, train_flops  # noqa: E402
from pretrain.model import SIZES, HubertPretrainModel, ModelConfig  # noqa: E402

CONV = [(10, 5)] + [(3, 2)] * 4 + [(2, 2)] * 2


def ours(size: str, classes: int, backbone: str = "hubert", compiled: bool = False):
    cfg = ModelConfig(backbone=backbone, size=size, layerdrop=0.0)
    model = HubertPretrainModel(cfg, [classes])
    if compiled:
        from pretrain.compile import compile_forward

        compile_forward(model)
    return model


def torchaudio_model(size: str, classes: int):
    from torchaudio.models import hubert_pretrain_model

    a = SIZES[size]
    return hubert_pretrain_model(
        extractor_mode="group_norm" if a["feat_extract_norm"] == "group" else "layer_norm",
        extractor_conv_layer_config=[(c, k, s) for c, (k, s) in zip(a["conv_dim"], CONV)],
        extractor_conv_bias=a["conv_bias"], encoder_embed_dim=a["hidden_size"], encoder_projection_dropout=0.1,
        encoder_pos_conv_kernel=a["num_conv_pos_embeddings"], encoder_pos_conv_groups=a["num_conv_pos_embedding_groups"],
        encoder_num_layers=a["num_hidden_layers"], encoder_num_heads=a["num_attention_heads"],
        encoder_attention_dropout=0.1, encoder_ff_interm_features=a["intermediate_size"],
        encoder_ff_interm_dropout=0.0, encoder_dropout=0.1, encoder_layer_norm_first=a["do_stable_layer_norm"],
        encoder_layer_drop=0.0, mask_prob=0.8, mask_selection="static", mask_other=0.0, mask_length=10,
        no_mask_overlap=False, mask_min_space=1, mask_channel_prob=0.0, mask_channel_selection="static",
        mask_channel_other=0.0, mask_channel_length=10, no_mask_channel_overlap=False, mask_channel_min_space=1,
        skip_masked=False, skip_nomask=False, num_classes=classes, final_dim=a["final_dim"], feature_grad_mult=0.1,
    )


class Runner:
    def __init__(self, name, model, step_fn, device, dtype):
        self.name, self.model, self.step_fn = name, model.to(device).train(), step_fn
        self.opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01)
        self.device, self.dtype, self.times = device, dtype, []

    def step(self, batch, record=True):
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            loss = self.step_fn(self.model, batch)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        sync()
        if record:
            self.times.append(time.perf_counter() - t0)
        return float(loss.detach())


def our_step(model, batch):
    wav, labels = batch
    B, T = labels.shape
    rng = np.random.default_rng(len(model.__dict__))
    n = min(T, model.backbone.output_frames(wav.shape[1]))
    # a fixed masked count, as `data.length_buckets` batches have: one (B, M) shape, no recompilation
    mask = compute_mask([n] * B, T, 0.8, model.cfg.mask_length, 2, rng,
                        count=expected_masked(n, 0.8, model.cfg.mask_length, 2))
    index = torch.from_numpy(np.stack([np.flatnonzero(r) for r in mask])).to(wav.device)
    return compute_loss(model(wav, [labels], torch.from_numpy(mask).to(wav.device), mask_index=index), model.cfg).loss


def torchaudio_step(model, batch):
    wav, labels = batch
    logit_m, logit_u, pen = model(wav, labels)
    loss = F.cross_entropy(logit_m.float(), torch.zeros(len(logit_m), dtype=torch.long, device=wav.device), reduction="sum")
    if logit_u is not None:  # torchaudio's recipe always computes it; weight 0 as in HuBERT
        loss = loss + 0.0 * F.cross_entropy(logit_u.float(), torch.zeros(len(logit_u), dtype=torch.long, device=wav.device), reduction="sum")
    return loss / len(logit_m) + 10.0 * pen


def _rss_kb(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def cpu_peak_rss_growth(which: str, args) -> float:
    """Peak RSS growth (MiB) of one steady-state training step, in a fresh process per model.

    (A fresh interpreter, not fork: forking a process whose OpenMP pool is running can deadlock.)
    """
    import subprocess

    cmd = [sys.executable, __file__, "--size", args.size, "--backbone", args.backbone, "--batch-seconds",
           str(args.batch_seconds), "--utt-seconds", str(args.utt_seconds), "--classes", str(args.classes),
           "--compile", args.compile, "--measure-memory", which]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return float("nan")


def _measure_memory(which, make_runner, batch) -> None:
    runner = make_runner()
    runner.step(batch, record=False)  # optimizer state exists from here on: measure a steady-state step
    base = _rss_kb("VmRSS:")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM (peak RSS) to the current RSS
    runner.step(batch, record=False)
    print((_rss_kb("VmHWM:") - base) / 1024)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backbone", choices=list(BACKBONES), default="hubert")
    p.add_argument("--size", "--model", dest="size", choices=["tiny", "base", "large"], default="tiny")
    p.add_argument("--compile", choices=["no", "yes", "both"], default="no",
                   help="time our step eager (no), compiled (yes) or both, in one run")
    p.add_argument("--no-torchaudio", action="store_true", help="skip the torchaudio counterpart (hubert only)")
    p.add_argument("--batch-seconds", type=float, default=40.0)
    p.add_argument("--utt-seconds", type=float, default=5.0, help="length of each utterance in the batch")
    p.add_argument("--steps", type=int, default=6, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--classes", type=int, default=100)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], default="fp32")
    p.add_argument("--peak-tflops", type=float, default=0.0,
                   help="accelerator peak for MFU (default: the card's bf16 dense peak, pretrain.flops.BF16_PEAK)")
    p.add_argument("--out", help="also write the JSON here")
    p.add_argument("--measure-memory", choices=["ours", "ours_compiled", "torchaudio"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    device = torch.device(args.device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    torch.manual_seed(0)
    B = max(1, int(round(args.batch_seconds / args.utt_seconds)))
    S = int(args.utt_seconds * SAMPLE_RATE)
    T = num_frames(S, backbone_class(args.backbone).frame_rate)
    wav = torch.randn(B, S, device=device)
    labels = torch.randint(0, args.classes, (B, T), device=device)
    batch = (wav, labels)
    audio = B * S / SAMPLE_RATE

    makers = {}
    if args.compile in ("no", "both"):
        makers["ours"] = lambda: Runner("ours", ours(args.size, args.classes, args.backbone), our_step, device, dtype)
    if args.compile in ("yes", "both"):
        makers["ours_compiled"] = lambda: Runner("ours_compiled", ours(args.size, args.classes, args.backbone, True),
                                                 our_step, device, dtype)
    if args.backbone == "hubert" and not args.no_torchaudio:  # the only backbone with a torchaudio counterpart
        makers["torchaudio"] = lambda: Runner("torchaudio", torchaudio_model(args.size, args.classes), torchaudio_step,
                                              device, dtype)
    if args.measure_memory:
        return _measure_memory(args.measure_memory, makers[args.measure_memory], batch)
    runners = {k: m() for k, m in makers.items()}
    params = {k: sum(p.numel() for p in r.model.parameters()) for k, r in runners.items()}
    for i in range(args.warmup + args.steps):
        for r in runners.values():  # alternate step by step
            r.step(batch, record=i >= args.warmup)

    cfg = ModelConfig(backbone=args.backbone, size=args.size, layerdrop=0.0)
    n = min(T, backbone_class(args.backbone).output_frames(S))
    masked = B * expected_masked(n, 0.8, cfg.mask_length, 2)  # exactly what our_step masks
    fl = train_flops(args.backbone, backbone_config(cfg), S, B, masked, cfg.arch()["final_dim"], [args.classes],
                     cfg.feature_grad_mult)
    result = {"backbone": args.backbone, "size": args.size, "device": args.device, "dtype": args.dtype, "batch": f"{B} x {args.utt_seconds} s",
              "audio_seconds_per_batch": audio, "steps": args.steps, "threads": torch.get_num_threads(),
              "torch": torch.__version__}
    for k, r in runners.items():
        med = statistics.median(r.times)
        result[k] = {"audio_s_per_s": audio / med, "step_s_median": med, "params_M": params[k] / 1e6}
    main_key = "ours" if "ours" in makers else "ours_compiled"
    result["flops_per_audio_s"] = fl / audio
    result["model_tflop_per_step"] = fl / 1e12
    result["loadavg"] = open("/proc/loadavg").read().split()[:3]
    if device.type == "cuda":
        for k, m in makers.items():
            del runners[k]
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            r = m()
            r.step(batch, record=False)
            r.step(batch, record=False)
            result[k]["peak_mem_GiB"] = torch.cuda.max_memory_allocated() / 2**30
            del r
        peak = args.peak_tflops * 1e12 or peak_flops(device) or float("nan")
        for k in makers:  # useful model FLOPs only: torchaudio's extra unmasked logits are not credited
            result[k]["mfu"] = fl / result[k]["step_s_median"] / peak
        result["gpu"] = torch.cuda.get_device_name()
        result.update(mfu=result[main_key]["mfu"], peak_mem=result[main_key]["peak_mem_GiB"], peak_mem_unit="GiB")
    else:
        for k, m in makers.items():  # (a compiled step's memory would need a second compilation: skipped)
            if k != "ours_compiled" or main_key == k:
                result[k]["peak_rss_growth_MiB"] = cpu_peak_rss_growth(k, args)
        result.update(peak_mem=result[main_key]["peak_rss_growth_MiB"], peak_mem_unit="MiB (RSS growth, CPU)")
    result["audio_s_per_s"] = result[main_key]["audio_s_per_s"]
    if "torchaudio" in makers:
        result["ratio"] = result[main_key]["audio_s_per_s"] / result["torchaudio"]["audio_s_per_s"]
    if "ours_compiled" in makers and "ours" in makers:
        result["compiled_speedup"] = result["ours_compiled"]["audio_s_per_s"] / result["ours"]["audio_s_per_s"]
    return emit(result, args.out)


if __name__ == "__main__":
    main()
