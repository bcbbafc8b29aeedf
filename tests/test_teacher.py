"""The ASR teacher: trained from scratch by `bootstrap train-asr`, loaded back through transformers' Auto
classes; fine-tuning a pre-trained HuBERT export with `--init`."""

import json

import numpy as np
import pytest
import torch

from labelers.corpus.split import open_split
from pretrain.ctc.error_rates import ErrorCounter
from pretrain.ctc.vocab import letters_to_text


def _train_losses(folder):
    rows = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines() if line.strip()]
    return [r["loss"] for r in rows if r.get("split") == "train"]


def test_teacher_learns_and_reports(trained_teacher):
    summary = json.loads((trained_teacher / "asr_summary.json").read_text())
    assert summary["architecture"] == "ParakeetForCTC"
    assert summary["frame_seconds"] == pytest.approx(0.04)
    assert summary["updates"] == 400
    losses = _train_losses(trained_teacher)
    assert losses[-1] < 0.8 * losses[0], losses  # from the ~3.2 all-blank plateau to emitting characters
    v = summary["valid"]
    assert v["utterances"] > 0
    assert 0.0 <= v["cer"] < 0.9, v  # an untrained model outputs nothing: CER 1.0
    assert v["wer"] >= v["cer"] * 0.5
    assert (trained_teacher / "curves.png").stat().st_size > 0


def test_teacher_loads_with_auto_classes_and_transcribes(trained_teacher, synth_corpus):
    from transformers import AutoFeatureExtractor, AutoModelForCTC, AutoProcessor, AutoTokenizer

    from labelers.corpus.audio import load_audio

    model = AutoModelForCTC.from_pretrained(trained_teacher).eval()
    processor = AutoProcessor.from_pretrained(trained_teacher)
    assert type(model).__name__ == "ParakeetForCTC"
    assert AutoTokenizer.from_pretrained(trained_teacher).pad_token_id == model.config.pad_token_id == 0
    assert type(AutoFeatureExtractor.from_pretrained(trained_teacher)).__name__ == "ParakeetFeatureExtractor"
    assert processor.tokenizer.word_delimiter_token == "|"
    assert len(processor.tokenizer) == model.config.vocab_size

    sp = open_split(synth_corpus, "valid")
    manifest, letters = sp.manifest(), sp.letters()
    rows = list(range(min(6, len(manifest))))
    wavs = [load_audio(manifest.path(i)) for i in rows]
    inputs = processor(wavs, sampling_rate=16000, padding=True, return_tensors="pt")
    with torch.no_grad():
        ids = model.generate(**inputs)  # greedy CTC; padded frames are blank
    hyps = processor.batch_decode(ids)
    counter = ErrorCounter()
    for i, hyp in zip(rows, hyps):
        counter.add(letters_to_text(letters[i]), hyp)
    assert any(h.strip() for h in hyps)
    assert counter.cer < 0.9, list(zip(hyps, [letters_to_text(letters[i]) for i in rows]))


def _encoder_state(model_or_folder):
    from transformers import HubertModel

    m = HubertModel.from_pretrained(model_or_folder) if not isinstance(model_or_folder, torch.nn.Module) else model_or_folder
    return {k: v.clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("freeze_steps", [100, 0])
def test_init_from_hubert_export_builds_hubert_ctc_that_trains(tiny_hubert, synth_corpus, tmp_path, freeze_steps):
    from transformers import AutoModelForCTC

    from pretrain.ctc.asr_config import load_asr_config
    from pretrain.ctc.train import train_asr

    before = _encoder_state(tiny_hubert)
    cfg = load_asr_config(None, [
        "batch_seconds=8", "max_eval_utterances=4", f"freeze_encoder_steps={freeze_steps}",
        "init_overrides.mask_time_prob=0.0", "loop.max_steps=6", "loop.lr=1.0e-3", "loop.warmup_steps=1",
        "loop.weight_decay=0.0", "loop.eval_every=0", "loop.save_every=1000",
    ])
    out = tmp_path / "ft"
    summary = train_asr(synth_corpus, "labeled", out, cfg, init=tiny_hubert, valid_split="valid")
    assert summary["architecture"] == "HubertForCTC"
    assert summary["frame_seconds"] == pytest.approx(0.02, abs=1e-3)
    assert np.isfinite(summary["valid"]["loss"]) and 0 <= summary["valid"]["cer"]
    model = AutoModelForCTC.from_pretrained(out)
    assert type(model).__name__ == "HubertForCTC"
    after = {k: v for k, v in model.state_dict().items()}
    cnn = [k for k in before if k.startswith("feature_extractor.")]
    encoder = [k for k in before if k.startswith("encoder.layers.") and k.endswith("weight")]
    # the CNN is always frozen (fairseq fine-tuning); the transformer only once freeze_encoder_steps passed
    assert all(torch.equal(before[k], after["hubert." + k]) for k in cnn)
    changed = [k for k in encoder if not torch.equal(before[k], after["hubert." + k])]
    assert (changed == []) if freeze_steps else (len(changed) > 0)
    assert summary["trainable_parameters"] < summary["parameters"]
    assert (out / "preprocessor_config.json").is_file()  # read directly by labelers.features_model
