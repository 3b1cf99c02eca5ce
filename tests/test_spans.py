"""Exact-match span scoring: hand-checked cases, and equality with seqeval on the real CoNLL-2003 test set."""

from __future__ import annotations

import random

import numpy as np
import pytest
from seqeval.metrics import classification_report

from nerprobe.analysis.spans import prf, score, span_stats
from nerprobe.data.conll import read_conll
from nerprobe.data.model import Entity, Sentence


def _sentence():
    # "Ann met Bob in Paris" : Ann 0-3, Bob 8-11, Paris 15-20
    return Sentence.from_tokens("s0", ["Ann", "met", "Bob", "in", "Paris"], [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "LOC")])


def test_counts_per_label_for_one_sentence():
    gold = _sentence()
    pred = [Entity(0, 3, "PER"), Entity(8, 11, "LOC"), Entity(15, 20, "LOC"), Entity(4, 7, "ORG")]
    stats = span_stats([gold], [pred], ["LOC", "ORG", "PER"])
    assert stats.shape == (1, 3, 3) and stats.dtype == np.int64
    # [tp, n_pred, n_gold] for LOC, ORG, PER
    assert stats[0].tolist() == [[1, 2, 1], [0, 1, 0], [1, 1, 2]]
    r = prf(stats, ["LOC", "ORG", "PER"])
    assert r["micro"]["precision"] == pytest.approx(2 / 4)
    assert r["micro"]["recall"] == pytest.approx(2 / 3)
    assert r["micro"]["f1"] == pytest.approx(2 * 2 / (4 + 3))
    assert r["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 1, "n_gold": 0}
    assert r["macro"]["f1"] == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)


def test_repeated_predictions_are_false_positives_and_one_span_with_two_labels_counts_twice():
    gold = Sentence("g", "New York Times", entities=(Entity(0, 8, "LOC"), Entity(0, 14, "ORG"), Entity(0, 8, "ORG")))
    pred = [Entity(0, 8, "LOC"), Entity(0, 8, "LOC"), Entity(0, 8, "ORG")]
    r = score([gold], [pred])
    assert r["micro"]["n_gold"] == 3 and r["micro"]["n_pred"] == 3 and r["micro"]["tp"] == 2
    assert r["micro"]["precision"] == pytest.approx(2 / 3) and r["micro"]["recall"] == pytest.approx(2 / 3)
    assert r["per_type"]["LOC"]["n_pred"] == 2 and r["per_type"]["LOC"]["tp"] == 1


def test_text_match_scores_multisets_of_text_and_label():
    gold = Sentence("t", "Japan beat Japan .", entities=(Entity(11, 16, "LOC"),))
    at_first = [Entity(0, 5, "LOC")]  # the wrong occurrence: no position in the output says which one
    assert score([gold], [at_first])["micro"]["tp"] == 0
    assert score([gold], [at_first], match="text")["micro"]["tp"] == 1
    twice = [Entity(0, 5, "LOC"), Entity(11, 16, "LOC")]
    r = score([gold], [twice], match="text")["micro"]
    assert (r["tp"], r["n_pred"], r["n_gold"]) == (1, 2, 1)
    unplaced = [Entity(-1, -1, "LOC"), Entity(-2, -2, "CITY")]
    r = score([gold], [unplaced], match="text")
    assert (r["micro"]["tp"], r["micro"]["n_pred"]) == (0, 2) and r["per_type"]["CITY"]["n_pred"] == 1


def test_unknown_predicted_label_is_a_false_positive_and_explicit_labels_are_enforced():
    gold = _sentence()
    r = score([gold], [[Entity(0, 3, "PERSON")]])
    assert r["micro"]["tp"] == 0 and r["micro"]["n_pred"] == 1 and "PERSON" in r["per_type"]
    with pytest.raises(ValueError, match="PERSON"):
        span_stats([gold], [[Entity(0, 3, "PERSON")]], ["LOC", "PER"])
    with pytest.raises(ValueError, match="2 gold"):
        span_stats([gold, gold], [[]])


def test_no_predictions_and_no_gold_give_zero_not_nan():
    r = score([Sentence("e", "nothing here")], [[]])
    assert r["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 0, "n_gold": 0}


# -- seqeval equality on real data ------------------------------------------------------------------------------
def _read_tag_column(path):
    """The last column of a CoNLL file, one tag list per sentence, -DOCSTART- skipped (independent of read_conll)."""
    sentences, current = [], []
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if not parts:
            if current:
                sentences.append(current)
            current = []
        elif parts[0] != "-DOCSTART-":
            current.append(parts[-1])
    if current:
        sentences.append(current)
    return sentences


def _perturb(token_spans, n_tokens, labels, rng):
    """Drop, shift, relabel and add token spans at random, then keep a flat (non-overlapping) subset."""
    out = []
    for s, e, lab in token_spans:
        u = rng.random()
        if u < 0.12:
            continue  # dropped
        if u < 0.24:
            s = min(max(0, s + rng.choice([-1, 1])), e - 1)  # start shifted
        elif u < 0.36:
            e = max(min(n_tokens, e + rng.choice([-1, 1])), s + 1)  # end shifted
        elif u < 0.48:
            lab = rng.choice([x for x in labels if x != lab])  # relabelled
        out.append((s, e, lab))
    if rng.random() < 0.3:
        s = rng.randrange(n_tokens)
        out.append((s, min(n_tokens, s + rng.randint(1, 3)), rng.choice(labels)))  # spurious
    flat, end = [], 0
    for s, e, lab in sorted(out):
        if s >= end:
            flat.append((s, e, lab))
            end = e
    return flat


def _to_bio(token_spans, n_tokens):
    tags = ["O"] * n_tokens
    for s, e, lab in token_spans:
        tags[s] = f"B-{lab}"
        for i in range(s + 1, e):
            tags[i] = f"I-{lab}"
    return tags


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_seqeval_default_mode_on_perturbed_conll2003_test(data_dir, seed):
    path = data_dir / "conll2003" / "test.txt"
    corpus = read_conll(path)
    gold_tags = _read_tag_column(path)
    assert len(corpus) == len(gold_tags) == 3453
    labels = ["LOC", "MISC", "ORG", "PER"]
    rng = random.Random(seed)
    pred_tags, pred_entities = [], []
    for sent in corpus:
        spans = [sent.token_span(e) + (e.label,) for e in sent.entities]
        perturbed = _perturb(spans, len(sent.tokens), labels, rng)
        pred_tags.append(_to_bio(perturbed, len(sent.tokens)))
        pred_entities.append([Entity(sent.tokens[s].start, sent.tokens[e - 1].end, lab) for s, e, lab in perturbed])
    ours = score(corpus.sentences, pred_entities)
    ref = classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0, digits=10)
    assert ours["micro"]["n_gold"] == 5648
    assert ours["micro"]["tp"] < ours["micro"]["n_gold"], "the perturbation must change something"
    for key in ("precision", "recall", "f1"):
        assert ours["micro"][key] == pytest.approx(ref["micro avg"][f"{key}-score" if key == "f1" else key], abs=1e-12)
        assert ours["macro"][key] == pytest.approx(ref["macro avg"][f"{key}-score" if key == "f1" else key], abs=1e-12)
        for lab in labels:
            want = ref[lab][f"{key}-score" if key == "f1" else key]
            assert ours["per_type"][lab][key] == pytest.approx(want, abs=1e-12)
    for lab in labels:
        assert ours["per_type"][lab]["n_gold"] == ref[lab]["support"]
