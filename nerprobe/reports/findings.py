"""The summary of findings: one compact headline table and at most ``MAX_SENTENCES`` plain sentences.

The headline table has a row per subject and memory indicator: the subject's value with its 95% CI, its base's and
the controls' values (the ends the indicator must put them at), and the Holm-adjusted p of the declared tests
against the base and against the form-only control.

The sentences are ordered by effect size (the largest absolute difference each one names, in points), each stating
its numbers with their CI and test: per subject, the largest difference of its memory indicators above and below its
base and the form-only control (named in both directions; "none fell" rather than a +0.0 called a fall); between
subjects likewise; the tuned model's F1 against its base's; per retention adapter, the verdict counts and the
largest drop and largest rise. Sentences are plain text (the HTML template escapes them; Markdown shows them as
they are).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from nerprobe.reports import compare_report, frames
from nerprobe.reports.runs import Run
from nerprobe.reports.tables import NaNotes, Table, _ok, ci_text, p_text, pct, signed_indicator

MAX_SENTENCES = 5
"""At most this many sentences in the summary of findings."""

ROLE = {"model": "the tuned model", "baseline": "the base model", "lookup": "the lookup memorizer",
        "context-only": "the context-only control", "form-only": "the form-only control",
        "do-nothing": "the do-nothing control"}


@dataclass(frozen=True)
class Finding:
    """One sentence and the effect size (absolute difference, as a fraction) that orders it."""

    effect: float
    text: str


def _who(system: str, predictor: str) -> str:
    """How a sentence names a predictor: its role, and the run suffix of its system name where there is one."""
    who = ROLE.get(predictor, predictor)
    return who + system[len(predictor):] if system.startswith(predictor) else system


def _down(x) -> bool:
    """True when ``x`` (a fraction) reads as negative at one decimal in percent (never call +0.0 a fall)."""
    return _ok(x) and round(100 * float(x), 1) < 0


def _up(x) -> bool:
    """True when ``x`` reads as positive at one decimal in percent."""
    return _ok(x) and round(100 * float(x), 1) > 0


def _test_text(c) -> str:
    """``indicator vs a: +x [lo, hi] points (Holm p = ...)`` of one comparison row."""
    p = f"Holm p = {p_text(c['p_holm'])}" if c["in_family"] else "an estimate, not a test"
    return (f"{frames.indicator_title(c['indicator'])} against {c['a']}: "
            f"{ci_text(c['estimate'], c['low'], c['high'], True)} points ({p})")


def _both_directions(tested: pd.DataFrame) -> str:
    """The largest rise and the largest fall among ``tested`` comparisons, or that none rose / none fell."""
    ups, downs = tested[tested["estimate"].map(_up)], tested[tested["estimate"].map(_down)]
    rise = (f"the largest rise is {_test_text(ups.loc[ups['estimate'].idxmax()])}" if not ups.empty
            else "no indicator rose")
    fall = (f"the largest fall {_test_text(downs.loc[downs['estimate'].idxmin()])}" if not downs.empty
            else "none fell")
    return f"{rise}; {fall}"


def _family_sentence(who: str, what: str, g: pd.DataFrame) -> Finding | None:
    """A sentence on the declared tests ``g`` of one subject (or between subjects): how many are significant after
    Holm and the largest difference in each direction; the untested ones with their reason."""
    if g.empty:
        return None
    tested = g[g["estimate"].map(_ok)]
    if tested.empty:
        reasons = sorted({str(r) for r in g["reason"].dropna()})
        plural = "" if len(g) == 1 else "s"
        return Finding(0.0, f"None of {len(g)} declared test{plural} of {who} ({what}) could be made: "
                            f"{'; '.join(reasons) or 'no support'}.")
    n_sig = int(tested["reject"].sum())
    untested = len(g) - len(tested)
    left = f" and {untested} could not be made (too little support)" if untested else ""
    text = (f"Of {len(g)} declared test{'' if len(g) == 1 else 's'} of {who} ({what}), {n_sig} "
            f"{'is' if n_sig == 1 else 'are'} significant after Holm's correction{left}; "
            f"{_both_directions(tested)}.")
    return Finding(float(tested["estimate"].abs().max()), text)


def memorization_findings(runs: list[Run]) -> list[Finding]:
    """Per subject: its declared tests against the base and the form-only control; between subjects; and the F1
    of each subject against its base."""
    out: list[Finding] = []
    comps = frames.memorization_comparisons(runs)
    labels = frames.system_labels(runs)
    for r in frames.memorization_runs(runs):
        mine = comps[(comps["run"] == r.name) & comps["in_family"]] if not comps.empty else comps
        for s in frames.subjects(r):
            who = _who(frames._system(s, labels[r.name]), s)
            g = mine[(mine["b"] == s) & mine["kind"].isin(["tuned_vs_base", "beyond_form"])] if not mine.empty \
                else mine
            base = frames.base_of(r)
            what = "its memory indicators against " + (f"{base} and against the form-only control" if base else
                                                       "the form-only control")
            out.append(_family_sentence(who, what, g))
        between = mine[mine["kind"] == "between_subjects"] if not mine.empty else mine
        if not between.empty:
            names = " and ".join(frames.subjects(r))
            out.append(_family_sentence(f"{names} against each other", "on the same probe sets", between))
    out += learning_findings(runs)
    return [f for f in out if f is not None]


def learning_findings(runs: list[Run]) -> list[Finding]:
    """Per subject with a base: its F1 on the original test sentences against its base's, each with its CI."""
    out = []
    labels = frames.system_labels(runs)
    for _, g in frames.learning(runs).iterrows():
        if not (_ok(g["tuned"]) and _ok(g["base_f1"])):
            continue
        who = _who(frames._system(g["subject"], labels[g["run"]]), g["subject"])
        out.append(Finding(abs(float(g["gain"])),
                           f"On the original test sentences {who} scores "
                           f"{ci_text(g['tuned'], g['tuned_low'], g['tuned_high'])} "
                           f"F1 and its base {ci_text(g['base_f1'], g['base_low'], g['base_high'])} "
                           f"({pct(g['gain'], True)} points; 95% bootstrap CIs of each, not a paired test)."))
    return out


