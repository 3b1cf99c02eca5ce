"""Tidy tables (pandas DataFrames) of the numbers in loaded runs: the one place that knows the JSON layouts.

Every row of a number carries ``estimate``, ``low``, ``high`` (fractions; CI bounds None when there is none) and the
``signature`` that says how it was computed. Figures and tables draw from these frames only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nerprobe.analysis.significance import signature as make_signature
from nerprobe.reports.runs import MEMORIZATION, RETENTION, Run

F1_PROBES = ("coverage", "unseen-entities", "swapped-labels-symbols-defs", "swapped-labels-symbols",
             "swapped-labels-permuted")
PROBE_TITLES = {
    "coverage": "original",
    "unseen-entities": "unseen entities",
    "swapped-labels-symbols-defs": "symbols + defs",
    "swapped-labels-symbols": "symbols",
    "swapped-labels-permuted": "permuted labels",
}
STRATA = ("seen_same", "seen_other", "unseen")
STRATUM_TITLES = {"seen_same": "seen, same label", "seen_other": "seen, other label", "unseen": "unseen"}


def memorization_runs(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.kind == MEMORIZATION]


def retention_runs(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.kind == RETENTION]


def system_labels(runs: list[Run]) -> dict[str, str]:
    """Run name → the suffix that tells its predictors apart: nothing for one memorization run, the format when
    the runs differ by format, else the run name."""
    mem = memorization_runs(runs)
    if len(mem) <= 1:
        return {r.name: "" for r in mem}
    formats = [r.format_name for r in mem]
    if len(set(formats)) == len(formats):
        return {r.name: str(r.format_name) for r in mem}
    return {r.name: r.name for r in mem}


def _system(pred: str, suffix: str) -> str:
    return f"{pred} [{suffix}]" if suffix else pred


def _ci_row(d: dict | None) -> dict:
    """An estimate's columns; reads ``value`` (estimates with a ``reason`` when n/a) or the older ``estimate``."""
    d = d if isinstance(d, dict) else {}
    return {"estimate": d.get("value", d.get("estimate")), "low": d.get("low"), "high": d.get("high"),
            "n": d.get("n"), "signature": d.get("signature"), "reason": d.get("reason")}


def _f1(s: dict) -> dict | None:
    """A probe score's micro F1 with its CI: ``f1_ci``, or ``f1`` where that is an estimate (newer runs)."""
    if isinstance(s.get("f1_ci"), dict):
        return s["f1_ci"]
    return s["f1"] if isinstance(s.get("f1"), dict) else None


def probe_f1(runs: list[Run]) -> pd.DataFrame:
    """One row per (run, predictor, span probe): micro F1 with its bootstrap CI, P, R and the parse statuses."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        for pred, by_probe in r.scores.items():
            for probe in F1_PROBES:
                s = by_probe.get(probe)
                if not s or _f1(s) is None:
                    continue
                status = s.get("parse_status", {})
                total = sum(status.values()) or None
                rows.append({"run": r.name, "format": r.format_name, "predictor": pred,
                             "system": _system(pred, labels[r.name]), "probe": probe,
                             "probe_title": PROBE_TITLES[probe], **_ci_row(_f1(s)),
                             "precision": s.get("precision"), "recall": s.get("recall"),
                             "failed_share": (status.get("failed", 0) / total) if total else None})
    return pd.DataFrame(rows)


def strata_recall(runs: list[Run]) -> pd.DataFrame:
    """Recall of the original test mentions by coverage stratum (seen with the same label, seen with another,
    unseen), per predictor, with CIs; a stratum without gold mentions has no estimate (n/a, with the reason)."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        for pred, by_probe in r.scores.items():
            for stratum, st in (by_probe.get("coverage", {}).get("strata") or {}).items():
                rows.append({"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name]),
                             "stratum": stratum, "stratum_title": STRATUM_TITLES.get(stratum, stratum),
                             "gold": st.get("gold"), **_ci_row(st.get("recall") if st.get("gold") else
                                                              {"reason": "no test mention in this stratum"})})
    return pd.DataFrame(rows)


def type_swaps(runs: list[Run]) -> pd.DataFrame:
    """Context-following and memorized-label rates under type swaps, per predictor, with CIs."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        for pred, by_probe in r.scores.items():
            ts = by_probe.get("type-swaps")
            if not ts or not ts.get("n"):
                continue
            for key, title in (("context_following", "context label"), ("memory_following", "memorized label")):
                rows.append({"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name]),
                             "rate": key, "rate_title": title, **_ci_row(ts.get(key))})
    return pd.DataFrame(rows)


def pair_lookup(runs: list[Run]) -> pd.DataFrame:
    """Accuracy on entities alone vs in context, for training and held-out entities, per predictor, with CIs."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        for pred, by_probe in r.scores.items():
            pl = by_probe.get("pair-lookup")
            if not pl:
                continue
            for group in ("train", "heldout"):
                for mode in ("alone", "in_context"):
                    d = pl.get(f"{group}_{mode}") or (pl.get("arms") or {}).get(f"{group}_{mode}") or {}
                    if not d.get("n"):
                        continue
                    rows.append({"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name]),
                                 "group": group, "mode": mode,
                                 "condition": f"{'training' if group == 'train' else 'held-out'} entity, "
                                              f"{'alone' if mode == 'alone' else 'in context'}", **_ci_row(d)})
    return pd.DataFrame(rows)


