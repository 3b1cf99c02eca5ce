"""Probe-set builders: invariants on hand-made corpora (flat and nested) and on the real CoNLL-2003."""

from __future__ import annotations

import pytest

from nerprobe.data.model import Entity, Sentence
from nerprobe.errors import InputError
from nerprobe.probes.base import Change, ProbeItem, ProbeSet
from nerprobe.probes.coverage import SEEN_OTHER, SEEN_SAME, UNSEEN, MentionIndex, build_coverage, score_strata
from nerprobe.probes.pair_lookup import (ALONE, HELDOUT, IN_CONTEXT, SENTENCE_RECALL, TRAIN, build_pair_lookup,
                                        lookup_correct, span_labels)
from nerprobe.probes.rewrite import replace_spans
from nerprobe.probes.swapped_labels import build_relabeled, build_type_swaps, context_words, swap_outcome
from nerprobe.probes.shape import casing_shape
from nerprobe.probes.unseen_entities import build_replacement_sets, build_unseen_entities, replacement_violations


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
    kept = [it.original_id for it in ps]
    assert kept == [s.id for s in test if s.id in set(kept)]  # test order, each at most once
    assert len(ps) + sum(ps.params["dropped"].values()) == len(test)
    assert replacement_violations(train, ps) == []
    for it in ps:
        orig, new = by_id[it.original_id], it.sentence
        assert len(new.entities) == len(orig.entities)
        for t in new.tokens:
            assert new.text[t.start : t.end] == t.text and t.text.strip() == t.text
        for ch in it.changes:
            assert orig.surface(ch.original) == ch.original_text
            assert new.surface(ch.new) == ch.new_text
            assert ch.new in new.entities and ch.original in orig.entities
            if ch.how in ("pool", "faker", "seen"):
                assert (ch.new_text in idx) == (ch.how == "seen"), ch  # unseen names are never seen in training
                assert ch.new.label == ch.original.label
        # nesting is kept: an entity containing another in the original still contains its counterpart
        pairs = {ch.original: ch.new for ch in it.changes}
        for a in orig.entities:
            for b in orig.entities:
                if a.contains(b):
                    assert pairs.get(a, a).contains(pairs.get(b, b))
    return idx


RICH_TRAIN = TRAIN_SENTS + [
    S("tr-5", "Dave met Carl and Erin in Lyon and Oslo .", [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "PER"),
                                                          (6, 7, "LOC"), (8, 9, "LOC")]),
    S("tr-6", "Globex Inc hired Mary Poppins in Rome .", [(0, 2, "ORG"), (3, 5, "PER"), (6, 7, "LOC")]),
    S("tr-7", "Initech and Hooli sued Ted Lasso .", [(0, 1, "ORG"), (2, 3, "ORG"), (4, 6, "PER")]),
]


def test_unseen_entities_flat():
    ps = build_unseen_entities(RICH_TRAIN, TEST_SENTS, seed=3, source="faker")
    check_unseen_set(RICH_TRAIN, TEST_SENTS, ps)
    te0 = ps.items[0]
    assert te0.original_id == "te-0" and te0.sentence.text.endswith(" .") and "flew to" in te0.sentence.text
    assert {ch.how for ch in te0.changes} == {"faker"}
    assert len(te0.changes) == 2
    assert next(it for it in ps if it.original_id == "te-2").sentence == TEST_SENTS[2]  # no entities: unchanged
    # determinism per seed
    again = build_unseen_entities(RICH_TRAIN, TEST_SENTS, seed=3, source="faker")
    assert [it.sentence for it in again] == [it.sentence for it in ps]
    other = build_unseen_entities(RICH_TRAIN, TEST_SENTS, seed=4, source="faker")
    assert [it.sentence.text for it in other] != [it.sentence.text for it in ps]


def test_seen_replacements_are_aligned_with_unseen():
    unseen, seen = build_replacement_sets(RICH_TRAIN, TEST_SENTS, seed=1, source="faker")
    assert seen.name == "seen-replacements" and unseen.name == "unseen-entities"
    assert [it.original_id for it in seen] == [it.original_id for it in unseen]
    assert len(seen) >= 3 and replacement_violations(RICH_TRAIN, seen) == []
    idx = MentionIndex(RICH_TRAIN)
    for u, v in zip(unseen, seen):
        assert v.id == f"{v.original_id}#seen" and u.id == f"{u.original_id}#unseen"
        assert [ch.original for ch in u.changes] == [ch.original for ch in v.changes]  # the same spans
        for ch in v.changes:
            assert ch.how == "seen" and idx.majority_label(ch.new_text) == ch.original.label
            assert ch.new_text != ch.original_text and ch.source.startswith("tr-")
            assert casing_shape(ch.new_text) == casing_shape(ch.original_text)
            assert len(ch.new_text.split()) == len(ch.original_text.split())
    assert unseen.params["dropped"] == seen.params["dropped"]


