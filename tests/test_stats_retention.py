"""Retention statistics that say what the data can support: verdicts with a margin, resamples from the family,
duplicates refused, binary metrics by definition, and an answer-form check with its chance level."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from nerprobe.analysis.significance import TooFewResamples
from nerprobe.errors import NerprobeError
from nerprobe.retention.answers import (
    answer_form, containment_with_chance, contains_answer, equality_with_chance, gold_answer, normalize_answer,
)
from nerprobe.retention.compare import compare_runs, verdict
from nerprobe.retention.pairing import item_records, pair_records
from test_retention_stats import _log


def _pairs(base_acc, tuned_acc, metric="acc"):
    base = [_log(i, {metric: float(v)}) for i, v in enumerate(base_acc)]
    tuned = [_log(i, {metric: float(v)}) for i, v in enumerate(tuned_acc)]
    return pair_records(item_records("t", base), item_records("t", tuned))


def test_no_significant_change_on_few_items_is_inconclusive_not_retained():
    rng = np.random.default_rng(0)
    small = rng.random(20) < 0.6
    (row,) = compare_runs(_pairs(small, small ^ (rng.random(20) < 0.1)))
    assert row["p_holm"] >= 0.05 and row["verdict"] == "inconclusive"
    assert row["high"] - row["low"] > 0.04  # a CI wider than the ±2-point margin
    # thousands of items with a tiny change: the CI lies within ±2 points
    big = rng.random(6000) < 0.6
    flips = rng.random(6000) < 0.01
    (row,) = compare_runs(_pairs(big, big ^ flips))
    assert -0.02 <= row["low"] and row["high"] <= 0.02 and row["verdict"] == "retained"
    assert row["margin"] == 2.0
    (tight,) = compare_runs(_pairs(big, big ^ flips), margin=0.2)
    assert tight["verdict"] == "inconclusive"


def test_worse_and_better_follow_holm_and_the_metrics_direction():
    rng = np.random.default_rng(1)
    base = rng.random(400) < 0.7
    tuned = base & (rng.random(400) < 0.8)  # loses a fifth of its right answers
    (row,) = compare_runs(_pairs(base, tuned))
    assert row["verdict"] == "worse" and row["p_holm"] < 0.05
    (lower,) = compare_runs(_pairs(base, tuned), {("t", "acc"): False})
    assert lower["verdict"] == "better"
    assert verdict({"p_holm": 0.5, "alpha": 0.05, "difference": 0.0, "low": -0.01, "high": 0.03}) == "inconclusive"


def test_resamples_come_from_the_family_and_too_few_are_refused():
    rng = np.random.default_rng(2)
    base = [_log(i, {"f1": float(rng.random()), "acc": float(rng.random() < 0.5)}, filt=f)
            for i in range(30) for f in ("a", "b", "c")]
    pairs = pair_records(item_records("t", base), item_records("t", base))
    assert len(pairs) == 6
    rows = compare_runs(pairs)
    assert {r["n_resamples"] for r in rows} == {10000}
    with pytest.raises(TooFewResamples, match="family of 6 test"):
        compare_runs(pairs, n_resamples=2000)  # 6 tests need 2400
    assert compare_runs(pairs, n_resamples=2400)[0]["n_resamples"] == 2400
    # McNemar only: resamples only make CIs, any number is allowed
    acc_only = [p for p in pairs if p.metric == "acc"]
    assert compare_runs(acc_only, n_resamples=200)[0]["test"].startswith("mcnemar")


def test_duplicate_records_are_an_error():
    base = [_log(i, {"acc": 1.0}) for i in range(5)]
    twice = base + [_log(3, {"acc": 0.0})]
    with pytest.raises(NerprobeError, match=r"tuned run logged document 3 twice under filter 'none'") as err:
        pair_records(item_records("t", base), item_records("t", twice))
    assert "\n" not in str(err.value)


def test_a_metric_is_binary_by_definition_not_by_its_values():
    zeros_ones = [0, 1, 1, 0, 1] * 8
    for metric, binary in (("acc", True), ("exact_match", True), ("f1", False), ("my_score", False)):
        (pair,) = _pairs(zeros_ones, zeros_ones[::-1], metric)
        assert pair.binary is binary, metric
        (row,) = compare_runs([pair])
        assert row["test"].startswith("mcnemar") if binary else row["test"] == "paired-bootstrap"
    # a name that says binary with values that are not 0/1 is tested as graded
    (pair,) = _pairs([0.5, 1, 0] * 10, [1, 1, 0] * 10, "exact_match")
    assert not pair.binary


def test_numbers_are_compared_as_numbers():
    assert normalize_answer("1,000") == normalize_answer("1000") == normalize_answer("1000.00") == "1000"
    assert normalize_answer("$18.") == "18" and normalize_answer("0.50") == "0.5"
    assert normalize_answer(" New York! ") == "new york"
    assert not contains_answer("She has 12 apples.", "2")
    assert contains_answer("In total $1,000.", "1000") and contains_answer("1000 apples", "1,000")
    assert not contains_answer("version 1.2", "2") and not contains_answer("a2b", "2")
    assert contains_answer("The answer is 42.", "42") and contains_answer("it is New York.", "new york")
    assert not contains_answer("Newark", "new")


def test_chance_is_the_expectation_over_shuffled_golds():
    rng = np.random.default_rng(4)
    golds = [str(x) for x in rng.integers(0, 6, size=40)]
    answers = [g if rng.random() < 0.5 else str(rng.integers(0, 6)) for g in golds]
    eq = equality_with_chance(answers, golds)
    shuffled = []
    for _ in range(3000):
        perm = rng.permutation(40)
        keep = perm != np.arange(40)
        shuffled.append(np.mean([answers[i] == golds[j] for i, j in zip(np.arange(40)[keep], perm[keep])]))
    assert eq["chance"] == pytest.approx(np.mean(shuffled), abs=0.01)
    texts = [f"so {a} in all, not {rng.integers(0, 6)}" for a in answers]
    con = containment_with_chance(texts, golds)
    brute = np.mean([contains_answer(texts[i], golds[j]) for i in range(40) for j in range(40) if i != j])
    assert con["chance"] == pytest.approx(brute) and con["share"] == pytest.approx(
        np.mean([contains_answer(t, g) for t, g in zip(texts, golds)]))


def test_gsm8k_other_items_solutions_rarely_contain_the_gold(data_dir):
    """On real GSM8K: another item's full solution "contains" the gold by plain substring often (the old check);
    as a whole number less often, and the filtered answer almost never equals another item's gold."""
    items = [json.loads(line) for line in (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[:400]]
    solutions = [it["answer"] for it in items]
    golds = [gold_answer(s) for s in solutions]
    n = len(items)
    plain = np.mean([golds[j] in solutions[i] for i in range(n) for j in range(n) if i != j])
    con = containment_with_chance(solutions, golds)
    assert con["share"] == 1.0
    # measured on these 400: plain substring 18.3%, whole numbers 9.4% (solutions are full of numbers: hence the
    # chance level is reported next to the share, never the share alone)
    assert plain > 0.1 and 0 < con["chance"] < 0.6 * plain, (plain, con["chance"])
    records = [{"doc_id": i, "filter": "strict-match", "response": s, "target": s,
                "filtered": re.search(r"#### (\S+)", s).group(1)} for i, s in enumerate(solutions)]
    form = answer_form(records)
    strict = form["filters"]["strict-match"]
    assert strict["share"] == 1.0 and strict["chance"] < 0.02
    assert form["gold_in_answer"]["chance"] == pytest.approx(con["chance"])
