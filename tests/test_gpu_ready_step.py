"""The GPU-ready step: masked frames gathered by fixed-size indices, fixed-shape batches, torch.compile."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from labelers.corpus.frames import num_frames
from pretrain.backbones import BACKBONES, backbone_class
from pretrain.data import DataConfig, MaskParams, PretrainData, bucket_samples
from pretrain.loss import compute_loss
from pretrain.masking import compute_mask
from pretrain.model import IGNORE, HubertPretrainModel, ModelConfig
from pretrain_helpers import tone_corpus_with_labels

MICRO = dict(size="tiny", hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
             final_dim=16, layerdrop=0.0, dropout=0.0, attention_dropout=0.0, dropout_input=0.0)


def _cfg(name, **kw):
    return ModelConfig(backbone=name, mask_length=3 if name == "fastconformer" else 10,
                       **({"conv_dim": [16] * 7} if name == "hubert" else {}), **MICRO, **kw)


@pytest.mark.parametrize("name", list(BACKBONES))
def test_gathered_masked_frames_give_the_same_loss_and_gradients(name):
    torch.manual_seed(0)
    model = HubertPretrainModel(_cfg(name), [5, 4])
    S = 24000
    T = num_frames(S, backbone_class(name).frame_rate)
    lengths = [min(T, backbone_class(name).output_frames(S))] * 2
    mask = compute_mask(lengths, T, 0.8, model.cfg.mask_length, 2, np.random.default_rng(0))
    index = torch.from_numpy(np.stack([np.flatnonzero(r) for r in mask]))
    wav, mask = torch.randn(2, S) * 0.1, torch.from_numpy(mask)
    targets = [torch.randint(0, 5, (2, T)), torch.randint(0, 4, (2, T))]
    grads, losses = [], []
    for idx in (None, index):
        model.zero_grad()
        res = compute_loss(model(wav, targets, mask, mask_index=idx), model.cfg)
        res.loss.backward()
        losses.append(res.loss.detach())
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    torch.testing.assert_close(losses[0], losses[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    return tone_corpus_with_labels(tmp_path_factory.mktemp("tones_gpu"), {"train": (20, 1.2, 3.5), "valid": (2, 2.0, 2.5)})


@pytest.mark.parametrize("name", list(BACKBONES))
def test_batches_carry_a_fixed_size_index_of_labelled_masked_frames(tones, name):
    cls = backbone_class(name)
    cfg = DataConfig(data_dir=str(tones / "corpus"), label_dirs=[str(tones / "l100")], batch_seconds=8,
                     min_sample_size=16000, num_workers=0)
    data = PretrainData(cfg, "train", MaskParams(0.8, 3, 2), seed=0, frame_rate=cls.frame_rate,
                        output_frames=cls.output_frames)
    for batch in data.loader(0):
        idx, mask = batch["mask_index"], batch["mask"]
        assert idx is not None and idx.shape[0] == mask.shape[0]
        rebuilt = torch.zeros_like(mask).scatter_(1, idx, True)
        assert torch.equal(rebuilt, mask)
        assert (batch["targets"][0].gather(1, idx) != IGNORE).all()
        assert int(idx.max()) < cls.output_frames(batch["wav"].shape[1])


def test_length_buckets_give_a_few_fixed_shapes(tones):
    cfg = DataConfig(data_dir=str(tones / "corpus"), label_dirs=[str(tones / "l100")], batch_seconds=8,
                     min_sample_size=16000, num_workers=0, length_buckets=[1.5, 2.5])
    data = PretrainData(cfg, "train", MaskParams(0.8, 10, 2), seed=0)
    buckets = bucket_samples([1.5, 2.5])
    allowed = {(data.budget // b, b) for b in buckets}
    shapes, index_shapes = set(), {}
    for epoch in (0, 1):
        for batch in data.loader(epoch):
            shapes.add(tuple(batch["wav"].shape))
            assert batch["mask_index"] is not None
            index_shapes.setdefault(tuple(batch["wav"].shape), set()).add(tuple(batch["mask_index"].shape))
    assert shapes and shapes <= allowed, (shapes, allowed)
    # the masked-frame index too: one shape per bucket, however the spans overlapped in each batch
    assert all(len(s) == 1 for s in index_shapes.values()), index_shapes
    assert all(s["reason"].endswith(f"bucket {buckets[0]}") for s in data.skipped if "bucket" in s["reason"])
    with pytest.raises(ValueError, match="pad_audio"):
        PretrainData(DataConfig(**{**cfg.__dict__, "pad_audio": True}), "train", MaskParams(), seed=0)


def test_compiled_and_eager_steps_agree_on_cpu():
    """loop.compile's forward against the eager one: same loss and gradients (aot_eager keeps it cheap on
    a shared CPU; HUBERT_TEST_INDUCTOR=1 runs the inductor backend the GPU uses)."""
    from pretrain.compile import compile_forward

    backend = "inductor" if os.environ.get("HUBERT_TEST_INDUCTOR") else "aot_eager"
    torch.manual_seed(0)
    model = HubertPretrainModel(_cfg("hubert"), [5])
    S = 16000
    T = num_frames(S)
    mask = compute_mask([T] * 2, T, 0.8, 10, 2, np.random.default_rng(0))
    index = torch.from_numpy(np.stack([np.flatnonzero(r) for r in mask]))
    wav, mask, targets = torch.randn(2, S), torch.from_numpy(mask), [torch.randint(0, 5, (2, T))]
    results = []
    for compiled in (False, True):
        if compiled:
            compile_forward(model, backend=backend)
        model.zero_grad()
        loss = compute_loss(model(wav, targets, mask, mask_index=index), model.cfg).loss
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    assert model._compiled_forward["compiled"], "compilation fell back to eager"
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-4, atol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-5)


def test_compile_failure_falls_back_to_eager_with_a_warning():
    from pretrain.compile import compile_forward

    def broken_backend(graph, inputs):  # stands in for a missing compiler toolchain
        raise RuntimeError("no C++ compiler")

    model = torch.nn.Linear(3, 2)
    expected = model(torch.ones(1, 3))
    compile_forward(model, backend=broken_backend)
    with pytest.warns(UserWarning, match="continuing in eager mode"):
        out = model(torch.ones(1, 3))
    torch.testing.assert_close(out, expected)
    assert not model._compiled_forward["compiled"]
    with pytest.warns(UserWarning, match="unavailable"):
        compile_forward(torch.nn.Linear(3, 2), backend="no-such-backend")


def test_bucketed_batches_compile_once_per_bucket(tones):
    """What fixed shapes are for: after the first batch of a bucket, no batch of it compiles again
    (the masked-frame index included: its width would otherwise change with the spans' overlaps)."""
    from pretrain.compile import compile_forward

    torch._dynamo.reset()
    compiles = []

    def counting_backend(graph, inputs):  # eager, but counts every (re)compilation
        compiles.append(len(inputs))
        return graph.forward

    cfg = DataConfig(data_dir=str(tones / "corpus"), label_dirs=[str(tones / "l100")], batch_seconds=8,
                     min_sample_size=16000, num_workers=0, length_buckets=[1.5])
    data = PretrainData(cfg, "train", MaskParams(0.8, 10, 2), seed=0)
    torch.manual_seed(0)
    model = compile_forward(HubertPretrainModel(_cfg("hubert"), [100]), backend=counting_backend)
    after_first, widths = None, set()
    for epoch in (0, 1):
        for batch in data.loader(epoch):
            model(batch["wav"], batch["targets"], batch["mask"], mask_index=batch["mask_index"])
            widths.add(batch["mask_index"].shape[1])
            after_first = len(compiles) if after_first is None else after_first
    assert model._compiled_forward["compiled"]
    assert len(widths) == 1 and after_first > 0
    assert len(compiles) == after_first, f"recompiled: {len(compiles) - after_first} more graphs"
    torch._dynamo.reset()
