"""MFCC k-means labels on the synthetic espeak corpus (reference phones): PNMI well above random."""

from __future__ import annotations

import numpy as np

from labelers.features_mfcc import MfccFeatures
from labelers.kmeans import KMeansLabeler, fit_kmeans
from labelers.corpus.label_store import LabelSet
from labelers.labeling_run import label_corpus
from labelers.quality import label_set_quality, measure_quality


def test_mfcc_kmeans_pnmi_beats_random_on_synth_corpus(synth_corpus, tmp_path):
    k = 32
    model = fit_kmeans(MfccFeatures(), synth_corpus, "train", k, tmp_path / "km", percent=0.5, n_init=3,
                       progress=False, verbose=False)
    label_corpus(KMeansLabeler(MfccFeatures(), model, "cpu"), synth_corpus, ["train"], tmp_path / "lab",
                 progress=False, verbose=False)
    # Scored on train (the largest split): fewer frames would inflate the random baseline's MI.
    q = label_set_quality(tmp_path / "lab", synth_corpus, "train")
    labels = LabelSet.open(tmp_path / "lab").read("train", synth_corpus)
    rng = np.random.default_rng(0)
    random = [rng.integers(0, k, len(x)) for x in labels]
    phones = [line.split() for line in (synth_corpus / "train.phn").read_text().splitlines()]
    q_rand = measure_quality(random, phones, 100, k)
    assert q["pnmi"] > 0.25 and q["pnmi"] > 3 * q_rand["pnmi"], (q["pnmi"], q_rand["pnmi"])
    assert q["phone_purity"] > q_rand["phone_purity"] + 0.1
    assert q["frame_diff"] == 0  # MFCC labels and reference phones share the 100 Hz frame grid
