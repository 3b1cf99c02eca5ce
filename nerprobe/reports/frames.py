"""Tidy tables (pandas DataFrames) of the numbers in loaded runs: the one place that knows the JSON layouts.

Every row of a number carries ``estimate``, ``low``, ``high`` (fractions; CI bounds None when there is none) and the
``signature`` that says how it was computed. Figures and tables draw from these frames only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nerprobe.probes import registry
from nerprobe.probes.coverage import STRATA as coverage_strata
from nerprobe.reports.runs import MEMORIZATION, RETENTION, Run

SET_TITLES = {
    "coverage": "original",
    "unseen-entities": "unseen names",
    "seen-replacements": "other training names",
    "swapped-labels-symbols-defs": "symbols + defs",
    "swapped-labels-symbols": "symbols",
    "swapped-labels-permuted": "permuted labels",
}
"""Short display names of the probe sets whose span F1 the reports show (the sets come from the registry)."""
F1_PROBES = tuple(s for s in registry.set_names(list(registry.PROBES)) if s in SET_TITLES)
"""The probe sets of the F1 table and figure, in registry order (type swaps and pair lookup have their own)."""
PROBE_TITLES = SET_TITLES
STRATA = coverage_strata
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


def _roles(r: Run) -> dict[str, str]:
    """Predictor → role of a memorization run (``subject``, ``base``, ``control``): the run's ``roles``, else the
    manifest's, else by name for runs written before either."""
    roles = r.stats.get("roles") or {p: (d or {}).get("role") for p, d in (r.manifest.get("predictors") or {}).items()
                                     if isinstance(d, dict)}
    out = {}
    for p in r.scores or r.stats.get("indicators") or {}:
        out[p] = roles.get(p) or ("base" if p == "baseline" else "subject" if p == "model" else "control")
    return out


def subjects(r: Run) -> list[str]:
    """The subjects of a memorization run (the tuned model, named adapters, or the lookup memorizer run as one)."""
    return [p for p, role in _roles(r).items() if role == "subject"]


def base_of(r: Run) -> str | None:
    """The base predictor of a memorization run, or None when it ran without one."""
    return next((p for p, role in _roles(r).items() if role == "base"), None)


def indicator_specs(runs: list[Run]) -> list[dict]:
    """Every indicator the memorization runs declare (``indicator_specs`` of their stats), each once, in the order
    of the first run that has it: ``{probe, name, title, conditioned_on, memory, between}``."""
    seen: dict[str, dict] = {}
    for r in memorization_runs(runs):
        for spec in r.stats.get("indicator_specs") or []:
            seen.setdefault(spec["name"], spec)
    return list(seen.values())


def indicator_title(name: str) -> str:
    """The short display name of an indicator (``memory_share`` → ``memory share``)."""
    return str(name).replace("_", " ")


def indicators(runs: list[Run]) -> pd.DataFrame:
    """One row per (run, predictor, indicator): the estimate with its CI and support, ``estimate`` None when n/a
    with the ``reason``; the indicator's probe, title, what it is conditioned on, whether it is a memory indicator,
    and the predictor's role."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        roles = _roles(r)
        specs = {s["name"]: s for s in r.stats.get("indicator_specs") or []}
        for pred, by in (r.stats.get("indicators") or {}).items():
            for name, spec in specs.items():
                d = by.get(name) if isinstance(by.get(name), dict) else {"reason": "not computed for this predictor"}
                rows.append({"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name]),
                             "role": roles.get(pred, "control"), "probe": spec.get("probe"), "indicator": name,
                             "indicator_title": indicator_title(name), "title": spec.get("title"),
                             "conditioned_on": d.get("conditioned_on") or spec.get("conditioned_on"),
                             "memory": bool(spec.get("memory")), "between": bool(spec.get("between")),
                             **_ci_row(d)})
    return pd.DataFrame(rows)


def beyond_form(runs: list[Run]) -> pd.DataFrame:
    """One row per (run, predictor, memory indicator): the predictor minus the form-only control on the same units
    (difference with its paired CI; an estimate, not a test; None with the reason when either side is n/a)."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        for pred, by in (r.stats.get("beyond_form") or {}).items():
            for name, c in by.items():
                rows.append({"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name]),
                             "indicator": name, "estimate": c.get("difference"), "low": c.get("low"),
                             "high": c.get("high"), "n": c.get("n"), "signature": c.get("signature"),
                             "reason": c.get("reason"), "control": c.get("a")})
    return pd.DataFrame(rows)


