"""The synthetic demo corpus: deterministic, documented seen/unseen shares, disjoint pools, a real nested variant."""

from __future__ import annotations

import pytest

from nerprobe.data import demo
from nerprobe.data.demo import TEMPLATES, make_demo_corpus


def _mentions(sentences):
    return {(s.surface(e), e.label) for s in sentences for e in s.entities}


@pytest.mark.parametrize("nested", [False, True])
def test_same_seed_same_corpus_other_seed_other_corpus(nested):
    a, b, c = make_demo_corpus(0, nested), make_demo_corpus(0, nested), make_demo_corpus(1, nested)
    for split in ("train", "dev", "test"):
        sa, sb = list(getattr(a, split)), list(getattr(b, split))
        assert [(s.id, s.text, s.entities, s.meta) for s in sa] == [(s.id, s.text, s.entities, s.meta) for s in sb]
    assert [s.text for s in a.train] != [s.text for s in c.train]


def test_split_sizes_and_documented_seen_share():
    c = make_demo_corpus(0)
    assert (len(c.train), len(c.dev), len(c.test)) == (demo.N_TRAIN, demo.N_DEV, demo.N_TEST)
    n_seen = sum(1 for s in c.test if s.meta["seen"] is True)
    assert n_seen == round(demo.N_TEST * demo.TEST_SEEN_SHARE)
    assert c.seen_share == n_seen / len(c.test)
    assert len(c.test_seen()) + len(c.test_unseen()) == len(c.test)


@pytest.mark.parametrize("nested", [False, True])
def test_seen_sentences_reuse_train_mentions_and_unseen_never_do(nested):
    c = make_demo_corpus(3, nested)
    train = _mentions(c.train)
    train_surfaces = {m for m, _ in train} | {m for m, _ in _mentions(c.dev)}
    for s in c.test_seen():
        assert s.entities and _mentions([s]) <= train
    for s in c.test_unseen():
        assert s.entities
        assert not ({m for m, _ in _mentions([s])} & train_surfaces), s.text
    assert not ({s.text for s in c.test} & {s.text for s in c.train})


def test_seen_and_unseen_pools_are_disjoint_per_type_and_in_their_parts():
    pools = make_demo_corpus(0).pools
    for label in demo.LABELS:
        assert pools.seen[label] and pools.unseen[label]
        assert not set(pools.seen[label]) & set(pools.unseen[label])
    # PER names share no first or last name across the pools; ORG names share no stem
    seen_parts = {w for n in pools.seen["PER"] for w in n.split()}
    unseen_parts = {w for n in pools.unseen["PER"] for w in n.split()}
    assert not seen_parts & unseen_parts
    assert not {n.split()[0] for n in pools.seen["ORG"]} & {n.split()[0] for n in pools.unseen["ORG"]}


def test_flat_variant_is_flat_and_nested_variant_nests_loc_inside_org():
    flat = make_demo_corpus(0, nested=False)
    assert all(s.is_flat() for split in (flat.train, flat.dev, flat.test) for s in split)
    nested = make_demo_corpus(0, nested=True)
    inner_pairs = []
    for s in nested.train:
        for outer in s.entities:
            for inner in s.entities:
                if outer.label == "ORG" and inner.label == "LOC" and outer.contains(inner):
                    inner_pairs.append((s.surface(outer), s.surface(inner)))
    assert len(inner_pairs) > 20
    assert all(inner in outer for outer, inner in inner_pairs)
    assert max(s.nesting_depth() for s in nested.train) == 2
    assert any(not s.is_flat() for s in nested.test_seen()) and any(not s.is_flat() for s in nested.test_unseen())


def test_templates_make_the_type_inferable_and_regex_recovers_every_slot():
    assert {t.slots for t in TEMPLATES if len(t.slots) == 1} == {("PER",), ("ORG",), ("LOC",)}
    c = make_demo_corpus(0)
    for s in list(c.train)[:200]:
        t = TEMPLATES[s.meta["template"]]
        m = t.regex.match(s.text)
        assert m, s.text
        got = sorted((m.start(f"s{i}"), m.end(f"s{i}"), label) for i, label in enumerate(t.slots))
        assert got == sorted((e.start, e.end, e.label) for e in s.entities)


def test_every_label_is_well_represented_in_train():
    counts = {label: 0 for label in demo.LABELS}
    for s in make_demo_corpus(0).train:
        for e in s.entities:
            counts[e.label] += 1
    assert min(counts.values()) > 150, counts
