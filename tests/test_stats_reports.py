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
    assert "context-only: original vs unseen-entities †" in md and "not in the declared family" in md
    row = next(r for r in t.rows if r[0].endswith("†"))
    assert row[4] == "-" and row[5] == "-"  # no p, no Holm p
    said = findings.memorization_findings([memorization_run])
    ctx = next(s for s in said if s.startswith("When") and "context-only" in s)
    assert "not one of the run's declared tests" in ctx and "significant" not in ctx
    lookup = next(s for s in said if s.startswith("When") and "lookup" in s)
    assert "Holm p =" in lookup and "significant at 0.05" in lookup


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
    said = findings.retention_findings(runs)
    assert "1 retained (95% CI within ±2 points) and 0 inconclusive" in said[0]
    assert "0 retained (95% CI within ±2 points) and 1 inconclusive" in said[1]


def test_retention_figure_shows_the_margin(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from nerprobe.reports.figures import fig_retention_forest

    caption, paths, _ = fig_retention_forest([_retention_run(5000, 25)], tmp_path, plt, sns)
    assert "margin ±2 points" in caption and "'retained'" in caption
    assert paths and all(Path(p).is_file() for p in paths.values())