SWAP_OUTCOMES = {"context": "context label", "memory": "memorized label", "other": "other label",
                 "missed": "missed"}
"""Outcomes of a swapped span (``counts`` of the type-swaps scores) and their display names."""


def type_swaps(runs: list[Run]) -> pd.DataFrame:
    """Per predictor: the memory share indicator (memorized / (memorized + context) label, with its CI; n/a with
    the reason without support), ``rate`` "memory_share", and the share of swapped spans per outcome (context label,
    memorized label, other label, missed: counts, no CI), ``rate`` the outcome."""
    rows = []
    labels = system_labels(runs)
    ind = indicators(runs)
    for r in memorization_runs(runs):
        for pred, by_probe in r.scores.items():
            ts = by_probe.get("type-swaps")
            if not ts:
                continue
            base = {"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name])}
            mine = ind[(ind["run"] == r.name) & (ind["predictor"] == pred) & (ind["indicator"] == "memory_share")] \
                if not ind.empty else ind
            if not mine.empty:
                m = mine.iloc[0]
                rows.append({**base, "rate": "memory_share", "rate_title": "memory share", "count": None,
                             **{k: m[k] for k in ("estimate", "low", "high", "n", "signature", "reason")}})
            counts = ts.get("counts") or {}
            total = sum(int(v) for v in counts.values())
            for key, title in SWAP_OUTCOMES.items():
                if key in counts:
                    rows.append({**base, "rate": key, "rate_title": title, "count": int(counts[key]),
                                 "estimate": counts[key] / total if total else None, "low": None, "high": None,
                                 "n": total, "signature": None, "reason": None if total else "no swapped span"})
    return pd.DataFrame(rows)


PAIR_ARMS = {"train_alone": "training name, alone", "train_in_context": "training name, untrained sentence",
             "heldout_alone": "held-out name, alone", "heldout_in_context": "held-out name, untrained sentence",
             "train_sentence_recall": "training name, its training sentence"}
"""The pair-lookup arms (``arms`` of its scores) and their display names."""


def pair_lookup(runs: list[Run]) -> pd.DataFrame:
    """Accuracy per pair-lookup arm (training and held-out names alone and in an untrained sentence, and training
    names in their own training sentence: sentence recall) per predictor, with CIs and how many were labelled."""
    rows = []
    labels = system_labels(runs)
    for r in memorization_runs(runs):
        for pred, by_probe in r.scores.items():
            arms = (by_probe.get("pair-lookup") or {}).get("arms") or {}
            for arm, title in PAIR_ARMS.items():
                d = arms.get(arm)
                if not isinstance(d, dict) or not d.get("n"):
                    continue
                rows.append({"run": r.name, "predictor": pred, "system": _system(pred, labels[r.name]),
                             "arm": arm, "condition": title, "labelled": d.get("labelled"), **_ci_row(d)})
    return pd.DataFrame(rows)


def memorization_comparisons(runs: list[Run]) -> pd.DataFrame:
    """The declared family's comparisons of each memorization run (difference b − a with its paired CI, p, Holm p,
    verdict; ``estimate`` None with the ``reason`` when a side is n/a), then the beyond-form estimates of the
    predictors the family does not test (``in_family`` False: a CI, no p)."""
    rows = []
    for r in memorization_runs(runs):
        holm_sig = (r.stats.get("holm") or {}).get("signature")
        named = set()
        for c in r.stats.get("comparisons") or []:
            named.add(c.get("name"))
            rows.append(_comparison_row(r, c, holm_sig))
        for by in (r.stats.get("beyond_form") or {}).values():
            for c in by.values():
                if c.get("name") not in named:
                    rows.append(_comparison_row(r, {**c, "in_family": False}, None))
    return pd.DataFrame(rows)


def _comparison_row(r: Run, c: dict, holm_sig: str | None) -> dict:
    """A frame row of one Comparison dict (``analysis.estimates.Comparison``)."""
    about = c.get("about") or {}
    return {"run": r.name, "name": c["name"], "kind": c.get("kind"), "metric": c.get("metric"),
            "indicator": about.get("indicator"), "probe": about.get("probe"), "a": c.get("a"), "b": c.get("b"),
            "score_a": c.get("value_a"), "score_b": c.get("value_b"), "estimate": c.get("difference"),
            "low": c.get("low"), "high": c.get("high"), "p": c.get("p"), "p_holm": c.get("p_holm"),
            "reject": bool(c.get("reject")), "n": c.get("n"), "signature": c.get("signature"),
            "reason": c.get("reason"), "in_family": bool(c.get("in_family", True)), "holm_signature": holm_sig}


def retention_rows(runs: list[Run]) -> pd.DataFrame:
    """One row per (retention run, adapter, task, metric, filter): base, tuned, Δ with CI, p, Holm p, verdict."""
    rows = []
    for r in retention_runs(runs):
        for key, comp in (r.stats.get("comparisons") or {}).items():
            for row in comp.get("rows", []):
                metric = row["metric"] if row.get("filter") in (None, "none") else f"{row['metric']} ({row['filter']})"
                rows.append({"run": r.name, "adapter": key, "fingerprint": r.manifest.get("fingerprints", {}).get(key),
                             "task": row["task"], "metric": metric, "n": row.get("n"),
                             # a Comparison dict (older runs: base/tuned/delta/ci_low/ci_high)
                             "base": row.get("value_a", row.get("base")), "tuned": row.get("value_b", row.get("tuned")),
                             "estimate": row.get("difference", row.get("delta")), "low": row.get("low", row.get("ci_low")),
                             "high": row.get("high", row.get("ci_high")), "p": row.get("p"), "p_holm": row.get("p_holm"),
                             "test": row.get("test"), "verdict": row.get("verdict"), "margin": row.get("margin"),
                             "reject": row.get("p_holm", 1.0) < row.get("alpha", 0.05),
                             "signature": row.get("ci_signature"), "test_signature": row.get("signature"),
                             "holm_signature": row.get("holm_signature")})
    return pd.DataFrame(rows)


def learning(runs: list[Run]) -> pd.DataFrame:
    """Per memorization run and subject with a base: F1 on the original test sentences of the subject and of its
    base, each with its own bootstrap CI, and the difference of the two estimates (``gain``; no paired CI: the run
    declares no test of F1, so the gain is read against the two intervals)."""
    rows = []
    for r in memorization_runs(runs):
        base = base_of(r)
        if base is None:
            continue
        b = _ci_row(_f1(r.scores.get(base, {}).get("coverage") or {}))
        for s in subjects(r):
            t = _ci_row(_f1(r.scores.get(s, {}).get("coverage") or {}))
            gain = t["estimate"] - b["estimate"] if t["estimate"] is not None and b["estimate"] is not None else None
            rows.append({"run": r.name, "format": r.format_name, "subject": s, "base": base,
                         "fingerprint": r.fingerprint(s), "tuned": t["estimate"], "tuned_low": t["low"],
                         "tuned_high": t["high"], "base_f1": b["estimate"], "base_low": b["low"],
                         "base_high": b["high"], "gain": gain, "signature": t["signature"] or b["signature"]})
    return pd.DataFrame(rows)


def learning_forgetting(runs: list[Run]) -> pd.DataFrame:
    """Per adapter found in both kinds of runs (matched by the model fingerprint): its NER F1 and its base's on the
    original test sentences (each with its bootstrap CI; ``gain`` the difference of the two) and the mean, range and
    verdicts of its retention Δ over the general tasks."""
    ret = retention_rows(runs)
    rows = []
    for _, g in learning(runs).iterrows():
        if not g["fingerprint"] or ret.empty:
            continue
        mine = ret[ret["fingerprint"] == g["fingerprint"]]
        if mine.empty:
            continue
        rows.append({**g.to_dict(), "adapter": mine["adapter"].iloc[0],
                     "forgetting": float(np.mean(mine["estimate"])), "forgetting_min": float(mine["estimate"].min()),
                     "forgetting_max": float(mine["estimate"].max()), "n_tasks": int(len(mine)),
                     "n_worse": int((mine["verdict"] == "worse").sum())})
    return pd.DataFrame(rows)
