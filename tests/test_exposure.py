"""The exposure probe (``probes.exposure``): Min-K% / Min-K%++ of sentences under the base model against matched
references, AUC with a bootstrap CI, guided completion.

The demo check uses what the tiny base was pretrained on: half of the demo *test* sentences (``planted_test_ids``,
half of each seen/unseen stratum, ``models.tiny.RECIPE["planted"]``) are plain-text pretraining documents of the
base (``models.tiny.pretraining_documents``), the other half are not. The probe must find the planted ones (AUC well
above 0.5 with its CI) and leave the others at chance.
"""

from __future__ import annotations

import random

import numpy as np
import pytest


@pytest.fixture(scope="module")
def demo():
    from nerprobe.data.demo import make_demo_corpus

    return make_demo_corpus(seed=0, nested=False)


def test_planted_test_ids_take_half_of_each_stratum_deterministically(demo):
    from nerprobe.probes.exposure import planted_test_ids, planted_texts

    ids = planted_test_ids(0)
    assert ids == planted_test_ids(0) and ids != planted_test_ids(1)
    by_id = {s.id: s for s in demo.test}
    for stratum in (True, False):
        total = sum(bool(s.meta.get("seen")) is stratum for s in demo.test)
        chosen = sum(bool(by_id[i].meta.get("seen")) is stratum for i in ids)
        assert chosen == round(total / 2)
    assert planted_texts(0) == [s.text for s in demo.test if s.id in set(ids)]


def test_auc_and_its_bootstrap_ci():
    from scipy.stats import mannwhitneyu

    from nerprobe.probes.exposure import auc, auc_estimate

    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, 60), rng.normal(0, 1, 60)
    u = mannwhitneyu(pos, neg).statistic
    assert auc(pos, neg) == pytest.approx(u / 3600)
    est = auc_estimate(pos, neg, n_resamples=500, seed=0)
    assert est.low < est.value < est.high and est.n == 60
    assert auc([1, 1], [1, 1]) == 0.5
    assert auc_estimate(pos[:5], neg[:5]).value is None  # too little support: n/a, never 0


def test_guided_completion_split_and_match():
    from nerprobe.probes.exposure import completion_match, split_half

    assert split_half("Police in Oslo arrested two men .") == ("Police in Oslo ", "arrested two men .")
    assert completion_match(" arrested two men . And", "arrested two men .") == (True, 1.0)
    assert completion_match(" arrested three men .", "arrested two men .") == (False, 0.75)


def test_matched_reference_keeps_the_familiarity_of_every_name(demo):
    from nerprobe.probes.coverage import MentionIndex
    from nerprobe.probes.exposure import build_exposure_reference

    train = list(demo.train)
    index = MentionIndex(train)
    test_set, ref_set = build_exposure_reference(train, demo.test, seed=0, mode="matched", index=index)
    assert len(test_set) == len(ref_set) == test_set.params["kept"] > 150
    train_texts = {s.text for s in train}
    for t, r in zip(test_set.items, ref_set.items):
        assert r.original_id == t.id and r.sentence.text != t.sentence.text
        assert r.sentence.text not in train_texts
        assert [e.label for e in t.sentence.entities] == [e.label for e in r.sentence.entities]
        for e, f in zip(t.sentence.entities, r.sentence.entities):
            old, new = t.sentence.surface(e), r.sentence.surface(f)
            assert old != new
            assert (index.normalize(old) in index.counts) == (index.normalize(new) in index.counts)


@pytest.fixture(scope="module")
def planted(demo):
    """The ids of the demo test sentences the base was pretrained on: those the tiny recipe plants
    (``RECIPE["planted"]``) and the few whose text is the same as a planted one's (the demo test set repeats 9 texts)."""
    from nerprobe.models import tiny

    texts = set(tiny.planted_texts())
    return {s.id for s in demo.test if s.text in texts}


