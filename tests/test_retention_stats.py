"""Retention without a model: pairing of lm-eval sample logs, the paired tests against statsmodels/scipy, subsets,
answer form, demo task data and the local task YAMLs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests

from nerprobe.errors import InputError, NerprobeError
from nerprobe.retention.answers import answer_form, gold_answer, is_bare_span
from nerprobe.retention.compare import compare_runs
from nerprobe.retention.harness import seeded_subset
from nerprobe.retention.pairing import item_records, pair_records
from nerprobe.retention import suite


def _log(doc_id, metrics, filt="none", response=None, target="gold", doc_hash=None):
    """One record shaped like lm-eval's logged sample (evaluator.evaluate, log_samples=True)."""
    rec = {
        "doc_id": doc_id,
        "doc": {"q": f"question {doc_id}"},
        "target": target,
        "arguments": [("prompt", {})],
        "resps": [[response]] if response is not None else [[(-1.0, False)]],
        "filtered_resps": [response] if response is not None else [(-1.0, False)],
        "filter": filt,
        "metrics": list(metrics),
        "doc_hash": doc_hash or f"h{doc_id}",
        "prompt_hash": f"p{doc_id}",
        "target_hash": "t",
    }
    rec.update(metrics)
    return rec


def _hand_made_logs(seed=3, n=40):
    rng = np.random.default_rng(seed)
    base_acc = rng.random(n) < 0.6
    tuned_acc = np.where(rng.random(n) < 0.3, ~base_acc, base_acc)
    base_f1, tuned_f1 = rng.random(n), np.clip(rng.random(n) + 0.1, 0, 1)
    base = [_log(i, {"acc": float(base_acc[i]), "f1": float(base_f1[i])}) for i in range(n)]
    tuned = [_log(i, {"acc": float(tuned_acc[i]), "f1": float(tuned_f1[i])}) for i in range(n)]
    tuned = [tuned[i] for i in rng.permutation(n)]  # lm-eval's order is not a contract: pairing goes by doc_id
    return base, tuned, base_acc, tuned_acc, base_f1, tuned_f1


def test_pairing_matches_documents_not_positions():
    base, tuned, base_acc, tuned_acc, base_f1, tuned_f1 = _hand_made_logs()
    pairs = pair_records(item_records("t", base, "multiple_choice"), item_records("t", tuned, "multiple_choice"))
    by_metric = {p.metric: p for p in pairs}
    assert set(by_metric) == {"acc", "f1"}
    np.testing.assert_array_equal(by_metric["acc"].tuned, tuned_acc.astype(float))
    np.testing.assert_array_equal(by_metric["f1"].base, base_f1)
    assert by_metric["acc"].binary and not by_metric["f1"].binary


def test_mcnemar_bootstrap_and_holm_agree_with_statsmodels_and_scipy():
    base, tuned, base_acc, tuned_acc, base_f1, tuned_f1 = _hand_made_logs()
    pairs = pair_records(item_records("t", base), item_records("t", tuned))
    rows = {r["metric"]: r for r in compare_runs(pairs, n_resamples=10000, seed=0)}

    table = [[np.sum(base_acc & tuned_acc), np.sum(base_acc & ~tuned_acc)],
             [np.sum(~base_acc & tuned_acc), np.sum(~base_acc & ~tuned_acc)]]
    assert rows["acc"]["p"] == pytest.approx(sm_mcnemar(table, exact=True).pvalue)
    assert rows["acc"]["difference"] == pytest.approx(tuned_acc.mean() - base_acc.mean())

    assert rows["f1"]["test"] == "paired-bootstrap"
    ref = sps.bootstrap((base_f1, tuned_f1), lambda a, b: np.mean(b - a), paired=True, vectorized=False,
                        n_resamples=10000, method="percentile", random_state=0).confidence_interval
    assert rows["f1"]["low"] == pytest.approx(ref.low, abs=0.02)
    assert rows["f1"]["high"] == pytest.approx(ref.high, abs=0.02)

    ps = [r["p"] for r in rows.values()]
    expected = multipletests(ps, method="holm")[1]
    assert [r["p_holm"] for r in rows.values()] == pytest.approx(list(expected))


def test_graded_metric_stays_continuous_and_verdict_follows_holm():
    base = [_log(i, {"f1": 0.0, "exact_match": 0.0}) for i in range(30)]
    tuned = [_log(i, {"f1": 1.0, "exact_match": 1.0}) for i in range(30)]
    rows = {r["metric"]: r for r in compare_runs(pair_records(item_records("t", base), item_records("t", tuned)),
                                                  n_resamples=2000)}
    assert rows["f1"]["test"] == "paired-bootstrap"
    assert rows["exact_match"]["test"].startswith("mcnemar")
    assert rows["exact_match"]["verdict"] == "better" and rows["f1"]["verdict"] == "better"
    worse = compare_runs(pair_records(item_records("t", tuned), item_records("t", base)), n_resamples=2000)
    assert {r["verdict"] for r in worse} == {"worse"}


