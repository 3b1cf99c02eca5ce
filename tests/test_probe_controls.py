"""The two controls on the demo corpus: each probe separates the pure memorizer from the context-only reader."""

from __future__ import annotations

import pytest

from nerprobe.analysis.spans import score
from nerprobe.data.demo import make_demo_corpus
from nerprobe.models.lookup import LookupPredictor
from nerprobe.probes.context_only import ContextOnlyPredictor
from nerprobe.probes.pair_lookup import ALONE, IN_CONTEXT, TRAIN, build_pair_lookup, lookup_correct
from nerprobe.probes.swapped_labels import build_type_swaps, swap_outcome
from nerprobe.probes.unseen_entities import build_unseen_entities


@pytest.fixture(scope="module", params=[False, True], ids=["flat", "nested"])
def demo(request):
    d = make_demo_corpus(seed=0, nested=request.param)
    return d, LookupPredictor.fit(d.train), ContextOnlyPredictor()


def recall(predictor, sentences):
    return score(sentences, [predictor.entities(s) for s in sentences])["micro"]["recall"]


def test_unseen_entities_separates_the_controls(demo):
    d, lookup, context = demo
    original = list(d.test)
    probe = build_unseen_entities(d.train, d.test, seed=0)
    unseen = probe.sentences
    assert recall(lookup, unseen) <= 0.02  # the memorizer finds (almost) nothing it has not seen
    # ... and (almost) everything it has; nested: its longest-first, non-overlapping match skips the inner LOCs
    flat_seen = [s.with_entities(e for e in s.entities if not any(o.contains(e) for o in s.entities))
                 for s in d.test_seen()]
    assert recall(lookup, flat_seen) >= 0.95
    assert recall(context, original) == 1.0
    assert recall(context, unseen) == recall(context, original)  # no drop for the context reader


def test_pair_lookup_separates_the_controls(demo):
    d, lookup, context = demo
    ps = build_pair_lookup(d.train, d.test, seed=0)

    def accuracy(predictor, mode, group=TRAIN):
        items = [it for it in ps if it.meta["mode"] == mode and it.meta["group"] == group]
        assert items
        return sum(lookup_correct(it, predictor.entities(it.sentence)) for it in items) / len(items)

    assert accuracy(lookup, ALONE) >= 0.99  # near-total pair lookup for the memorizer
    assert accuracy(context, ALONE) == 0.0  # no context, nothing to read
    assert accuracy(context, IN_CONTEXT) == 1.0
    assert accuracy(lookup, ALONE, "heldout") == 0.0


def test_type_swaps_separate_the_controls(demo):
    d, lookup, context = demo
    ps = build_type_swaps(d.train, d.test, seed=0)
    assert len(ps) > 100
    out_lookup = [swap_outcome(it, lookup.entities(it.sentence)) for it in ps]
    out_context = [swap_outcome(it, context.entities(it.sentence)) for it in ps]
    assert out_context.count("context") == len(ps)
    assert out_lookup.count("memory") >= 0.95 * len(ps)
