"""What the report says about the declared family and the retention verdicts, from real statistics (no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nerprobe.reports import findings, tables
from nerprobe.reports.runs import Run
from nerprobe.retention.compare import compare_runs
from nerprobe.retention.pairing import item_records, pair_records
from test_retention_stats import _log


@pytest.fixture(scope="module")
def memorization_run(tmp_path_factory):
    from nerprobe.memorization.config import MemorizationConfig
    from nerprobe.memorization.run import run_memorization

    out = tmp_path_factory.mktemp("mem")
    res = run_memorization(MemorizationConfig(model="lookup", out=out, progress=False,
                                              probes=("coverage", "unseen-entities")), log=lambda m: None)
    return Run(Path(out), "memorization", res["manifest"], res["stats"], res["scores"], "mem")


def test_estimates_outside_the_family_are_marked_and_not_called_tests(memorization_run):
    t = tables.comparisons_table([memorization_run])
    md = t.markdown()
    assert "context-only vs form-only: replacement memory effect †" in md and "not in the declared family" in md
    row = next(r for r in t.rows if r[0].endswith("†"))
    assert row[4] == "-" and row[5] == "-"  # no p, no Holm p
    tested = next(r for r in t.rows if r[0] == "lookup vs form-only: replacement memory effect")
    assert tested[3].endswith("*") and tested[5] != "-"
    said = findings.findings([memorization_run])
    assert len(said) == 1 and said[0].startswith("Of 1 declared test of the lookup memorizer")
    assert "Holm p =" in said[0] and "significant after Holm's correction" in said[0]


def test_na_cells_say_n_a_and_give_the_reason(memorization_run):
    t = tables.indicators_table([memorization_run])
    col = t.columns.index("do-nothing")
    assert all(r[col].startswith("n/a (") for r in t.rows)  # nothing found: every indicator n/a, never 0
    assert any(n.startswith("(1) n/a: too little support") and "do-nothing" in n for n in t.notes)
    assert "position" not in " ".join(t.columns)
    head = findings.headline_table([memorization_run])
    assert [r[2] for r in head.rows] == ["replacement memory effect"]  # the memory indicators of the subject
    assert head.rows[0][head.columns.index("do-nothing")].startswith("n/a (")


def _comparison(name, a, b, diff, p_holm, reject, indicator="memory_share"):
    return {"name": name, "kind": "tuned_vs_base" if a == "baseline" else "beyond_form", "metric": "m", "a": a,
            "b": b, "value_a": 0.1, "value_b": 0.1 + diff, "difference": diff, "low": diff - 0.05,
            "high": diff + 0.05, "n": 50, "p": p_holm, "p_method": "x", "p_holm": p_holm, "reject": reject,
            "in_family": True, "signature": "metric:m|nerprobe:0", "reason": None,
            "about": {"indicator": indicator, "probe": "type-swaps"}}


def _fake_memorization_run(comparisons, name="mem"):
    est = {"value": 0.5, "low": 0.4, "high": 0.6, "n": 50, "signature": "s", "reason": None, "conditioned_on": "x"}
    specs = [{"probe": "type-swaps", "name": "memory_share", "title": "t", "conditioned_on": "x", "memory": True,
              "between": False}, {"probe": "pair-lookup", "name": "lookup_gain_alone", "title": "t",
                                  "conditioned_on": "x", "memory": True, "between": False}]
    preds = ("model", "baseline", "form-only")
    stats = {"indicator_specs": specs, "indicators": {p: {s["name"]: est for s in specs} for p in preds},
             "comparisons": comparisons, "roles": {"model": "subject", "baseline": "base", "form-only": "control"},
             "holm": {"n": len(comparisons), "signature": "test:holm"}}
    return Run(Path("."), "memorization", {"kind": "memorization"}, stats, {p: {} for p in preds}, name)


def test_findings_name_the_largest_change_in_both_directions_and_never_a_zero_as_a_fall():
    run = _fake_memorization_run([_comparison("a", "baseline", "model", 0.30, 0.001, True),
                                  _comparison("b", "form-only", "model", -0.12, 0.04, True),
                                  _comparison("c", "baseline", "model", -0.02, 0.5, False, "lookup_gain_alone"),
                                  _comparison("d", "form-only", "model", 0.0001, 0.9, False, "lookup_gain_alone")])
    said = findings.findings([run])[0]
    assert "the largest rise is memory share against baseline: +30.0 [+25.0, +35.0] points (Holm p = 0.001)" in said
    assert "the largest fall memory share against form-only: -12.0 [-17.0, -7.0] points (Holm p = 0.04)" in said
    assert "2 are significant" in said
    zero = _fake_memorization_run([_comparison("a", "baseline", "model", 0.30, 0.001, True),
                                   _comparison("d", "form-only", "model", -0.0001, 0.9, False)])
    said = findings.findings([zero])[0]
    assert "none fell" in said and "-0.0" not in said and "+0.0" not in said


def test_findings_are_at_most_five_sentences_largest_effect_first():
    runs = [_fake_memorization_run([_comparison("a", "baseline", "model", d, 0.01, True)], f"m{i}")
            for i, d in enumerate((0.05, 0.4, 0.1, 0.3, 0.2, 0.6, 0.01))]
    said = findings.findings(runs)
    assert len(said) == findings.MAX_SENTENCES
    rises = [float(s.split("against baseline: ")[1].split(" ")[0]) for s in said]
    assert rises == sorted(rises, reverse=True) == [60.0, 40.0, 30.0, 20.0, 10.0]


def _retention_run(n, n_flips, seed=0):
    """base vs tuned on ``n`` items, ``n_flips`` right answers lost and as many gained (no change on balance)."""
    rng = np.random.default_rng(seed)
    base = rng.random(n) < 0.6
    tuned = base.copy()
    tuned[rng.choice(np.flatnonzero(base), n_flips, replace=False)] = False
    tuned[rng.choice(np.flatnonzero(~base), n_flips, replace=False)] = True
    rows = compare_runs(pair_records(item_records("t", [_log(i, {"acc": float(v)}) for i, v in enumerate(base)]),
                                     item_records("t", [_log(i, {"acc": float(v)}) for i, v in enumerate(tuned)])))
    stats = {"comparisons": {"ad": {"base": "base", "tuned": "ad", "rows": rows}}}
    return Run(Path("."), "retention", {"kind": "retention", "fingerprints": {}}, stats, {}, f"ret{n}")


def test_retention_table_and_findings_say_which_verdict_and_why():
    runs = [_retention_run(5000, 25), _retention_run(20, 2, seed=1)]
    t = tables.retention_table(runs)
    verdicts = [r[t.columns.index("verdict")] for r in t.rows]
    assert verdicts == ["retained", "inconclusive"]
    assert any("retained = not significant and the 95% CI of Δ within ±2 points" in n for n in t.notes)
    said = [f.text for f in findings.retention_findings(runs)]
    assert "1 retained (95% CI within ±2 points) and 0 inconclusive" in said[0]
    assert "0 retained (95% CI within ±2 points) and 1 inconclusive" in said[1]


def test_retention_findings_name_the_largest_drop_and_rise():
    rows = [{"task": t, "metric": "acc", "filter": "none", "n": 100, "base": 0.5, "tuned": 0.5 + d, "delta": d,
             "ci_low": d - 0.02, "ci_high": d + 0.02, "p": 0.01, "p_holm": 0.03, "test": "mcnemar-exact",
             "verdict": "worse" if d < 0 else "better" if d > 0 else "retained", "margin": 2.0}
            for t, d in (("mmlu", 0.30), ("arc", -0.05), ("hella", 0.0))]
    run = Run(Path("."), "retention", {"kind": "retention", "fingerprints": {}},
              {"comparisons": {"ad": {"rows": rows}}}, {}, "ret")
    said = findings.findings([run])[0]
    assert "the largest drop is arc (acc): -5.0 [-7.0, -3.0] points" in said
    assert "the largest rise mmlu (acc): +30.0 [+28.0, +32.0] points" in said
    rows = [r for r in rows if r["task"] != "arc"]
    said = findings.findings([Run(Path("."), "retention", {"kind": "retention", "fingerprints": {}},
                                  {"comparisons": {"ad": {"rows": rows}}}, {}, "ret")])[0]
    assert "no score fell" in said and "largest drop" not in said  # +0.0 is not a drop


def test_retention_figure_shows_the_margin(tmp_path):
    import matplotlib.pyplot as plt

    from nerprobe.reports.figures import draw

    drawn = draw("retention-forest", [_retention_run(5000, 25)], "full")
    try:
        assert "margin ±2 points" in drawn.caption and "'retained'" in drawn.caption
        assert any(t.get_text() == "±2 points" for t in drawn.fig.legends[0].get_texts())
    finally:
        plt.close(drawn.fig)
