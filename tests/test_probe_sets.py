"""Probe-set builders: invariants on hand-made corpora (flat and nested) and on the real CoNLL-2003."""

from __future__ import annotations

import pytest

from nerprobe.data.model import Entity, Sentence
from nerprobe.probes.base import ProbeSet
from nerprobe.probes.coverage import SEEN_OTHER, SEEN_SAME, UNSEEN, MentionIndex, build_coverage, score_strata
from nerprobe.probes.pair_lookup import ALONE, HELDOUT, IN_CONTEXT, TRAIN, build_pair_lookup, lookup_correct
from nerprobe.probes.rewrite import replace_spans
from nerprobe.probes.swapped_labels import build_relabeled, build_type_swaps, swap_outcome
from nerprobe.probes.unseen_entities import build_unseen_entities


def S(id, words, spans):
    return Sentence.from_tokens(id, words.split(), spans)


TRAIN_SENTS = [
    S("tr-0", "Alice Smith visited Paris on Monday .", [(0, 2, "PER"), (3, 4, "LOC")]),
    S("tr-1", "Paris Hilton met Bob in Berlin .", [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]),
    S("tr-2", "Acme Corp opened an office in Paris .", [(0, 2, "ORG"), (6, 7, "LOC")]),
    S("tr-3", "Washington said Washington is large .", [(0, 1, "PER"), (2, 3, "LOC")]),
    S("tr-4", "Bob joined Acme Corp in Berlin .", [(0, 1, "PER"), (2, 4, "ORG"), (5, 6, "LOC")]),
]
TEST_SENTS = [
    S("te-0", "Bob flew to Paris .", [(0, 1, "PER"), (3, 4, "LOC")]),
    S("te-1", "Carol Jones works for Globex in Madrid .", [(0, 2, "PER"), (4, 5, "ORG"), (6, 7, "LOC")]),
    S("te-2", "Nothing happened here .", []),
    S("te-3", "Washington spoke in Berlin .", [(0, 1, "ORG"), (3, 4, "LOC")]),
]
# nested: "Bank of Paris" ORG over LOC "Paris"
NESTED_TEST = [
    S("n-0", "The Bank of Madrid and Carol Jones met in Rome .",
      [(1, 4, "ORG"), (3, 4, "LOC"), (5, 7, "PER"), (9, 10, "LOC")]),
    S("n-1", "Dave Brown visited the Bank of Lisbon yesterday .", [(0, 2, "PER"), (4, 7, "ORG"), (6, 7, "LOC")]),
]


def surfaces(sentence):
    return [sentence.surface(e) for e in sentence.entities]


def test_coverage_strata_and_consistency():
    cov = build_coverage(TRAIN_SENTS, TEST_SENTS)
    facts = {(it.id, f["text"]): f for it in cov for f in it.meta["entities"]}
    assert facts[("te-0", "Bob")]["stratum"] == SEEN_SAME
    assert facts[("te-0", "Paris")]["stratum"] == SEEN_SAME
    assert facts[("te-0", "Paris")]["consistency"] == 1.0  # Paris alone: LOC twice
    assert facts[("te-1", "Madrid")]["stratum"] == UNSEEN and facts[("te-1", "Madrid")]["consistency"] is None
    assert facts[("te-3", "Washington")]["stratum"] == SEEN_OTHER  # PER once, LOC once, never ORG
    assert facts[("te-3", "Washington")]["consistency"] == 0.0
    idx = MentionIndex(TRAIN_SENTS)
    assert idx.consistency("washington", "PER") == 0.5  # casefold normalization by default
    assert "washington" not in MentionIndex(TRAIN_SENTS, "exact")


def test_coverage_scores_per_stratum():
    cov = build_coverage(TRAIN_SENTS, TEST_SENTS)
    idx = MentionIndex(TRAIN_SENTS)
    preds = [s.entities for s in cov.sentences]  # perfect predictions
    preds[3] = (Entity(0, 10, "PER"),)  # Washington as PER: a seen_same prediction, wrong
    scores = score_strata(cov, preds, idx)
    assert scores[UNSEEN].recall == 1.0 and scores[UNSEEN].gold == 3
    assert scores[SEEN_OTHER].gold == 1 and scores[SEEN_OTHER].recall == 0.0
    # Bob, Paris right; Washington-as-PER wrong; Berlin (te-3) missed
    assert scores[SEEN_SAME].predicted == 3 and scores[SEEN_SAME].correct == 2 and scores[SEEN_SAME].found == 2


