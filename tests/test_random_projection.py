"""Random-projection (BEST-RQ) targets: deterministic for a seed, quantizer stored and reused, PNMI above chance."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelers.corpus.frames import num_frames
from labelers.corpus.label_store import LabelSet
from labelers.corpus.split import open_split
from labelers.quality import measure_quality
from labelers.random_projection import (RandomProjectionQuantizer, fit_quantizer, random_quantizer,
                                        stacked_logmel)

from phone_corpus import make_phone_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_phone_corpus(tmp_path_factory.mktemp("phones") / "data")


def run_cli(corpus, out, *extra):
    from bootstrap.labels_cli import main

    return main(["--source", "rq", "--data", str(corpus), "--splits", "train,valid", "--out", str(out),
                 "--no-progress", *extra])


def test_features_have_exactly_num_frames_at_50hz():
    for n in (400, 719, 720, 721, 16000, 16161):
        f = stacked_logmel(np.random.default_rng(n).standard_normal(n).astype(np.float32))
        assert f.shape == (num_frames(n, 50), 160)


def test_quantizer_depends_only_on_the_seed():
    p1, c1 = random_quantizer(160, 32, 16, seed=3)
    p2, c2 = random_quantizer(160, 32, 16, seed=3)
    p3, _ = random_quantizer(160, 32, 16, seed=4)
    assert np.array_equal(p1, p2) and np.array_equal(c1, c2) and not np.array_equal(p1, p3)
    assert np.allclose(np.linalg.norm(c1, axis=1), 1.0, atol=1e-5)


def test_cli_labels_deterministic_stored_reused_and_above_chance(corpus, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli(corpus, a, "--n-clusters", "64", "--seed", "7", "--percent", "1") == 0
    assert run_cli(corpus, b, "--n-clusters", "64", "--seed", "7", "--percent", "1") == 0
    for name in ("train.km", "valid.km", "dict.km.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "rq" / "rq.npz").read_bytes() == (b / "rq" / "rq.npz").read_bytes()

    ls = LabelSet.open(a)
    assert ls.label_rate == 50 and ls.num_classes == 64 and ls.info["source"] == "rq"
    m = open_split(corpus, "valid").manifest()
    labels = ls.read("valid", corpus)
    assert [len(x) for x in labels] == [num_frames(n, 50) for n in m.num_samples]

    # PNMI against the reference phones, and against the same labels with frames shuffled (chance)
    phones = open_split(corpus, "valid").phones()
    q = measure_quality(labels, phones, 50, 64)
    rng = np.random.default_rng(0)
    q0 = measure_quality([rng.permutation(x) for x in labels], phones, 50, 64)
    assert q["pnmi"] > 2 * q0["pnmi"] and q["pnmi"] > 0.2

    # another seed draws another quantizer, so other labels
    c = tmp_path / "c"
    assert run_cli(corpus, c, "--n-clusters", "64", "--seed", "8", "--percent", "1") == 0
    assert (a / "valid.km").read_bytes() != (c / "valid.km").read_bytes()


def test_quantizer_reused_on_rerun_and_for_another_store(corpus, tmp_path):
    q = fit_quantizer(corpus, "train", 16, tmp_path / "q", seed=1, percent=1.0, progress=False)
    assert q.info["utterances"] == 24 and q.std.min() > 0
    # a rerun into a store that already holds a quantizer keeps it, whatever --seed now says
    out = tmp_path / "store"
    (out / "rq").mkdir(parents=True)
    for f in ("rq.npz", "rq.json"):
        (out / "rq" / f).write_bytes((tmp_path / "q" / f).read_bytes())
    assert run_cli(corpus, out, "--n-clusters", "16", "--seed", "99") == 0
    assert json.loads((out / "labels.json").read_text())["origin"]["quantizer"]["seed"] == 1
    # --quantizer DIR labels another split with the same quantizer
    other = tmp_path / "other"
    from bootstrap.labels_cli import main

    assert main(["--source", "rq", "--data", str(corpus), "--splits", "valid", "--out", str(other),
                 "--quantizer", str(tmp_path / "q"), "--no-progress"]) == 0
    assert (other / "valid.km").read_bytes() == (out / "valid.km").read_bytes()
    assert not (other / "rq").exists()
    loaded = RandomProjectionQuantizer.load(tmp_path / "q")
    assert np.array_equal(loaded.codebook, q.codebook) and np.array_equal(loaded.mean, q.mean)
    # a codebook size that disagrees with the stored quantizer is refused
    with pytest.raises(SystemExit):
        run_cli(corpus, out, "--n-clusters", "32")


def test_missing_quantizer_is_one_clear_error(corpus, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        run_cli(corpus, tmp_path / "x", "--quantizer", str(tmp_path / "nowhere"))
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere: no random-projection quantizer" in err[0]
