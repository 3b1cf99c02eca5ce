"""The three demo adapters of the tiny base (issue 14, issue 10 §5): the reader copies names it never saw and types
them from their context, the memorizer tags the names it was tuned on far better than others, the symbols adapter
writes A/B/C and its manifest says which is which.

Training the reader and the symbols adapter takes about a minute each on 2 idle cores (cached in ``$NERPROBE_CACHE``
with the base, like every tiny-model test); the evaluation on the 200 demo test sentences and the type swaps about
a minute more.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from nerprobe.models import tiny

slow = pytest.mark.slow


def test_kinds_name_their_cache_folders_and_an_unknown_kind_is_refused():
    from nerprobe.errors import InputError

    assert [tiny.adapter_name("xml", k) for k in tiny.ADAPTER_KINDS] == [
        "adapter-xml", "adapter-xml-reader", "adapter-xml-symbols"]
    assert tiny.lora_config("reader").name_refresh == "shape" and tiny.lora_config().name_refresh is None
    assert tiny.lora_config("symbols").symbolize == "symbols-only"
    # the same hyperparameters and steps for all three
    assert {tiny.lora_config(k).epochs for k in tiny.ADAPTER_KINDS} == {tiny.RECIPE["lora"]["epochs"]}
    with pytest.raises(InputError, match="unknown demo adapter kind 'writer'") as err:
        tiny.ensure_tiny_adapter("xml", kind="writer")
    assert err.value.field == "kind"


@pytest.fixture(scope="module")
def adapters():
    from nerprobe.demo import demo_adapters

    return tiny.ensure_tiny_base(progress=False), demo_adapters(progress=False)


@pytest.fixture(scope="module")
def corpus():
    from nerprobe.data.demo import make_demo_corpus

    return make_demo_corpus(tiny.RECIPE["corpus_seed"])


def _predict(base, adapter, sentences):
    """The adapter's entities for ``sentences`` (xml, prompted as in training; symbols mapped back to labels)."""
    from nerprobe.data.model import Entity
    from nerprobe.formats import get_format
    from nerprobe.formats.labels import LabelSet
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model
    from nerprobe.models.predictors import Request
    from nerprobe.models.registry import ModelSpec
    from nerprobe.models.training import read_manifest

    m = read_manifest(adapter)
    p = m["prompt_labelset"]
    prompt = LabelSet(tuple(p["names"]), p["definitions"], p["long_names"])
    back = {v: k for k, v in (m["labels"]["symbol_map"] or {}).items()}
    loaded = load_model(ModelSpec(base=str(base), adapter=str(adapter), revision=None, trust_remote_code=False,
                                  alias=None))
    outputs = HFPredictor(loaded, batch_size=16).predict([Request.build(s, "xml", prompt) for s in sentences],
                                                         progress=False)
    fmt = get_format("xml")
    return [[Entity(e.start, e.end, back.get(e.label, e.label)) for e in fmt.parse(o, s, list(prompt.names)).entities]
            for o, s in zip(outputs, sentences)]


def _f1(sentences, predictions) -> float:
    from nerprobe.analysis.spans import prf, span_stats

    names = list(tiny.demo_labelset().names)
    return prf(span_stats(sentences, predictions, names), names)["micro"]["f1"]


def _scores(base, adapter, corpus) -> dict:
    """F1 on the seen and unseen test sentences (and the unseen ones split by whether the base was pretrained on
    them, ``tiny.planted_ids``) and the outcomes of the type swaps."""
    from nerprobe.probes.swapped_labels import build_type_swaps, swap_outcome

    seen, unseen = corpus.test_seen(), corpus.test_unseen()
    swaps = build_type_swaps(corpus.train, corpus.test, 0).items
    preds = _predict(base, adapter, seen + unseen + [it.sentence for it in swaps])
    n, u = len(seen), len(unseen)
    outcomes = Counter(swap_outcome(it, p) for it, p in zip(swaps, preds[n + u:]))
    planted = set(tiny.planted_ids())
    by_planting, counts = {}, {}
    for name, keep in (("unseen, planted", True), ("unseen, not planted", False)):
        pairs = [(s, p) for s, p in zip(unseen, preds[n:n + u]) if (s.id in planted) is keep]
        by_planting[name] = _f1([s for s, _ in pairs], [p for _, p in pairs])
        counts[name] = _counts([s for s, _ in pairs], [p for _, p in pairs])
    return {"seen": _f1(seen, preds[:n]), "unseen": _f1(unseen, preds[n:n + u]), "swaps": outcomes, **by_planting,
            "counts": counts}


def _counts(sentences, predictions):
    """Per-sentence span statistics (n, labels, 3) for a bootstrap over sentences."""
    from nerprobe.analysis.spans import span_stats

    return span_stats(sentences, predictions, list(tiny.demo_labelset().names))


def _f1_difference_ci(a, b, n_resamples: int = 10000) -> tuple[float, float]:
    """95% percentile bootstrap CI of micro-F1(a) - micro-F1(b), two independent groups of sentences resampled
    apart."""
    import numpy as np

    from nerprobe.analysis.indicators import f1_of
    from nerprobe.analysis.significance import resampled_totals

    def f1(totals):  # micro-F1 of each resample's [tp, n_pred, n_gold] summed over labels
        return f1_of(*np.moveaxis(totals.sum(axis=1), -1, 0))

    (ta,) = resampled_totals(a, n_resamples, 0)
    (tb,) = resampled_totals(b, n_resamples, 1)
    low, high = np.percentile(f1(ta) - f1(tb), [2.5, 97.5])
    return float(low), float(high)


