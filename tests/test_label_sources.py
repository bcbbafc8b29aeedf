"""Label sources: the typed Labeler contract, the registry of settings dataclasses, the CLI option groups."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pytest

from bootstrap.label_sources import add_source_options, option_owners, settings_from_args
from bootstrap.labels_cli import label_parser, main as labels_main
from labelers.features_mfcc import MfccFeatures
from labelers.kmeans import KMeansLabeler, KMeansModel
from labelers.labeler import Labeler, LabelSourceError
from labelers.sources import (SOURCES, AsrSettings, HubertSettings, MfccSettings, RunSettings, SourceSpec,
                              label_with_source, option)


def test_every_source_is_built_from_its_own_settings_dataclass():
    assert set(SOURCES) == {"mfcc", "hubert", "asr", "asr-features", "rq"}
    assert SOURCES["asr"].settings_class is AsrSettings and not SOURCES["asr"].is_kmeans
    assert all(SOURCES[n].is_kmeans for n in ("mfcc", "hubert", "asr-features"))
    s = SOURCES["mfcc"].settings(n_clusters="8", percent=1)
    assert isinstance(s, MfccSettings) and s.n_clusters == 8 and s.percent == 1.0 and isinstance(s.percent, float)
    assert s.n_init == 20 and s.kmeans is None  # fairseq defaults from the dataclass
    assert SOURCES["hubert"].settings(layer=6, model="m") == HubertSettings(layer=6, model="m")


def test_options_of_another_source_or_of_none_are_refused_by_name():
    with pytest.raises(LabelSourceError, match=r"--blank is an option of asr, not of --source mfcc"):
        SOURCES["mfcc"].settings(blank="keep")
    with pytest.raises(LabelSourceError, match=r"--layer is an option of hubert, asr-features, not of --source asr"):
        SOURCES["asr"].settings(layer=3)
    with pytest.raises(LabelSourceError, match="--n-clusterz is not an option of any label source"):
        SOURCES["mfcc"].settings(n_clusterz=8)
    with pytest.raises(LabelSourceError, match="--n-clusters: 'many' is not a int"):
        SOURCES["mfcc"].settings(n_clusters="many")
    assert issubclass(LabelSourceError, ValueError)


def test_parser_groups_options_by_the_sources_that_take_them():
    parser = label_parser()
    groups = {g.title: {a.dest for a in g._group_actions} for g in parser._action_groups}
    assert groups["--source asr"] >= {"blank", "transcripts", "min_confidence", "strict", "align_workers"}
    assert groups["--source mfcc, hubert, asr-features"] >= {"kmeans", "n_init"}
    assert groups["--source mfcc, hubert, asr-features, rq"] == {"n_clusters", "fit_split", "percent", "seed"}
    assert groups["--source rq"] == {"quantizer", "code_dim"}
    assert groups["--source hubert, asr, asr-features"] == {"model", "chunk_seconds"}
    assert groups["--source hubert, asr-features"] == {"layer"}
    # every option of every source is on the command line exactly once
    dests = [a.dest for a in parser._actions]
    for spec in SOURCES.values():
        for name in spec.option_names():
            assert dests.count(name) == 1, name
    args = parser.parse_args(["--data", "d", "--splits", "train", "--out", "o", "--source", "asr", "--blank",
                              "keep", "--min-confidence", "-2"])
    s = settings_from_args(args)
    assert s == AsrSettings(blank="keep", min_confidence=-2.0)  # options not given keep the dataclass defaults


def test_cli_refuses_an_option_of_another_source(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        labels_main(["--source", "mfcc", "--data", str(tmp_path), "--splits", "valid", "--out", str(tmp_path / "o"),
                     "--n-clusters", "4", "--blank", "keep"])
    assert e.value.code == 1  # one line from pretrain.cli_errors, as every expected error
    assert capsys.readouterr().err.strip() == "bootstrap-labels: error: --blank is an option of asr, not of --source mfcc"


@dataclass
class _NewSettings:
    model: str | None = option(help="the model")          # shared with hubert/asr: same kind, no collision
    blank: str = option("hold", choices=("hold", "nearest", "keep"), help="as asr")
    window: int = option(3, help="new: frames per window")


@dataclass
class _BadSettings:
    layer: str | None = option(help="a layer *name*: a str where hubert declares an int")


def _fake_build(settings, run):
    raise AssertionError("not built in this test")


def test_a_new_source_reusing_an_option_name_does_not_collide():
    sources = {**SOURCES, "new": SourceSpec("new", "a new source", _NewSettings, _fake_build)}
    assert option_owners(sources)["model"] == ["hubert", "asr", "asr-features", "new"]
    p = argparse.ArgumentParser()
    p.add_argument("--source")
    add_source_options(p, sources)  # argparse would raise on a duplicate --model / --blank
    groups = {g.title: {a.dest for a in g._group_actions} for g in p._action_groups}
    assert groups["--source new"] == {"window"} and groups["--source asr, new"] >= {"blank"}
    args = p.parse_args(["--source", "new", "--model", "m", "--window", "5"])
    assert settings_from_args(args, sources) == _NewSettings(model="m", window=5)


def test_a_conflicting_declaration_is_refused_when_the_parser_is_built():
    sources = {**SOURCES, "bad": SourceSpec("bad", "bad", _BadSettings, _fake_build)}
    with pytest.raises(LabelSourceError, match=r"'bad' declares --layer as .*'hubert' declares it"):
        add_source_options(argparse.ArgumentParser(), sources)


def test_library_raises_typed_errors_not_system_exit(tmp_path):
    run = RunSettings(data=tmp_path, splits="train,valid", out=tmp_path / "o")
    assert run.splits == ["train", "valid"]
    with pytest.raises(LabelSourceError, match="needs --kmeans DIR .* or --n-clusters K"):
        label_with_source("mfcc", MfccSettings(), run)
    with pytest.raises(LabelSourceError, match="--source hubert needs --model"):
        SOURCES["hubert"].features(HubertSettings(layer=1), run)
    with pytest.raises(LabelSourceError, match="--num-shards and --shard-id go together"):
        RunSettings(data=tmp_path, splits=["train"], out=tmp_path, num_shards=2)
    with pytest.raises(LabelSourceError, match="takes AsrSettings, not MfccSettings"):
        label_with_source("asr", MfccSettings(), run)
    with pytest.raises(LabelSourceError, match="unknown labeling option"):
        RunSettings.from_values(data="d", splits=["t"], out="o", n_workers=2)


class _BatchFeatures:
    """Features without a per-utterance method: the run must not prepare in its threads."""

    name, rate, dim = "fake", 100, 39

    def extract(self, wavs):
        return MfccFeatures().extract(wavs)

    def describe(self):
        return {}


def test_labeler_contract_is_declared():
    class Incomplete(Labeler):
        source, label_rate = "x", 50

        def symbols(self):
            return ["a"]

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()
    model = KMeansModel(_fitted_kmeans())
    mfcc = KMeansLabeler(MfccFeatures(), model, device="cpu")
    assert mfcc.preparer() is not None and mfcc.summary() is None and not mfcc.uses_transcripts
    batch = KMeansLabeler(_BatchFeatures(), model, device="cpu")
    assert batch.preparer() is None
    wav = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    direct = batch.label_batch([wav])[0]
    prepared = mfcc.label_prepared([mfcc.preparer()(wav)])[0]
    assert np.array_equal(direct, prepared)


def _fitted_kmeans():
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=3, n_init=1, random_state=0)
    km.fit(np.random.default_rng(0).standard_normal((200, 39)).astype(np.float32))
    return km