def memorization_comparisons(runs: list[Run]) -> pd.DataFrame:
    """The paired comparisons of each memorization run (difference b − a with CI, p, Holm p, significance;
    ``in_family`` False for an estimate outside the run's declared family, which has no p)."""
    rows = []
    for r in memorization_runs(runs):
        for c in r.stats.get("comparisons", []):
            lo, hi = (c.get("ci_difference") or [None, None])[:2]
            rows.append({"run": r.name, "name": c["name"], "kind": c.get("kind"), "metric": c.get("metric"),
                         "score_a": c.get("score_a"), "score_b": c.get("score_b"), "estimate": c.get("difference"),
                         "low": lo, "high": hi, "p": c.get("p_value"), "p_holm": c.get("p_holm"),
                         "reject": bool(c.get("reject")), "n": c.get("n_items"), "signature": c.get("signature"),
                         "in_family": bool(c.get("in_family", True)),  # older runs tested every comparison
                         "holm_signature": r.stats.get("holm", {}).get("signature")})
    return pd.DataFrame(rows)


def memorization_summary(runs: list[Run]) -> pd.DataFrame:
    """Per predictor: the memorization indicators (F1 drop, memorized-label rate, pair-lookup gain) with CIs and
    the mean position between the context-only end (0) and the memorizer end (1)."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        comps = {c.get("predictor"): c for c in r.stats.get("comparisons", []) if c.get("kind") == "original_vs_unseen"}
        for pred, s in (r.stats.get("summary") or {}).items():
            row = {"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name]),
                   "mean_position": s.get("mean_position")}
            for key in ("f1_drop", "memory_following", "pair_lookup_gain"):
                d = s.get(key)
                if d is None:
                    continue
                sig = d.get("signature")
                if key == "f1_drop" and pred in comps:
                    sig = comps[pred].get("signature")  # the drop is the negated paired-bootstrap difference
                if key == "pair_lookup_gain":
                    sig = make_signature(metric="accuracy(train,alone)-accuracy(heldout,alone)", ci="none")
                row[key] = {**_ci_row(d), "signature": sig}
            rows.append(row)
    return pd.DataFrame(rows)


def retention_rows(runs: list[Run]) -> pd.DataFrame:
    """One row per (retention run, adapter, task, metric, filter): base, tuned, Δ with CI, p, Holm p, verdict."""
    rows = []
    for r in retention_runs(runs):
        for key, comp in (r.stats.get("comparisons") or {}).items():
            for row in comp.get("rows", []):
                metric = row["metric"] if row.get("filter") in (None, "none") else f"{row['metric']} ({row['filter']})"
                rows.append({"run": r.name, "adapter": key, "fingerprint": r.manifest.get("fingerprints", {}).get(key),
                             "task": row["task"], "metric": metric, "n": row.get("n"), "base": row.get("base"),
                             "tuned": row.get("tuned"), "estimate": row.get("delta"), "low": row.get("ci_low"),
                             "high": row.get("ci_high"), "p": row.get("p"), "p_holm": row.get("p_holm"),
                             "test": row.get("test"), "verdict": row.get("verdict"), "margin": row.get("margin"),
                             "reject": row.get("p_holm", 1.0) < row.get("alpha", 0.05),
                             "signature": row.get("ci_signature"), "test_signature": row.get("signature"),
                             "holm_signature": row.get("holm_signature")})
    return pd.DataFrame(rows)


def learning_forgetting(runs: list[Run]) -> pd.DataFrame:
    """Per adapter found in both kinds of runs (matched by the model fingerprint): the NER F1 gain over its base
    (tuned − base on the original test sentences, paired bootstrap CI) and the mean retention Δ over its tasks."""
    ret = retention_rows(runs)
    rows = []
    for r in memorization_runs(runs):
        fp = r.fingerprint("model")
        gain = next((c for c in r.stats.get("comparisons", []) if c.get("kind") == "tuned_vs_base"
                     and c.get("probe") == "coverage"), None)
        if not fp or gain is None or ret.empty:
            continue
        mine = ret[ret["fingerprint"] == fp]
        if mine.empty:
            continue
        lo, hi = gain["ci_difference"]
        rows.append({"run": r.name, "format": r.format_name, "adapter": mine["adapter"].iloc[0],
                     "gain": gain["difference"], "gain_low": lo, "gain_high": hi,
                     "gain_signature": gain.get("signature"),
                     "forgetting": float(np.mean(mine["estimate"])), "forgetting_min": float(mine["estimate"].min()),
                     "forgetting_max": float(mine["estimate"].max()), "n_tasks": int(len(mine)),
                     "n_worse": int((mine["verdict"] == "worse").sum())})
    return pd.DataFrame(rows)