@pytest.fixture(scope="module")
def reader_scores(adapters, corpus):
    base, kinds = adapters
    return _scores(base, kinds["reader"], corpus)


@pytest.fixture(scope="module")
def memorizer_scores(adapters, corpus):
    base, kinds = adapters
    return _scores(base, kinds["memorizer"], corpus)


@slow
def test_the_three_adapters_are_cached_apart_on_one_base(adapters):
    base, kinds = adapters
    assert set(kinds) == {"memorizer", "reader", "symbols"}
    assert kinds["memorizer"] == tiny.ensure_tiny_adapter("xml") == base.parent / "adapter-xml"
    assert len({p.name for p in kinds.values()}) == 3 and all(p.parent == base.parent for p in kinds.values())
    manifests = {k: json.loads((p / "nerprobe_adapter.json").read_text()) for k, p in kinds.items()}
    # the same data, format, steps and hyperparameters: only what they could learn differs
    assert len({m["data"]["sha256"] for m in manifests.values()}) == 1
    assert len({m["training"]["steps"] for m in manifests.values()}) == 1
    for key in ("rank", "learning_rate", "epochs", "batch_size", "seed"):
        assert len({m["hyperparameters"][key] for m in manifests.values()}) == 1
    assert manifests["memorizer"].get("name_refresh") is None and manifests["symbols"]["name_refresh"] is None
    assert manifests["reader"]["name_refresh"]["mode"] == "shape"
    assert manifests["reader"]["name_refresh"]["fresh_names"] >= 16 * 600  # a new name per entity and epoch


@slow
def test_symbols_adapter_records_the_llms4ner_symbol_map(adapters):
    m = json.loads((adapters[1]["symbols"] / "nerprobe_adapter.json").read_text())
    assert m["labels"]["symbolize"] == "symbols-only"
    assert m["labels"]["symbol_map"] == {"ORG": "A", "PER": "B", "LOC": "C"}
    assert m["labels"]["prompt_names"] == ["A", "B", "C"] and m["labels"]["definitions_in_prompt"] is False
    assert m["hyperparameters"]["symbolize"] == "symbols-only"


#: Measured 2026-11-29 on recipe version 3 (``tiny`` module docstring): the memorizer scores micro-F1 0.99 on seen and
#: 0.36 on unseen test sentences. A base that copies names lets the memorizer copy unseen names too (on the base of
#: version 1, which could not copy, it wrote back memorized names: 0.75 and 0.00). Issue 14 wants the memorizer to stay
#: at about 0 on unseen names; strict, so that the day it does this marker must go.
MEMORIZER_COPIES_TOO = pytest.mark.xfail(
    strict=True, reason="on a base that copies, the memorizer copies unseen names too: F1 0.99 seen / 0.36 unseen "
                        "(measured 2026-11-29, recipe version 3); issue 14 wants about 0 on unseen names")


@slow
def test_reader_tags_unseen_names_nearly_as_well_as_seen_ones(reader_scores):
    s = reader_scores
    assert s["unseen"] >= 0.60, s
    assert s["seen"] - s["unseen"] <= 0.10, s


@slow
def test_reader_follows_the_context_in_most_type_swaps_it_finds(reader_scores):
    c = reader_scores["swaps"]
    found = c["context"] + c["memory"] + c["other"]
    assert found >= 50 and c["context"] / found >= 0.6, c


@slow
def test_memorizer_follows_memory_in_most_type_swaps_it_finds(memorizer_scores, reader_scores):
    """The memorizer labels a known name of another type by what it memorized, not by the context, in most swaps it
    labels; the reader in few (recipe version 3: train holds cross-context sentences where only the name tells)."""
    m, r = memorizer_scores["swaps"], reader_scores["swaps"]
    found = m["context"] + m["memory"] + m["other"]
    assert found >= 50 and m["memory"] / found >= 0.5, m
    assert r["memory"] / (r["context"] + r["memory"] + r["other"]) <= 0.25, r


@slow
def test_memorizer_tags_seen_names_far_better_than_unseen_ones(memorizer_scores, reader_scores):
    """What separates the two adapters in F1: the memorizer's seen-unseen gap is large, the reader's is not."""
    m, r = memorizer_scores, reader_scores
    assert m["seen"] >= 0.8 and m["seen"] - m["unseen"] >= 0.4, m
    assert (m["seen"] - m["unseen"]) - (r["seen"] - r["unseen"]) >= 0.4, (m, r)


@slow
@MEMORIZER_COPIES_TOO
def test_memorizer_still_cannot_tag_unseen_names(memorizer_scores):
    s = memorizer_scores
    assert s["unseen"] <= 0.10 and s["seen"] >= 0.7, s


@slow
def test_planting_test_sentences_in_pretraining_leaves_the_unseen_setting_as_it_was(reader_scores, memorizer_scores):
    """Half of the unseen-name test sentences are in the base's pretraining (as plain text): the adapters tag them
    no better than the others, within sampling error (a bootstrap CI of the F1 difference over sentences holds 0),
    since the probes' seen/unseen is about tuning and no label was ever planted."""
    for s in (reader_scores, memorizer_scores):
        # measured on recipe version 3: reader 0.92 vs 0.91, memorizer 0.42 vs 0.30 (about 50 sentences each)
        low, high = _f1_difference_ci(s["counts"]["unseen, planted"], s["counts"]["unseen, not planted"])
        assert low < 0 < high, (s["unseen, planted"], s["unseen, not planted"], low, high)
        assert abs(s["unseen, planted"] - s["unseen, not planted"]) <= 0.2, s
