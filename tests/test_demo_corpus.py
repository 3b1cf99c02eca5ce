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


def _typed_by_template(sentences):
    """The sentences whose every slot carries its template's type (not a list line, not a cross-context sentence)."""
    return [s for s in sentences if s.meta["template"] is not None and "cross_context" not in s.meta]


def test_templates_make_the_type_inferable_and_regex_recovers_every_slot():
    assert {t.slots for t in TEMPLATES if len(t.slots) == 1} == {("PER",), ("ORG",), ("LOC",)}
    c = make_demo_corpus(0)
    typed = _typed_by_template(c.train)
    assert len(typed) >= 0.75 * len(c.train)  # less the list lines and the cross-context sentences
    # every dev and test sentence is typed by its template: the context-only predictor's premise
    assert _typed_by_template(c.dev) == list(c.dev) and _typed_by_template(c.test) == list(c.test)
    for s in typed[:200] + list(c.test):
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


@pytest.mark.parametrize("nested", [False, True])
def test_train_holds_list_lines_of_seen_names_alone_in_every_label(nested):
    c = make_demo_corpus(0, nested)
    lines = [s for s in c.train if s.meta.get("name_line")]
    assert len(lines) == demo.N_NAME_LINES
    for s in lines:
        (e,) = s.entities
        assert (e.start, e.end) == (0, len(s.text)) and s.meta["template"] is None
        assert s.text in c.pools.seen[e.label]
    assert {e.label for s in lines for e in s.entities} == set(demo.LABELS)
    assert not any(s.meta.get("name_line") for s in [*c.dev, *c.test])


@pytest.mark.parametrize("nested", [False, True])
def test_cross_context_sentences_put_a_seen_name_of_another_type_in_one_slot_and_keep_its_label(nested):
    c = make_demo_corpus(0, nested)
    cross = [s for s in c.train if "cross_context" in s.meta]
    templated = [s for s in c.train if s.meta["template"] is not None]
    assert abs(len(cross) / len(templated) - demo.CROSS_CONTEXT_SHARE) < 0.05, len(cross)
    for s in cross:
        t = TEMPLATES[s.meta["template"]]
        m = t.regex.match(s.text)
        k = s.meta["cross_context"]
        slots = sorted(s.entities, key=lambda e: e.start)
        outer = [e for e in slots if not any(o.contains(e) and o != e for o in slots)]
        assert [(e.start, e.end) for e in outer] == [m.span(f"s{i}") for i in range(len(t.slots))], s.text
        for i, e in enumerate(outer):
            if i == k:  # the name keeps its own type, which is not the slot's
                assert e.label != t.slots[i] and s.surface(e) in c.pools.seen[e.label], s.text
            else:
                assert e.label == t.slots[i], s.text
    # every cross-context name is also seen in a context of its own type, so it is a name a model can know
    own = {(s.surface(e), e.label) for s in _typed_by_template(c.train) for e in s.entities}
    crossed = {(s.surface(e), e.label) for s in cross for i, e in enumerate(sorted(s.entities, key=lambda e: e.start))
               if i == s.meta["cross_context"]}
    assert len(crossed & own) >= 0.8 * len(crossed)


def test_half_of_the_org_names_are_one_word_like_the_locations():
    pools = make_demo_corpus(0).pools
    orgs = [*pools.seen["ORG"], *pools.unseen["ORG"]]
    one_word = [n for n in orgs if len(n.split()) == 1]
    assert 0.3 <= len(one_word) / len(orgs) <= 0.7
    assert all(n in demo.ORG_STEMS for n in one_word)