def test_filters_pair_separately():
    base = [_log(i, {"exact_match": 1.0}, filt=f) for i in range(5) for f in ("strict", "flex")]
    tuned = [_log(i, {"exact_match": float(f == "flex")}, filt=f) for i in range(5) for f in ("strict", "flex")]
    rows = {r["filter"]: r for r in compare_runs(pair_records(item_records("t", base), item_records("t", tuned)),
                                                  n_resamples=500)}
    assert rows["strict"]["difference"] == -1.0 and rows["flex"]["difference"] == 0.0


def test_runs_over_different_documents_are_refused():
    base = [_log(i, {"acc": 1.0}) for i in range(5)]
    with pytest.raises(NerprobeError, match="different items"):
        pair_records(item_records("t", base), item_records("t", base[:4]))
    changed = [_log(i, {"acc": 1.0}, doc_hash="x" if i == 2 else None) for i in range(5)]
    with pytest.raises(NerprobeError, match="document 2 differs"):
        pair_records(item_records("t", base), item_records("t", changed))


def test_seeded_subset_is_sorted_reproducible_and_not_the_first_items():
    a, b = seeded_subset(1319, 20, seed=0), seeded_subset(1319, 20, seed=0)
    assert a == b == sorted(a) and len(set(a)) == 20
    assert a != list(range(20))
    assert seeded_subset(1319, 20, seed=1) != a
    assert seeded_subset(10, 20, seed=0) is None and seeded_subset(10, None, seed=0) is None


def test_answer_form_tells_length_from_content():
    long_with_gold = [{"doc_id": i, "response": "The answer, after reading the passage, is 42 apples.", "target": "42"}
                      for i in range(4)]
    bare_wrong = [{"doc_id": i, "response": " 17\n", "target": "42"} for i in range(4)]
    f_long, f_bare = answer_form(long_with_gold), answer_form(bare_wrong)
    assert f_long["bare_span_share"] == 0.0 and f_long["gold_in_answer"]["share"] == 1.0 and f_long["mean_words"] == 9
    assert f_bare["bare_span_share"] == 1.0 and f_bare["gold_in_answer"]["share"] == 0.0 and f_bare["mean_words"] == 1
    assert answer_form([{"doc_id": 0, "response": None, "target": "x"}]) is None
    assert gold_answer("step one\n#### 1,200") == "1,200"
    assert is_bare_span("New York") and not is_bare_span("one two three four five six")


def test_demo_task_items_come_from_the_demo_corpus(tmp_path):
    import json

    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.retention.demo_tasks import write_demo_task_data

    write_demo_task_data(tmp_path)
    demo = make_demo_corpus(seed=0)
    mc = [json.loads(x) for x in (tmp_path / "demo_entity_type.test.jsonl").read_text().splitlines()]
    assert len(mc) == sum(len(s.entities) for s in demo.test)
    for item in mc[:20]:
        assert item["mention"] in item["sentence"] and 0 <= item["answer"] < len(item["choices"])
    comp = [json.loads(x) for x in (tmp_path / "demo_completion.test.jsonl").read_text().splitlines()]
    assert comp and all(c["prefix"] and c["target"] for c in comp)
    texts = {s.text for s in demo.test}
    assert all(any(t.startswith(c["prefix"] + " " + c["target"]) for t in texts) for c in comp[:20])


def test_local_task_yamls_resolve_to_real_files(tmp_path, data_dir):
    from lm_eval.tasks import TaskManager

    tasks = ["local_mmlu", "local_gsm8k"]
    suite.check_local_data(tasks, data_dir)
    d = suite.write_task_dir(tasks, tmp_path / "tasks", data_dir, tmp_path / "data")
    assert "@DATA_DIR@" not in (d / "local_mmlu.yaml").read_text()
    loaded = TaskManager(include_path=str(d), include_defaults=False).load(tasks)["tasks"]
    assert len(loaded["local_mmlu"].eval_docs) == 14042  # PROVENANCE.md: 14,042 test questions
    assert len(loaded["local_gsm8k"].eval_docs) == 1319
    with pytest.raises(InputError, match="local_mmlu needs this file") as err:
        suite.check_local_data(tasks, tmp_path / "nowhere")
    assert err.value.field == "data_dir"  # the CLI names --data-dir


def test_retention_rows_are_the_shared_comparison_type():
    """Issue 10 structure: retention and memorization share one Comparison (retention adds its own facts)."""
    import numpy as np

    from nerprobe.analysis.estimates import Comparison
    from nerprobe.retention.compare import compare_runs
    from nerprobe.retention.pairing import PairedMetric

    rng = np.random.default_rng(0)
    base, tuned = rng.integers(0, 2, 200).astype(float), rng.integers(0, 2, 200).astype(float)
    pair = PairedMetric("t", "acc", "none", list(range(200)), base, tuned, binary_by_task=True)
    (row,) = compare_runs([pair])
    c = Comparison.from_dict(row)
    assert (c.a, c.b, c.kind) == ("base", "tuned", "retention") and c.difference == pytest.approx(tuned.mean() - base.mean())
    assert c.low <= c.difference <= c.high and c.p_holm == row["p_holm"] and c.reject == (row["p_holm"] < 0.05)
    assert row["verdict"] in ("worse", "better", "retained", "inconclusive")
