"""The summary of findings: plain sentences, each stating its numbers with their CI and test.

Sentences are plain text (the HTML template escapes them; Markdown shows them as they are).
"""

from __future__ import annotations

from nerprobe.reports import frames
from nerprobe.reports.runs import Run
from nerprobe.reports.tables import ci_text, p_text, pct

ROLE = {"model": "the tuned model", "baseline": "the base model", "lookup": "the lookup baseline (pure memorizer)",
        "context-only": "the context-only control"}


def _who(system: str, predictor: str) -> str:
    who = ROLE.get(predictor, predictor)
    return who + system[len(predictor):] if system.startswith(predictor) else system


def memorization_findings(runs: list[Run]) -> list[str]:
    """Per predictor: the F1 drop on unseen entities (paired test), the type-swap rates and its position."""
    out = []
    summ, comps, swaps = frames.memorization_summary(runs), frames.memorization_comparisons(runs), frames.type_swaps(runs)
    for _, r in summ.iterrows():
        who = _who(r["system"], r["predictor"])
        c = comps[(comps["run"] == r["run"]) & (comps["kind"] == "original_vs_unseen")
                  & comps["name"].str.startswith(f"{r['predictor']}:")] if not comps.empty else comps
        if not c.empty:
            c0 = c.iloc[0]
            test = (f"p = {p_text(c0['p'])}, Holm p = {p_text(c0['p_holm'])}: "
                    f"{'significant' if c0['reject'] else 'not significant'} at 0.05" if c0["in_family"]
                    else "an estimate, not one of the run's declared tests")
            out.append(f"When its test entities are replaced by unseen ones, {who} goes from {pct(c0['score_a'])} to "
                       f"{pct(c0['score_b'])} F1: {ci_text(c0['estimate'], c0['low'], c0['high'], True)} points "
                       f"(95% paired bootstrap CI; {test}).")
        sw = swaps[(swaps["run"] == r["run"]) & (swaps["predictor"] == r["predictor"])] if not swaps.empty else swaps
        if not sw.empty:
            ctx = sw[sw["rate"] == "context_following"].iloc[0]
            mem = sw[sw["rate"] == "memory_following"].iloc[0]
            out.append(f"Under type swaps, {who} follows the context for {ci_text(ctx['estimate'], ctx['low'], ctx['high'])}% "
                       f"of swapped entities and gives the memorized label to {ci_text(mem['estimate'], mem['low'], mem['high'])}% "
                       f"(95% bootstrap CIs, n = {int(ctx['n'] or 0)}).")
        pos = r.get("mean_position")
        if pos is not None and pos == pos:
            out.append(f"On the scale from reading the context (0) to memorizing (1), {who} sits at {pos:.2f} "
                       f"(mean over the indicators).")
    if not comps.empty:
        tb = comps[comps["kind"] == "tuned_vs_base"]
        labels = frames.system_labels(runs)
        for _, c in tb[tb["name"].str.endswith(": coverage")].iterrows():
            who = _who(frames._system("model", labels.get(c["run"], "")), "model")
            out.append(f"On the original test sentences {who} scores {pct(c['score_b'])} F1 against "
                       f"{pct(c['score_a'])} for its base: {ci_text(c['estimate'], c['low'], c['high'], True)} points "
                       f"(paired bootstrap p = {p_text(c['p'])}, Holm p = {p_text(c['p_holm'])}).")
    return out


def retention_findings(runs: list[Run]) -> list[str]:
    """Per adapter: how many tasks got significantly worse or better, and the largest drop with its CI and test."""
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
        low = g.sort_values("estimate").iloc[0]
        out.append(f"Retention of adapter {adapter}: of {len(g)} paired tests, {count['worse']} significantly worse "
                   f"and {count['better']} significantly better after Holm's correction, {kept}; the largest change "
                   "down is "
                   f"{low['task']} ({low['metric']}): {ci_text(low['estimate'], low['low'], low['high'], True)} points "
                   f"(p = {p_text(low['p'])}, {low['test']}; Holm p = {p_text(low['p_holm'])}).")
    return out


def findings(runs: list[Run]) -> list[str]:
    """All findings, memorization first."""
    return memorization_findings(runs) + retention_findings(runs)
