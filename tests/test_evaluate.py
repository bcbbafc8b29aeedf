"""`bootstrap evaluate`: per-layer k-means quality and linear phone probe, on a tiny HuBERT export."""

import argparse
import json

import numpy as np
import pytest

from bootstrap.evaluation.layers import parse_layers
from bootstrap.evaluation.phone_frames import phones_at_rate
from bootstrap.evaluation.probe import train_linear_probe


def test_phones_follow_the_frame_centres():
    phones = np.array(list("aabbccddeef"))  # 11 frames at 100 Hz = num_frames(2000, 100)
    # 50 Hz: frame t is centred where 100 Hz frame 2t is
    assert "".join(phones_at_rate(phones, 2000, 6, 320, "u")) == "abcdef"
    # 25 Hz (hop 640): 100 Hz frame 4t
    assert "".join(phones_at_rate(phones, 2000, 3, 640, "u")) == "ace"
    with pytest.raises(ValueError, match="u: 5 reference phones"):
        phones_at_rate(phones[:5], 2000, 6, 320, "u")


def test_parse_layers():
    assert parse_layers("all", 4) == [0, 1, 2, 3]
    assert parse_layers("1,3", 4) == [1, 3]
    assert parse_layers("1-2", 4) == [1, 2]
    with pytest.raises(ValueError, match="out of range"):
        parse_layers("4", 4)


def test_probe_separates_informative_features_and_not_noise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 3000)
    informative = np.eye(5)[y] * 3 + rng.normal(size=(3000, 5))
    noise = rng.normal(size=(3000, 5))
    good = train_linear_probe(informative[:2000], y[:2000], informative[2000:], y[2000:], 5, epochs=2)
    bad = train_linear_probe(noise[:2000], y[:2000], noise[2000:], y[2000:], 5, epochs=2)
    assert good["probe_accuracy"] > 0.9
    assert bad["probe_accuracy"] < 0.35  # chance is 0.2


def test_evaluate_command_on_tiny_hubert(tiny_hubert, synth_corpus, tmp_path):
    from bootstrap.commands import evaluate

    parser = argparse.ArgumentParser()
    evaluate.register(parser.add_subparsers())
    out = tmp_path / "eval"
    args = parser.parse_args([
        "evaluate", "--model", str(tiny_hubert), "--data", str(synth_corpus), "--out", str(out), "--k", "12",
        "--train-split", "train", "--eval-split", "valid", "--max-train-seconds", "40", "--max-eval-seconds", "20",
        "--probe-epochs", "2", "--finetune", "--labeled-split", "labeled",
        "--finetune-set", "loop.max_steps=4", "--finetune-set", "freeze_encoder_steps=2",
        "--finetune-set", "max_eval_utterances=4",
    ])
    assert args.func(args) == 0
    result = json.loads((out / "evaluation.json").read_text())
    assert (out / "layers.png").stat().st_size > 0
    assert [r["layer"] for r in result["layers"]] == [0, 1, 2]  # 2 transformer layers + their input
    assert result["frame_rate"] == 50
    assert 0 < result["train"]["seconds"] <= 40 and 0 < result["eval"]["seconds"] <= 20
    for r in result["layers"]:
        for key in ("pnmi", "phone_purity", "cluster_purity", "probe_accuracy", "probe_train_accuracy"):
            assert 0.0 <= r[key] <= 1.0, (key, r)
        assert r["kmeans_k"] == 12 and 1 <= r["used_labels"] <= 12
        assert r["probe_frames_eval"] == result["eval"]["frames"]
    assert result["best"]["pnmi"] == max(r["pnmi"] for r in result["layers"])
    assert 0 < result["phones"]["chance_accuracy"] < 1
    ft = result["finetune"]
    assert ft["updates"] == 4 and ft["cer"] >= 0 and ft["wer"] >= 0
    assert (out / "finetune" / "asr_summary.json").is_file() and (out / "finetune" / "config.json").is_file()