def _task_text(row) -> str:
    return (f"{row['task']} ({row['metric']}): {ci_text(row['estimate'], row['low'], row['high'], True)} points "
            f"(p = {p_text(row['p'])}, {row['test']}; Holm p = {p_text(row['p_holm'])})")


def retention_findings(runs: list[Run]) -> list[Finding]:
    """Per adapter: how many tasks got significantly worse, better, were retained or inconclusive, and the largest
    drop and the largest rise with their CIs and tests (none named when no score fell or rose)."""
    df = frames.retention_rows(runs)
    out = []
    if df.empty:
        return out
    for (run, adapter), g in df.groupby(["run", "adapter"], sort=False):
        count = {v: int((g["verdict"] == v).sum()) for v in ("worse", "better", "retained", "inconclusive")}
        margin = g["margin"].dropna().iloc[0] if "margin" in g and g["margin"].notna().any() else None
        kept = (f"{count['retained']} retained (95% CI within ±{float(margin):g} points) and {count['inconclusive']} "
                "inconclusive (neither significant nor within the margin)" if margin is not None else
                "the others without a verdict on retention")
        downs, ups = g[g["estimate"].map(_down)], g[g["estimate"].map(_up)]
        drop = (f"the largest drop is {_task_text(downs.loc[downs['estimate'].idxmin()])}" if not downs.empty
                else "no score fell")
        rise = (f"the largest rise {_task_text(ups.loc[ups['estimate'].idxmax()])}" if not ups.empty
                else "none rose")
        effect = float(g["estimate"].abs().max()) if g["estimate"].notna().any() else 0.0
        out.append(Finding(effect, f"Retention of adapter {adapter}: of {len(g)} paired tests, {count['worse']} "
                                   f"significantly worse and {count['better']} significantly better after Holm's "
                                   f"correction, {kept}; {drop}; {rise}."))
    return out


