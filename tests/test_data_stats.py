"""Corpus statistics and mention coverage on hand-made and real corpora."""

from __future__ import annotations

import pytest

from nerprobe.data.conll import read_conll
from nerprobe.data.jsonl import read_jsonl
from nerprobe.data.model import Sentence
from nerprobe.data.stats import corpus_stats, mention_coverage, normalize_mention


def _s(i, words, spans):
    return Sentence.from_tokens(f"s-{i}", words, spans)


def test_normalize_mention():
    assert normalize_mention("  New\t York ") == "new york"
    assert normalize_mention("STRASSE") == normalize_mention("straße")


def test_coverage_hand_made_case():
    train = [_s(0, ["Paris", "and", "Apple", "and", "Jordan"], [(0, 1, "LOC"), (2, 3, "ORG"), (4, 5, "PER")]),
             _s(1, ["Jordan", "again"], [(0, 1, "LOC")])]
    test = [_s(2, ["paris", "Apple", "Jordan", "Mars", "Jordan"],
               [(0, 1, "LOC"), (1, 2, "PER"), (2, 3, "LOC"), (3, 4, "LOC"), (4, 5, "ORG")])]
    cov = mention_coverage(train, test)
    assert cov["total"] == 5
    # paris→LOC same (casefold); Apple as PER: seen only as ORG; Jordan LOC: seen as PER and LOC; Mars unseen;
    # Jordan ORG: seen only with other labels
    assert cov["counts"] == {"same_label": 2, "other_label_only": 2, "unseen": 1}
    assert cov["shares"]["same_label"] == pytest.approx(0.4)
    assert cov["by_type"]["LOC"]["counts"] == {"same_label": 2, "other_label_only": 0, "unseen": 1}
    assert cov["by_type"]["PER"]["counts"] == {"same_label": 0, "other_label_only": 1, "unseen": 0}
    exact = mention_coverage(train, test, normalize=lambda t: t)
    assert exact["counts"] == {"same_label": 1, "other_label_only": 2, "unseen": 2}


def test_coverage_sums_on_real_corpora(data_dir):
    train = read_conll(data_dir / "conll2003" / "train.txt")
    test = read_conll(data_dir / "conll2003" / "test.txt")
    cov = mention_coverage(train, test)
    assert cov["total"] == 5648 == sum(cov["counts"].values())
    assert sum(cov["shares"].values()) == pytest.approx(1.0)
    assert sum(b["total"] for b in cov["by_type"].values()) == 5648
    for label, b in cov["by_type"].items():
        assert sum(b["counts"].values()) == b["total"]
    # a corpus covers itself completely
    self_cov = mention_coverage(test, test)
    assert self_cov["counts"]["same_label"] + self_cov["counts"]["other_label_only"] == 5648
    assert self_cov["counts"]["unseen"] == 0


def test_corpus_stats_flat_and_nested(data_dir):
    st = corpus_stats(read_conll(data_dir / "conll2003" / "test.txt"))
    assert (st["sentences"], st["tokens"], st["entities"], st["documents"]) == (3453, 46435, 5648, 231)
    assert st["max_nesting_depth"] == 1 and st["nested_entities"] == 0
    g = corpus_stats(read_jsonl(data_dir / "genia" / "nested_jsonl" / "test.jsonlines"))
    assert g["entities"] == 5119 and g["nested_entities"] == 603  # PROVENANCE.md's "nested" column
    assert g["same_span_multi_label"] == 5 and g["max_nesting_depth"] >= 2
    assert sum(g["sentences_by_depth"].values()) == 1732


def test_corpus_stats_hand_made():
    s = _s(0, ["a", "b", "c"], [(0, 3, "X"), (0, 1, "Y"), (0, 1, "Z"), (2, 3, "Y")])
    st = corpus_stats([s, _s(1, ["d"], [])])
    assert st["entities_by_type"] == {"X": 1, "Y": 2, "Z": 1}
    assert st["nested_entities"] == 3 and st["same_span_multi_label"] == 1
    assert st["max_nesting_depth"] == 2 and st["sentences_by_depth"] == {"0": 1, "2": 1}
    assert st["sentences_with_entities"] == 1
