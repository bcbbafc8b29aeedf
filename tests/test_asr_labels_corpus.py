"""ASR labels end to end on the synthetic corpus: pipeline, label store, CLI, and quality vs. chance."""

import json

import numpy as np
import pytest

from bootstrap.labels_cli import main as labels_main
from labelers.asr_labeler import AsrLabeler
from labelers.ctc_posteriors import CTCModel
from labelers.features_ctc import default_layer
from labelers.corpus.split import open_split
from labelers.corpus.label_store import LabelSet
from labelers.labeling_run import label_corpus
from labelers.quality import label_set_quality, measure_quality


def _pnmi_and_shuffled(label_dir, corpus, split):
    q = label_set_quality(label_dir, corpus, split)
    ls = LabelSet.open(label_dir)
    labels = ls.read(split, corpus)
    # chance level: the same label counts and sequence lengths, frames shuffled across the split
    flat = np.concatenate([x for x in labels if x is not None])
    perm = np.random.default_rng(0).permutation(flat)
    shuffled, pos = [], 0
    for x in labels:
        if x is None:
            shuffled.append(None)
        else:
            shuffled.append(perm[pos : pos + len(x)])
            pos += len(x)
    base = measure_quality(shuffled, open_split(corpus, split).phones(), ls.label_rate, ls.num_classes)
    return q["pnmi"], base["pnmi"]


def test_teacher_labels_are_well_above_chance(synth_corpus, trained_teacher, tmp_path):
    model = CTCModel.load(trained_teacher)
    assert model.frame_seconds == pytest.approx(0.04)
    lab = AsrLabeler(model, blank="hold")
    summary = label_corpus(lab, synth_corpus, ["train"], tmp_path / "asr", progress=False, verbose=False)
    assert summary["merged"] and summary["splits"]["train"]["labelled"] >= 14
    pnmi, chance = _pnmi_and_shuffled(tmp_path / "asr", synth_corpus, "train")
    assert pnmi > 3 * chance and pnmi > chance + 0.08, (pnmi, chance, lab.summary())


def test_cli_with_and_without_transcripts_and_quality(synth_corpus, trained_teacher, tmp_path, capsys):
    common = ["--source", "asr", "--model", str(trained_teacher), "--data", str(synth_corpus),
              "--splits", "valid,test", "--device", "cpu", "--no-progress"]
    assert labels_main(common + ["--out", str(tmp_path / "aligned"), "--blank", "nearest"]) == 0
    assert labels_main(common + ["--out", str(tmp_path / "bestpath"), "--transcripts", "none", "--blank", "keep",
                                 "--label-rate", "100"]) == 0
    a, b = LabelSet.open(tmp_path / "aligned"), LabelSet.open(tmp_path / "bestpath")
    assert a.source == b.source == "asr" and a.label_rate == 50 and b.label_rate == 100
    assert a.info["origin"]["transcripts"] is True and b.info["origin"]["transcripts"] is False
    assert a.info["origin"]["blank_policy"] == "nearest"
    # dict.km.txt holds the model's tokens: letters and `|`; the blank only with --blank keep
    assert "|" in a.symbols() and "A" in a.symbols() and "<pad>" not in a.symbols() and "<pad>" in b.symbols()
    for ls in (a, b):
        for split in ("valid", "test"):
            ls.read(split, synth_corpus)  # validated against the manifests
    assert labels_main(["quality", "--labels", str(tmp_path / "aligned"), "--reference", str(synth_corpus),
                        "--split", "valid"]) == 0
    q = json.loads((tmp_path / "aligned" / "quality.valid.json").read_text())
    assert 0 < q["pnmi"] <= 1 and q["utterances"] == 3
    # the ASR summary line of the first run: every valid+test utterance aligned with its transcript
    first = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("  asr: "))
    counts = json.loads(first[len("  asr: "):])
    n_utts = sum(len(open_split(synth_corpus, s).manifest()) for s in ("valid", "test"))
    assert counts["aligned"] == counts["labelled"] == n_utts


def test_asr_features_kmeans_route(synth_corpus, trained_teacher, tmp_path):
    out = tmp_path / "feat"
    assert labels_main(["--source", "asr-features", "--model", str(trained_teacher), "--data", str(synth_corpus),
                        "--splits", "valid", "--n-clusters", "8", "--percent", "1", "--n-init", "2",
                        "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    ls = LabelSet.open(out)
    assert ls.source == "asr-features" and ls.num_classes == 8 and ls.label_rate == 50
    num_layers = CTCModel.load(trained_teacher).num_layers
    assert ls.info["origin"]["features"]["layer"] == default_layer(num_layers) == max(1, num_layers - 1)
    labels = ls.read("valid", synth_corpus)
    assert all(x is not None for x in labels)
