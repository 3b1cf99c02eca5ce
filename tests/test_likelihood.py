"""Generation-free scoring (``models.likelihood``) and the likelihood-membership probe (``probes.likelihood``).

Unit tests run on a random tiny model (seconds); the demo tests run the probe on the tiny demo model and fail if the
signal is lost: the memorizer adapter raises training names above matched held-out names more than its base does
(paired CI above 0), and the reader adapter (fresh names every epoch) does not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model_fixtures import make_random_tiny_model


# -- the scorer ------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def random_loaded(tmp_path_factory):
    from nerprobe.models.loading import load_model
    from nerprobe.models.registry import ModelSpec

    path = make_random_tiny_model(tmp_path_factory.mktemp("lk") / "m", seed=1)
    return load_model(ModelSpec(str(path)), device="cpu", dtype="fp32")


PAIRS = [("The European Commission said on ", "Thursday it disagreed ."), ("", "Peter Blackburn BRUSSELS"),
         ("Japan began the defence of their Asian Cup title with a lucky ", "2-1 win"), ("in ", "Paris")]


def _direct(loaded, ids, n_cont):
    import torch

    with torch.no_grad():
        lp = loaded.model(torch.tensor([ids])).logits.float().log_softmax(-1)[0]
    first = max(len(ids) - n_cont, 1)
    return [lp[t - 1, ids[t]].item() for t in range(first, len(ids))]


def test_batched_scores_equal_one_text_at_a_time_and_a_direct_forward(random_loaded):
    from nerprobe.models.likelihood import LikelihoodScorer

    batched = LikelihoodScorer(random_loaded, batch_size=4).score(PAIRS)
    single = [LikelihoodScorer(random_loaded, batch_size=1).score([p])[0] for p in PAIRS]
    scorer = LikelihoodScorer(random_loaded)
    for (prefix, cont), b, s in zip(PAIRS, batched, single):
        assert b.n_tokens == s.n_tokens > 0
        assert np.allclose(b.logp, s.logp, atol=1e-4) and np.allclose(b.mu, s.mu, atol=1e-4)
        ids, n = scorer.encode(prefix, cont)
        assert np.allclose(b.logp, _direct(random_loaded, ids, n), atol=1e-4)
        assert all(lp <= 0 for lp in b.logp) and all(sd >= 0 for sd in b.sigma)


def test_one_forward_pass_per_batch_and_the_cache_serves_repeats(random_loaded, tmp_path):
    from nerprobe.models.likelihood import LikelihoodCache, LikelihoodScorer

    cache = LikelihoodCache(tmp_path / "lk")
    scorer = LikelihoodScorer(random_loaded, cache=cache, batch_size=3)
    first = scorer.score(PAIRS + PAIRS[:1])  # a repeated text is scored once
    assert scorer.scored == len(PAIRS) and scorer.forward_passes == math.ceil(len(PAIRS) / 3)
    again = LikelihoodScorer(random_loaded, cache=LikelihoodCache(tmp_path / "lk"))
    second = again.score(PAIRS)
    assert again.scored == 0 and again.forward_passes == 0 and cache.count() == len(PAIRS)
    assert [s.logp for s in second] == [pytest.approx(f.logp, abs=1e-6) for f in first[:-1]]


def test_prefix_whitespace_moves_to_the_continuation_and_no_bos_leaves_the_first_token_unscored(random_loaded):
    from nerprobe.models.likelihood import LikelihoodScorer, start_token_id

    scorer = LikelihoodScorer(random_loaded)
    assert scorer.encode("in ", "Paris") == scorer.encode("in", " Paris")
    assert start_token_id(random_loaded.tokenizer) is None  # the random tiny tokenizer has no BOS
    tok = random_loaded.tokenizer
    n = len(tok("Paris London", add_special_tokens=False)["input_ids"])
    assert scorer.score_texts(["Paris London"])[0].n_tokens == n - 1
    with_eos = LikelihoodScorer(random_loaded, start="eos").score_texts(["Paris London"])[0]
    assert with_eos.n_tokens == n
    with pytest.raises(ValueError):
        LikelihoodScorer(random_loaded, start="sometimes")


def test_min_k_and_min_k_plus_average_the_lowest_k_percent():
    from nerprobe.models.likelihood import TokenScores

    s = TokenScores((-1.0, -5.0, -2.0, -0.5, -3.0), (-2.0,) * 5, (1.0, 1.0, 2.0, 1.0, 0.0))
    assert s.mean_logprob == pytest.approx(-11.5 / 5)
    assert s.min_k(0.2) == -5.0  # ceil(0.2 * 5) = 1 token
    assert s.min_k(0.5) == pytest.approx((-5.0 - 3.0 - 2.0) / 3)
    # (logp - mu) / sigma: 1, -3, 0, 1.5, and 0 where sigma is 0
    assert s.min_k_plus(0.4) == pytest.approx((-3.0 + 0.0) / 2)
    assert TokenScores((), (), ()).min_k() is None and TokenScores((), (), ()).mean_logprob is None
    assert TokenScores.from_json(s.to_json()) == s


def test_greedy_continuations_batched_equal_single_and_are_cached(random_loaded, tmp_path):
    from nerprobe.models.cache import GenerationCache
    from nerprobe.models.likelihood import greedy_continuations

    prefixes = ["The European Commission said", "Japan began", "Rare Hendrix song draft sells for almost"]
    with GenerationCache(tmp_path / "gen") as cache:
        batched = greedy_continuations(random_loaded, prefixes, [5, 3, 7], cache=cache, batch_size=3)
        assert len(cache) == 3
        assert greedy_continuations(random_loaded, prefixes, [5, 3, 7], cache=cache) == batched
    single = [greedy_continuations(random_loaded, [p], b)[0] for p, b in zip(prefixes, [5, 3, 7])]
    assert batched == single


def test_the_scorer_module_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys, nerprobe.models.likelihood, nerprobe.probes.likelihood, nerprobe.probes.exposure, "
            "nerprobe.reports.likelihood_figures; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- frames ----------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    from nerprobe.data.demo import make_demo_corpus

    return make_demo_corpus(seed=0, nested=False)


@pytest.fixture(scope="module")
def pairs_set(demo):
    from nerprobe.probes.likelihood import build_likelihood_pairs

    return build_likelihood_pairs(demo.train, demo.test, seed=0)


def test_pairs_are_matched_and_share_their_frame(pairs_set, demo):
    from nerprobe.probes.likelihood import pairs_of
    from nerprobe.probes.pair_lookup import match_key

    pairs = pairs_of(pairs_set)
    assert len(pairs) == pairs_set.params["pairs"] >= 40
    train_names = {s.surface(e) for s in demo.train for e in s.entities}
    for _, tr, ho in pairs:
        assert match_key(tr.meta["text"], tr.meta["label"]) == match_key(ho.meta["text"], ho.meta["label"])
        assert tr.meta["text"] in train_names and ho.meta["text"] not in train_names
        a, b = tr.meta["span"]
        c, d = ho.meta["span"]
        assert tr.sentence.text[:a] == ho.sentence.text[:c] and tr.sentence.text[b:] == ho.sentence.text[d:]


def test_format_frame_and_label_texts(pairs_set):
    from nerprobe.formats import get_format
    from nerprobe.probes.likelihood import format_frame, label_texts, pairs_of, sentence_frame

    _, tr, _ = pairs_of(pairs_set)[0]
    name, label = tr.meta["text"], tr.meta["label"]
    prefix, cont = sentence_frame(tr)
    assert cont == name and tr.sentence.text.startswith(prefix + name)
    prefix, cont = format_frame(tr, get_format("xml"), ["PER", "ORG", "LOC"])
    assert cont == name and prefix.endswith(f"<{label}>")
    prefix, _ = format_frame(tr, get_format("bracketed"), ["PER", "ORG", "LOC"])
    assert prefix.endswith("[")
    texts = label_texts(tr, get_format("xml"), ["PER", "ORG", "LOC"])
    assert [f"<{lab}>{name}</{lab}>" in t for lab, t in zip(["PER", "ORG", "LOC"], texts)] == [True] * 3


# -- the demo check --------------------------------------------------------------------------------------------------
def _kinds():
    from nerprobe.models import tiny

    return tuple(getattr(tiny, "ADAPTER_KINDS", {"memorizer": {}}))


@pytest.fixture(scope="module")
def demo_result(demo):
    from nerprobe.models import tiny
    from nerprobe.models.registry import ModelSpec
    from nerprobe.probes.likelihood import run_likelihood_probe

    base = str(tiny.ensure_tiny_base(progress=False))
    models = {"base": ModelSpec(base), "memorizer": ModelSpec(base, str(tiny.ensure_tiny_adapter("xml",
                                                                                                progress=False)))}
    if "reader" in _kinds():
        models["reader"] = ModelSpec(base, str(tiny.ensure_tiny_adapter("xml", kind="reader", progress=False)))
    return run_likelihood_probe(models, demo.train, demo.test, seed=0, format_name="xml", n_resamples=1000,
                                device="cpu", dtype="fp32")


def _cmp(result, indicator, model):
    return next(c for c in result["comparisons"] if c["about"]["indicator"] == indicator and c["b"] == model)


def test_demo_memorizer_raises_training_names_above_its_base(demo_result):
    r = demo_result
    assert r["params"]["pairs"] >= 40 and r["params"]["unscored"]["name_win_format"] == 0
    base = r["models"]["base"]["indicators"]
    # the tiny base was pretrained on the demo train sentences: it already prefers training names (why the
    # comparison with the base, not 0.5, is the tuning memory)
    assert base["name_win_sentence"]["low"] > 0.8
    margin = _cmp(r, "name_margin_format", "memorizer")
    assert margin["low"] > 0.5, margin  # nats per token, paired bootstrap CI over pairs
    win = _cmp(r, "name_win_format", "memorizer")
    assert win["difference"] >= 0  # at the ceiling on the demo: the base wins ~96% of pairs already
    cal = r["models"]["memorizer"]["calibrated"]["calibrated_name_win_format"]
    assert cal["low"] > 0.6, cal


def test_demo_reader_shows_much_less_than_the_memorizer(demo_result):
    if "reader" not in demo_result["models"]:
        pytest.skip("no reader adapter in this version of models.tiny")
    r = demo_result
    reader = _cmp(r, "name_margin_format", "reader")
    memorizer = _cmp(r, "name_margin_format", "memorizer")
    assert reader["high"] < memorizer["low"], (reader, memorizer)
    assert reader["high"] < 0.5
    # tuning raised the training names over their partners no more often than chance for the reader (measured on
    # recipe version 3: calibrated win 0.38 [0.24, 0.50]; the memorizer 0.76 [0.64, 0.88])
    cal = r["models"]["reader"]["calibrated"]["calibrated_name_win_format"]
    mem = r["models"]["memorizer"]["calibrated"]["calibrated_name_win_format"]
    assert cal["low"] < 0.5 and cal["high"] <= 0.5 and cal["high"] < mem["low"], (cal, mem)


def test_result_is_json_ready_and_figure_renders(demo_result, tmp_path):
    import json

    from nerprobe.analysis.estimates import Comparison, Estimate
    from nerprobe.reports.likelihood_figures import save_likelihood_figures

    back = json.loads(json.dumps(demo_result))
    for model in back["models"].values():
        for est in model["indicators"].values():
            Estimate.from_dict(est)
    for c in back["comparisons"]:
        Comparison.from_dict(c)
    paths = save_likelihood_figures(likelihood=back, out_dir=tmp_path)
    assert all(p.stat().st_size > 1000 for p in paths["likelihood-win"].values())