def test_replacement_checker_finds_each_violation():
    unseen, _ = build_replacement_sets(RICH_TRAIN, TEST_SENTS, seed=1, source="faker")
    item = next(it for it in unseen if it.changes)
    ch = item.changes[0]

    def violations(new_text, how=None):
        bad_new = Entity(ch.new.start, ch.new.start + len(new_text), ch.new.label)
        text = item.sentence.text[: ch.new.start] + new_text + item.sentence.text[ch.new.end :]
        sent = Sentence(item.sentence.id, text, (), (bad_new,))
        bad = ProbeItem(item.id, item.original_id, sent,
                        (Change(ch.original, ch.original_text, bad_new, new_text, how or ch.how, ch.source),),
                        dict(item.meta))
        return replacement_violations(RICH_TRAIN, ProbeSet("x", 0, [bad]))

    assert (ch.original_text, ch.original.label) == ("Bob", "PER")
    assert replacement_violations(RICH_TRAIN, ProbeSet("x", 0, [item])) == []
    assert any("contains training mention" in v for v in violations("Carl"))
    assert any("shape" in v for v in violations("ZZQX")) and any("shape" in v for v in violations("Zzq Zzq"))
    assert any("in training text" in v for v in violations("Opened"))  # "Acme Corp opened an office in Paris ."
    assert any("majority label" in v for v in violations("Zzqx", how="seen"))
    assert any("original name itself" in v for v in violations("Bob", how="seen"))
    half = ProbeItem(item.id, item.original_id, item.sentence, (), dict(item.meta))
    assert any("was not replaced" in v for v in replacement_violations(RICH_TRAIN, ProbeSet("x", 0, [half])))


def test_unseen_entities_nested_keeps_enclosing_consistent():
    pool = [S("p-0", "Quito and Nice and Lima", [(0, 1, "LOC"), (2, 3, "LOC"), (4, 5, "LOC")]),
            S("p-1", "Eve Stone", [(0, 2, "PER")])]
    ps = build_unseen_entities(RICH_TRAIN, NESTED_TEST, seed=0, pool=pool, source="pool")
    check_unseen_set(RICH_TRAIN, NESTED_TEST, ps)
    n0 = ps.items[0]
    org = next(e for e in n0.sentence.entities if e.label == "ORG")
    assert n0.sentence.surface(org).startswith("Bank of ")
    assert n0.sentence.surface(org)[len("Bank of "):] in {"Quito", "Nice", "Lima"}
    hows = sorted(ch.how for ch in n0.changes)
    assert hows == ["enclosing", "pool", "pool", "pool"]
    # the two LOC replacements within a sentence differ
    locs = [n0.sentence.surface(e) for e in n0.sentence.entities if e.label == "LOC"]
    assert len(set(locs)) == 2


def test_unseen_entities_unfillable_sentence_is_dropped_and_counted():
    ps = build_unseen_entities(RICH_TRAIN, TEST_SENTS, seed=0, pool=[], source="pool")
    assert ps.params["dropped"]["no_unseen_replacement"] == 3
    assert ps.params["unfilled_keys"] and any("no unseen replacement" in p for p in ps.problems)
    assert [it.sentence.text for it in ps] == [TEST_SENTS[2].text]  # only the sentence without entities is left
    with pytest.raises(InputError, match="unknown source"):
        build_unseen_entities(RICH_TRAIN, TEST_SENTS, source="nope")


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
    ps = build_type_swaps(train, TEST_SENTS, seed=1, min_count=1, min_context=2)
    idx = MentionIndex(train)
    assert len(ps) == 3  # the sentence without entities is dropped
    assert ps.params["dropped"]["no_replaceable_entity"] == 1 and ps.params["skipped_sentences"] == 1
    for it in ps:
        a, b = it.meta["span"]
        surface = it.sentence.text[a:b]
        assert it.meta["memorized_label"] != it.meta["gold_label"]
        assert idx.labels_of(surface) and set(idx.labels_of(surface)) == {it.meta["memorized_label"]}
        assert it.meta["shape"] == casing_shape(surface) and it.meta["n_tokens"] == len(surface.split())
        assert Entity(a, b, it.meta["gold_label"]) in it.sentence.entities
        assert swap_outcome(it, [Entity(a, b, it.meta["gold_label"])]) == "context"
        assert swap_outcome(it, [Entity(a, b, it.meta["memorized_label"])]) == "memory"
        assert swap_outcome(it, []) == "missed"


