"""Batched greedy generation: equal to one-at-a-time and to unpadded HF generate; cache reuse; stop strings."""

from __future__ import annotations

import random

import pytest

from model_fixtures import make_random_tiny_model
from nerprobe.data.model import Sentence
from nerprobe.formats.labels import LABEL_SETS
from nerprobe.models.cache import GenerationCache
from nerprobe.models.hf_generate import HFPredictor, max_new_tokens_for
from nerprobe.models.loading import load_model
from nerprobe.models.predictors import Request
from nerprobe.models.registry import ModelSpec

WORDS = ("EU rejects German call to boycott British lamb Peter Blackburn BRUSSELS The European Commission said on "
         "Thursday it disagreed with advice to consumers").split()


def random_sentences(n, seed=0):
    rng = random.Random(seed)
    return [Sentence.from_tokens(f"s{i}", [rng.choice(WORDS) for _ in range(rng.randint(1, 10))]) for i in range(n)]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_model(ModelSpec(base=str(make_random_tiny_model(tmp_path_factory.mktemp("m") / "tiny"))))


@pytest.fixture(scope="module")
def requests():
    """16 requests of 1..10 words with a short instruction (the real one is ~300 tokens: too slow on a shared CPU)."""
    return [
        Request(s.id, s, "bracketed", LABEL_SETS["conll2003"], "Tag PER ORG LOC MISC.", s.text)
        for s in random_sentences(16)
    ]


def test_request_build_uses_the_alpaca_instruction_and_input():
    s = random_sentences(1)[0]
    r = Request.build(s, "xml", LABEL_SETS["conll2003"])
    assert r.id == s.id and r.input == s.text and r.prompt == r.instruction + "\n" + r.input
    assert "ORG" in r.instruction


def test_batched_equals_one_at_a_time_and_unpadded_generate(loaded, requests):
    batched = HFPredictor(loaded, batch_size=6).predict(requests, progress=False)
    single = HFPredictor(loaded, batch_size=1).predict(requests, progress=False)
    assert batched == single
    # independent reference: plain HF generate on each prompt alone, no padding at all
    tok, model = loaded.tokenizer, loaded.model
    pred = HFPredictor(loaded)
    for r, out in list(zip(requests, batched))[:6]:
        ids = tok(pred.prompt_text(r), return_tensors="pt", add_special_tokens=False)
        gen = model.generate(**ids, max_new_tokens=pred.budget(r), do_sample=False, pad_token_id=tok.pad_token_id)
        new = gen[0, ids["input_ids"].shape[1]:].tolist()
        if tok.eos_token_id in new:
            new = new[: new.index(tok.eos_token_id)]
        assert tok.decode(new, skip_special_tokens=True) == out
    # the outputs are not trivial: they differ between prompts and reach different lengths
    assert len(set(batched)) > len(batched) // 2


def test_budget_grows_with_input_and_format(loaded, requests):
    p = HFPredictor(loaded)
    short = min(requests, key=lambda r: len(r.input))
    long = max(requests, key=lambda r: len(r.input))
    assert p.budget(short) < p.budget(long)
    assert max_new_tokens_for(10, "offset_json") > max_new_tokens_for(10, "bracketed") > 10
    short_out = HFPredictor(loaded, max_new_tokens=3).predict(requests[:4], progress=False)
    long_out = HFPredictor(loaded, max_new_tokens=12).predict(requests[:4], progress=False)
    assert all(lo.startswith(so) and len(so) < len(lo) for so, lo in zip(short_out, long_out))


def test_rerun_generates_nothing_new(loaded, requests, tmp_path):
    cache = GenerationCache(tmp_path / "gen")
    first = HFPredictor(loaded, cache=cache, batch_size=4)
    outs = first.predict(requests[:10], progress=False)
    assert first.generated == len(cache) == len({r.prompt for r in requests[:10]})
    again = HFPredictor(loaded, cache=GenerationCache(tmp_path / "gen"), batch_size=4)
    assert again.predict(requests, progress=False)[:10] == outs
    new_prompts = {r.prompt for r in requests[10:]} - {r.prompt for r in requests[:10]}
    assert again.generated == len(new_prompts) > 0  # only the new ones (a repeated prompt is generated once)
    # other decoding settings are other cache entries
    other = HFPredictor(loaded, cache=cache, max_new_tokens=5)
    other.predict(requests[:3], progress=False)
    assert other.generated == 3


def test_stop_strings_cut_the_output(loaded, requests):
    free = HFPredictor(loaded, batch_size=6, max_new_tokens=24).predict(requests, progress=False)
    # pick a 2-character string that occurs in the middle of some output, use it as the stop string
    text = next(o for o in free if len(o) > 14)
    stop = text[10:12]
    stopped = HFPredictor(loaded, batch_size=6, max_new_tokens=24, stop_strings=[stop]).predict(requests, progress=False)
    single = HFPredictor(loaded, batch_size=1, max_new_tokens=24, stop_strings=[stop]).predict(requests, progress=False)
    assert stopped == single
    for f, s in zip(free, stopped):
        assert stop not in s and f.startswith(s)
        if stop in f:
            assert s == f[: f.index(stop)]


def test_continuous_engine_gives_the_padded_batches_outputs(loaded, requests):
    """transformers' continuous batching (paged cache, requests joining and leaving) decodes greedily to the same text
    as the padded length-sorted batches in float32, repeated prompts included; its cache key differs."""
    reqs = requests[:6] + requests[:2]  # two prompts twice: matched back by token ids
    padded = HFPredictor(loaded, batch_size=4, max_new_tokens=8).predict(reqs, progress=False)
    continuous = HFPredictor(loaded, max_new_tokens=8, engine="continuous")
    assert continuous.predict(reqs, progress=False) == padded
    assert continuous.settings(8) == {**HFPredictor(loaded).settings(8), "engine": "continuous"}
    with pytest.raises(ValueError, match="engine must be one of generate, continuous"):
        HFPredictor(loaded, engine="vllm")


def test_continuous_engine_without_generate_batch_is_a_clear_error(loaded, requests):
    """A transformers without continuous batching: one NerprobeError naming the way out, not an AttributeError."""
    from nerprobe.errors import NerprobeError

    class Plain:  # a model object with generate but no generate_batch
        generate = loaded.model.generate

    pred = HFPredictor(loaded, max_new_tokens=4, engine="continuous")
    pred.loaded = type(loaded)(**{**loaded.__dict__, "_model": Plain()})
    with pytest.raises(NerprobeError, match="use --engine generate"):
        pred.predict(requests[:2], progress=False)