def test_the_recipe_plants_exactly_the_chosen_test_sentences(demo, planted):
    from nerprobe.models import tiny

    docs = set(tiny.pretraining_documents()[0])
    chosen = set(tiny.planted_ids())
    assert len(chosen) == len(demo.test) // 2 and chosen <= planted
    assert len(planted - chosen) <= 9  # duplicates of a planted text only
    assert {s.id for s in demo.test if s.text in docs} == planted


@pytest.fixture(scope="module")
def demo_exposure(demo, planted):
    from nerprobe.models import tiny
    from nerprobe.models.registry import ModelSpec
    from nerprobe.probes.exposure import run_exposure_probe

    train, test = list(demo.train), list(demo.test)
    strata = {"planted": sorted(planted), "not planted": [s.id for s in test if s.id not in planted],
              "not planted, training names": [s.id for s in test if s.id not in planted and s.meta.get("seen")]}
    base = ModelSpec(str(tiny.ensure_tiny_base(progress=False)))
    matched = run_exposure_probe(base, test, None, 0, train=train, mode="matched", n_resamples=1000,
                                 strata=strata, completion=120, device="cpu", dtype="fp32")
    unseen = run_exposure_probe(base, test, None, 0, train=train, mode="unseen", n_resamples=1000,
                                strata=strata, completion=False, device="cpu", dtype="fp32")
    return matched, unseen


def test_demo_planted_sentences_stand_out_and_the_others_stay_at_chance(demo_exposure, planted):
    matched, _ = demo_exposure
    for score in ("min_k", "min_k_plus"):
        found = matched["strata"]["planted"][score]["auc"]
        assert matched["strata"]["planted"]["n"] >= 90
        assert found["low"] > 0.8, found
        rest = matched["strata"]["not planted"][score]["auc"]
        assert rest["low"] < 0.5 < rest["high"] and abs(rest["value"] - 0.5) < 0.08, rest
    top = [x["id"] for x in matched["most_exposed"][:10]]
    assert sum(i in planted for i in top) >= 9, (top, [x["margin"] for x in matched["most_exposed"][:10]])


def test_unseen_name_reference_mistakes_name_exposure_for_sentence_exposure(demo_exposure):
    """With every name replaced by an unseen one, test sentences that only reuse training names look exposed:
    why ``matched`` is the default."""
    matched, unseen = demo_exposure
    seen_names = "not planted, training names"
    u, m = unseen["strata"][seen_names]["min_k"]["auc"], matched["strata"][seen_names]["min_k"]["auc"]
    # measured on tiny recipe v3: 0.84 [0.75, 0.91] vs 0.49 [0.40, 0.58] (v2: 0.89 [0.81, 0.96] vs 0.50; the unseen
    # names of the half of the test set planted in pretraining are known to the base too, so the unseen reference is
    # less foreign than with recipe v1, 0.85 and more)
    assert u["low"] > 0.7 and m["low"] < 0.5 < m["high"] and m["high"] < u["low"], (u, m)


def test_demo_guided_completion_and_figure(demo_exposure, tmp_path):
    import json

    from nerprobe.reports.likelihood_figures import save_likelihood_figures

    matched, _ = demo_exposure
    comp = matched["completion"]
    assert comp["n"] == 120 and set(comp["strata"]) == {"planted", "not planted", "not planted, training names"}
    # the base completes the second half of a sentence it was pretrained on far more often than of its reference
    exposed, unexposed = comp["strata"]["planted"], comp["strata"]["not planted"]
    assert exposed["n"] >= 25
    # measured on tiny recipe v3: 0.65 [0.54, 0.75] vs 0.50 of the references (v2: 0.57 vs 0.35)
    assert exposed["exact"]["test"]["value"] > exposed["exact"]["reference"]["value"] + 0.10, exposed
    assert abs(unexposed["exact"]["test"]["value"] - unexposed["exact"]["reference"]["value"]) < 0.15, unexposed
    assert all(x["exact"] and x["generated"].split()[: len(x["target"].split())] == x["target"].split()
               for x in comp["examples"])
    back = json.loads(json.dumps(matched))
    paths = save_likelihood_figures(exposure=back, out_dir=tmp_path)
    assert all(p.stat().st_size > 1000 for p in paths["exposure-histograms"].values())
