"""conf/experiments/compare_new_sources.yaml: every stage's settings resolve to what its stage will build
(the phone teacher's config, the rq and ASR label sources, the ctc pre-training), without running it."""

from __future__ import annotations

from pathlib import Path

import yaml

from labelers.sources import source
from pretrain.config import load_config
from pretrain.ctc.asr_config import load_asr_config
from pretrain.overrides import flatten

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "conf/experiments/compare_new_sources.yaml"


def stages() -> dict:
    return yaml.safe_load(EXPERIMENT.read_text())["stages"]


def test_teachers_differ_only_in_units():
    st = stages()
    chars = load_asr_config(ROOT / st["teacher_chars"]["config"], values=st["teacher_chars"].get("overrides"))
    phones = load_asr_config(ROOT / st["teacher_phones"]["config"], values=st["teacher_phones"]["overrides"])
    assert chars.units == "chars" and phones.units == "phones" and phones.phones_from == "lexicon"
    assert {**chars.as_dict(), "units": "phones", "phones_from": "lexicon"} == phones.as_dict()


def test_label_stages_build_valid_source_settings():
    for name, params in stages().items():
        if params["kind"] != "labels":
            continue
        options = {k: v for k, v in params.items() if k not in ("kind", "source", "model")}
        settings = source(params["source"]).settings(**options)
        assert settings is not None, name
    assert stages()["rq"]["source"] == "rq" and stages()["rq"]["n_clusters"] == stages()["mfcc_km"]["n_clusters"]


def test_ce_and_ctc_runs_differ_only_in_the_loss():
    st = stages()

    def cfg(name):
        p = st[name]
        return load_config(ROOT / p["config"], values=flatten(p.get("overrides")))

    ce, ctc = cfg("it1_asr_chars"), cfg("it1_asr_chars_ctc")
    assert ce.model.loss == "ce" and ctc.model.loss == "ctc"
    assert st["it1_asr_chars"]["labels"] == st["it1_asr_chars_ctc"]["labels"]
    assert ce.loop == ctc.loop
    pretrain = [p for p in st.values() if p["kind"] == "pretrain"]
    assert len({p["config"] for p in pretrain}) == 1 and len({str(p.get("overrides", {}).get("loop.max_steps"))
                                                             for p in pretrain}) == 1