def check_unseen_set(train, test, ps):
    idx = MentionIndex(train)
    by_id = {s.id: s for s in test}
    assert [it.original_id for it in ps] == [s.id for s in test]
    for it in ps:
        orig, new = by_id[it.original_id], it.sentence
        assert len(new.entities) == len(orig.entities)
        for t in new.tokens:
            assert new.text[t.start : t.end] == t.text and t.text.strip() == t.text
        for ch in it.changes:
            assert orig.surface(ch.original) == ch.original_text
            assert new.surface(ch.new) == ch.new_text
            assert ch.new in new.entities and ch.original in orig.entities
            if ch.how in ("pool", "faker"):
                assert ch.new_text not in idx, ch  # never seen in training
                assert ch.new.label == ch.original.label
        # nesting is kept: an entity containing another in the original still contains its counterpart
        pairs = {ch.original: ch.new for ch in it.changes}
        for a in orig.entities:
            for b in orig.entities:
                if a.contains(b):
                    assert pairs.get(a, a).contains(pairs.get(b, b))
    return idx


def test_unseen_entities_flat():
    ps = build_unseen_entities(TRAIN_SENTS, TEST_SENTS, seed=3, source="faker")
    check_unseen_set(TRAIN_SENTS, TEST_SENTS, ps)
    te0 = ps.items[0]
    assert te0.sentence.text.endswith(" .") and "flew to" in te0.sentence.text
    assert {ch.how for ch in te0.changes} == {"faker"}
    assert len(te0.changes) == 2
    assert ps.items[2].sentence == TEST_SENTS[2]  # no entities: kept unchanged
    # determinism per seed
    again = build_unseen_entities(TRAIN_SENTS, TEST_SENTS, seed=3, source="faker")
    assert [it.sentence for it in again] == [it.sentence for it in ps]
    other = build_unseen_entities(TRAIN_SENTS, TEST_SENTS, seed=4, source="faker")
    assert [it.sentence.text for it in other] != [it.sentence.text for it in ps]


def test_unseen_entities_nested_keeps_enclosing_consistent():
    pool = [S("p-0", "Quito and Oslo and Lima", [(0, 1, "LOC"), (2, 3, "LOC"), (4, 5, "LOC")]),
            S("p-1", "Eve Stone", [(0, 2, "PER")])]
    ps = build_unseen_entities(TRAIN_SENTS, NESTED_TEST, seed=0, pool=pool, source="pool")
    check_unseen_set(TRAIN_SENTS, NESTED_TEST, ps)
    n0 = ps.items[0]
    org = next(e for e in n0.sentence.entities if e.label == "ORG")
    assert n0.sentence.surface(org).startswith("Bank of ")
    assert n0.sentence.surface(org)[len("Bank of "):] in {"Quito", "Oslo", "Lima"}
    hows = sorted(ch.how for ch in n0.changes)
    assert hows == ["enclosing", "pool", "pool", "pool"]
    # the two LOC replacements within a sentence differ
    locs = [n0.sentence.surface(e) for e in n0.sentence.entities if e.label == "LOC"]
    assert len(set(locs)) == 2


def test_unseen_entities_empty_pool_is_reported_and_kept():
    ps = build_unseen_entities(TRAIN_SENTS, TEST_SENTS, seed=0, pool=[], source="pool")
    assert any("empty replacement pool" in p and "'PER'" in p for p in ps.problems)
    assert [it.sentence.text for it in ps] == [s.text for s in TEST_SENTS]


def test_replace_spans_offset_map():
    s = NESTED_TEST[0]
    new, pairs = replace_spans(s, {(12, 18): "Ho Chi Minh City", (42, 46): "X"}, "n")
    assert new.text == "The Bank of Ho Chi Minh City and Carol Jones met in X ."
    assert [new.surface(e) for e in new.entities] == ["Bank of Ho Chi Minh City", "Ho Chi Minh City",
                                                      "Carol Jones", "X"]
    assert [t.text for t in new.tokens] == new.text.split()
    with pytest.raises(ValueError):
        replace_spans(s, {(4, 18): "A", (12, 18): "B"}, "bad")


def test_type_swaps_context_vs_memory():
    train = TRAIN_SENTS + [S("tr-5", "Globex and Acme Corp merged .", [(0, 1, "ORG"), (2, 4, "ORG")])]
    ps = build_type_swaps(train, TEST_SENTS, seed=1, min_count=1)
    idx = MentionIndex(train)
    assert len(ps) == 3  # the sentence without entities is skipped
    assert ps.params["skipped_sentences"] == 1
    for it in ps:
        a, b = it.meta["span"]
        surface = it.sentence.text[a:b]
        assert it.meta["memorized_label"] != it.meta["gold_label"]
        assert idx.labels_of(surface) and set(idx.labels_of(surface)) == {it.meta["memorized_label"]}
        assert Entity(a, b, it.meta["gold_label"]) in it.sentence.entities
        assert swap_outcome(it, [Entity(a, b, it.meta["gold_label"])]) == "context"
        assert swap_outcome(it, [Entity(a, b, it.meta["memorized_label"])]) == "memory"
        assert swap_outcome(it, []) == "missed"