def test_type_swaps_drop_lines_without_context():
    train = TRAIN_SENTS + [S("tr-5", "Globex and Acme Corp merged .", [(0, 1, "ORG"), (2, 4, "ORG")])]
    test = [
        S("score", "Sheffield Wednesday 1 Leeds 0", [(0, 2, "ORG"), (3, 4, "ORG")]),
        S("table", "Leicester 17 6 3 8 17 22 21 points", [(0, 1, "ORG")]),
        S("date", "LONDON 1996-08-30", [(0, 1, "LOC")]),
        S("days", "Madrid , Friday August 30", [(0, 1, "LOC")]),
        S("doc", "-DOCSTART- Madrid", [(1, 2, "LOC")]),
        S("bare", "St Gallen", [(0, 2, "LOC")]),
        S("cricket", "Smith c Jones b Brown 45 runs", [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "PER")]),
        S("ok", "Carol Jones said the company would open an office in Madrid .", [(0, 2, "PER"), (10, 11, "LOC")]),
    ]
    ps = build_type_swaps(train, test, seed=0, min_count=1)
    assert [it.original_id for it in ps] == ["ok"]
    assert ps.params["dropped"] == {"no_replaceable_entity": 0, "header_date_score": 5, "too_little_context": 2,
                                    "no_swap_candidate": 0}
    assert all(len(context_words(test[-1])) >= 3 for _ in ps)
    with pytest.raises(InputError, match="min_context"):
        build_type_swaps(train, test, min_context=-1)


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


def test_pair_lookup_matched_groups_and_arms():
    ps = build_pair_lookup(RICH_TRAIN, TEST_SENTS, seed=0, n_train=None, n_heldout=None, min_context=2)
    idx = MentionIndex(RICH_TRAIN)
    alone = [it for it in ps if it.meta["mode"] == ALONE]
    keys = {g: sorted((it.meta["label"], it.meta["n_tokens"], it.meta["shape"]) for it in alone
                      if it.meta["group"] == g) for g in (TRAIN, HELDOUT)}
    assert keys[TRAIN] == keys[HELDOUT] and len(keys[TRAIN]) == ps.params["sampled"][TRAIN] >= 2
    assert {it.meta["text"] for it in alone if it.meta["group"] == HELDOUT} <= {"Carol Jones", "Globex", "Madrid"}
    by_match: dict = {}
    for it in ps:
        by_match.setdefault(it.meta["match"], []).append(it)
    for match, its in by_match.items():
        modes = sorted((it.meta["group"], it.meta["mode"]) for it in its)
        assert modes == [(HELDOUT, ALONE), (HELDOUT, IN_CONTEXT), (TRAIN, ALONE), (TRAIN, IN_CONTEXT),
                         (TRAIN, SENTENCE_RECALL)]
        ctx = [it for it in its if it.meta["mode"] == IN_CONTEXT]
        assert ctx[0].original_id == ctx[1].original_id and ctx[0].original_id.startswith("te-")
        for it in ctx:  # the same sentence around each name
            a, b = it.meta["span"]
            assert it.sentence.text[a:b] == it.meta["text"]
        (a0, b0), (a1, b1) = ctx[0].meta["span"], ctx[1].meta["span"]
        assert ctx[0].sentence.text[:a0] == ctx[1].sentence.text[:a1]
        assert ctx[0].sentence.text[b0:] == ctx[1].sentence.text[b1:]
    for it in ps:
        a, b = it.meta["span"]
        assert it.sentence.text[a:b] == it.meta["text"]
        assert lookup_correct(it, it.sentence.entities) and not lookup_correct(it, [])
        assert span_labels(it, [Entity(a, b, "X"), Entity(a, b + 1, "Y")]) == {"X"}
        if it.meta["group"] == TRAIN:
            assert idx.majority_label(it.meta["text"]) == it.meta["label"]
        else:
            assert it.meta["text"] not in idx
        if it.meta["mode"] == SENTENCE_RECALL:
            assert it.original_id.startswith("tr-") and it.meta["group"] == TRAIN


def test_probe_set_roundtrip(tmp_path):
    ps = build_unseen_entities(RICH_TRAIN, NESTED_TEST + TEST_SENTS, seed=2)
    path = ps.save(tmp_path)
    back = ProbeSet.load(path)
    assert back.name == ps.name and back.seed == 2 and back.params == ps.params
    assert [it.to_dict() for it in back] == [it.to_dict() for it in ps]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"probe_set": "x"}\n{"id": 1\n')
    with pytest.raises(InputError, match="bad.jsonl:2:"):
        ProbeSet.load(bad)


# -- the real CoNLL-2003 -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def conll(data_dir):
    from nerprobe.data.conll import read_conll

    d = data_dir / "conll2003"
    return read_conll(d / "train.txt"), read_conll(d / "test.txt")


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
    assert ps.params["sampled"] == {"train": 200, "heldout": 200}  # matched: as many of each
    assert ps.params["no_context"] == 0 and len(ps) == 200 * 5