def findings(runs: list[Run]) -> list[str]:
    """At most ``MAX_SENTENCES`` sentences over every kind of run, the largest effects first."""
    items = memorization_findings(runs) + retention_findings(runs) + compare_report.compare_finding_items(runs)
    items = sorted(items, key=lambda f: -f.effect)  # stable: equal effects keep their order
    return [f.text for f in items[:MAX_SENTENCES]]


# -- the headline table ------------------------------------------------------------------------------------------
def headline_table(runs: list[Run]) -> Table | None:
    """One row per subject and memory indicator: the subject's value [95% CI], its base's and the controls' values,
    and the Holm p of its declared tests against the base and the form-only control (``-`` where not declared)."""
    ind = frames.indicators(runs)
    if ind.empty:
        return None
    comps = frames.memorization_comparisons(runs)
    mem = frames.memorization_runs(runs)
    bases = sorted({b for r in mem if (b := frames.base_of(r))})
    controls = list(dict.fromkeys(ind[ind["role"] == "control"]["predictor"]))
    many = len(mem) > 1
    cols = ["subject", "probe", "indicator", "subject [95% CI]"] + (["base"] if bases else []) + controls
    cols += (["Holm p vs base"] if bases else []) + ["Holm p vs form-only", "sig."]
    t = Table("headline", "Headline: each subject's memory indicators (%) beside its base and the controls", cols, [],
              group=0)
    na = NaNotes()
    for r in mem:
        base = frames.base_of(r)
        here = ind[ind["run"] == r.name]
        for s in frames.subjects(r):
            who = frames._system(s, frames.system_labels(runs)[r.name]) if many else s
            for spec in (x for x in r.stats.get("indicator_specs") or [] if x.get("memory")):
                t.rows.append(_headline_row(t, na, here, comps, r.name, who, s, base, controls, spec, bool(bases)))
    if not t.rows:
        return None
    t.notes.append("Controls: each indicator must put the lookup memorizer at its memory end, the context-only "
                   "control at its context end, the form-only control at the floor that name form alone explains, "
                   "and the do-nothing control at n/a.")
    t.notes += na.notes()
    return t


def _headline_row(t, na, here, comps, run, who, subject, base, controls, spec, with_base) -> list[str]:
    """The headline row of one subject and memory indicator."""
    name = spec["name"]
    signed = signed_indicator(name, here[here["indicator"] == name])

    def value(pred, with_ci=False):
        row = here[(here["predictor"] == pred) & (here["indicator"] == name)]
        if row.empty:
            return "-"
        x = row.iloc[0]
        if not _ok(x["estimate"]):
            return na.cell(x["reason"], f"{pred}, {frames.indicator_title(name)}")
        return ci_text(x["estimate"], x["low"], x["high"], signed) if with_ci else pct(x["estimate"], signed)

    sigs = list(here[(here["predictor"] == subject) & (here["indicator"] == name)]["signature"])

    def holm(kind):
        if comps.empty:
            return "-"
        c = comps[(comps["run"] == run) & (comps["b"] == subject) & (comps["indicator"] == name)
                  & (comps["kind"] == kind) & comps["in_family"]]
        if c.empty:
            return "-"
        if not _ok(c.iloc[0]["p_holm"]):
            return "n/a"
        sigs.extend([c.iloc[0]["signature"], c.iloc[0]["holm_signature"]])
        return p_text(c.iloc[0]["p_holm"])

    cells = [who, str(spec.get("probe")), frames.indicator_title(name), value(subject, True)]
    cells += [value(base) if base else "-"] if with_base else []
    cells += [value(c) for c in controls]
    cells += [holm("tuned_vs_base")] if with_base else []
    cells.append(holm("beyond_form"))
    return cells + [t.keys.key(*sigs)]