def test_relabeled_sets():
    from nerprobe.formats.labels import LabelSet

    ls = LabelSet(("PER", "ORG", "LOC"), {"PER": "people", "ORG": "companies", "LOC": "places"})
    sym = build_relabeled(TEST_SENTS, ls, "symbols-defs")
    assert sym.params["mapping"] == {"PER": "A", "ORG": "B", "LOC": "C"}
    assert sym.params["labelset"]["definitions"] == {"A": "people", "B": "companies", "C": "places"}
    assert [e.label for e in sym.items[1].sentence.entities] == ["A", "B", "C"]
    assert build_relabeled(TEST_SENTS, ls, "symbols").params["labelset"]["definitions"] == {}
    perm = build_relabeled(TEST_SENTS, ls, "permuted", seed=5)
    mapping = perm.params["mapping"]
    assert sorted(mapping.values()) == sorted(ls.names) and all(k != v for k, v in mapping.items())
    assert perm.params["labelset"]["definitions"][mapping["PER"]] == "people"
    assert [it.sentence.text for it in perm] == [s.text for s in TEST_SENTS]


def test_pair_lookup_items():
    ps = build_pair_lookup(TRAIN_SENTS, TEST_SENTS, seed=0, n_train=None, n_heldout=None)
    alone = [it for it in ps if it.meta["mode"] == ALONE]
    ctx = {it.meta["pair"]: it for it in ps if it.meta["mode"] == IN_CONTEXT}
    idx = MentionIndex(TRAIN_SENTS)
    train_alone = [it for it in alone if it.meta["group"] == TRAIN]
    assert len(train_alone) == len(idx.counts)  # one per normalized training surface
    for it in alone:
        assert it.sentence.text == it.meta["text"] and it.sentence.entities == (Entity(0, len(it.meta["text"]),
                                                                                       it.meta["label"]),)
        c = ctx[it.meta["pair"]]
        a, b = c.meta["span"]
        assert c.sentence.text[a:b] == it.meta["text"]
        assert lookup_correct(it, it.sentence.entities) and not lookup_correct(it, [])
        if it.meta["group"] == TRAIN:
            assert idx.majority_label(it.meta["text"]) == it.meta["label"]
        else:
            assert it.meta["text"] not in idx
    assert {it.meta["text"] for it in alone if it.meta["group"] == HELDOUT} == {"Carol Jones", "Globex", "Madrid"}


def test_probe_set_roundtrip(tmp_path):
    ps = build_unseen_entities(TRAIN_SENTS, NESTED_TEST + TEST_SENTS, seed=2)
    path = ps.save(tmp_path)
    back = ProbeSet.load(path)
    assert back.name == ps.name and back.seed == 2 and back.params == ps.params
    assert [it.to_dict() for it in back] == [it.to_dict() for it in ps]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"probe_set": "x"}\n{"id": 1\n')
    from nerprobe.errors import InputError

    with pytest.raises(InputError, match="bad.jsonl:2:"):
        ProbeSet.load(bad)


# -- the real CoNLL-2003 -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def conll(data_dir):
    from nerprobe.data.conll import read_conll

    d = data_dir / "conll2003"
    return read_conll(d / "train.txt"), read_conll(d / "test.txt")


def test_conll_unseen_entities(conll):
    train, test = conll
    ps = build_unseen_entities(train, test, seed=0)
    idx = check_unseen_set(train, list(test), ps)
    replaced = sum(it.meta["replaced"] for it in ps)
    assert replaced > 0.95 * sum(len({e.span for e in s.entities}) for s in test)
    # every entity of every probe sentence is unseen in training
    for it in ps:
        for e in it.sentence.entities:
            assert it.sentence.surface(e) not in idx
    assert ps.problems == []


def test_conll_coverage_and_pairs(conll):
    train, test = conll
    cov = build_coverage(train, test)
    n = {k: 0 for k in (SEEN_SAME, SEEN_OTHER, UNSEEN)}
    for it in cov:
        for f in it.meta["entities"]:
            n[f["stratum"]] += 1
    assert sum(n.values()) == test.n_entities() == 5648
    assert n[SEEN_SAME] > n[UNSEEN] > n[SEEN_OTHER] > 0  # CoNLL's test mentions are mostly seen
    ps = build_pair_lookup(train, test, seed=0, n_train=300, n_heldout=200)
    assert ps.params["sampled"] == {"train": 300, "heldout": 200}
    assert len(ps) == 1000
    swaps = build_type_swaps(train, test, seed=0)
    assert len(swaps) > 2500 and all(it.meta["memorized_label"] != it.meta["gold_label"] for it in swaps)
