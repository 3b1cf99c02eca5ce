"""The parts of a report that ``probe compare`` runs feed: a frame of systems, the model × format F1 table, the
table of the declared family's tests, a figure of F1 with CIs per format grouped by model (one panel per gold
corpus, so flat and nested corpora sit side by side) and a finding per run."""

from __future__ import annotations

import pandas as pd

from nerprobe.reports import figures
from nerprobe.reports.runs import COMPARE, Run
from nerprobe.reports.tables import Table, ci_text, p_text, pct


def compare_runs(runs: list[Run]) -> list[Run]:
    """The ``probe compare`` runs among ``runs``."""
    return [r for r in runs if r.kind == COMPARE]


def corpus_name(run: Run) -> str:
    """What a compare run is called in tables and panels: its directory name (say ``genia``, ``conll``), since gold
    files are often all called ``test``; the gold path itself is in the table notes."""
    return run.name


def gold_path(run: Run) -> str:
    """The gold file a compare run scored."""
    return str(run.stats.get("gold") or (run.manifest.get("gold") or {}).get("path") or "?")


def systems_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per system of every compare run: run, corpus, system, model, format, estimate (micro F1), low, high,
    signature and
    the parse-status counts (exact, aligned, lenient, failed) with the unplaced false positives."""
    rows = []
    for r in compare_runs(runs):
        for name, s in r.stats["systems"].items():
            ci, status = s["micro_f1_ci"], s["pairing"]["parse_status"]
            rows.append({"run": r.name, "corpus": corpus_name(r), "system": name, "model": str(s["model"]),
                         "format": str(s["format"]), "estimate": s["scores"]["micro"]["f1"], "low": ci["low"],
                         "high": ci["high"], "signature": ci["signature"], **{k: status[k] for k in status},
                         "unplaced": s["pairing"]["predicted_entities"]["unplaced (false positives)"]})
    return pd.DataFrame(rows)


def tests_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per test of every compare run's declared family: run, corpus, family, a, b, difference and its CI,
    p, p_holm, verdict, signature."""
    rows = []
    for r in compare_runs(runs):
        for c in r.stats["comparisons"]:
            lo, hi = c["ci_difference"]
            rows.append({"run": r.name, "corpus": corpus_name(r), "family": r.stats["family"]["declared"],
                         "a": c["a"], "b": c["b"], "difference": c["difference"], "low": lo, "high": hi,
                         "p": c["p_value"], "p_holm": c["p_holm"], "verdict": c["verdict"],
                         "signature": c["signature"]})
    return pd.DataFrame(rows)


def compare_f1_table(runs: list[Run]) -> Table | None:
    """Micro-F1 [95% CI] per model (rows) and format (columns), one block per compare run, as LLMs4NER's main
    table; parse failures per system in the notes."""
    df = systems_frame(runs)
    if df.empty:
        return None
    formats = sorted(df["format"].unique())
    t = Table("compare-f1", "Micro-F1 (%) [95% CI] per model and output format", ["corpus", "model", *formats], [], group=0)
    for (run, corpus, model), g in df.groupby(["run", "corpus", "model"], sort=True):
        by_format = {row["format"]: row for _, row in g.iterrows()}
        t.rows.append([corpus, model, *(ci_text(by_format[f]["estimate"], by_format[f]["low"], by_format[f]["high"])
                                        if f in by_format else "" for f in formats)])
    for r in compare_runs(runs):
        t.notes.append(f"{corpus_name(r)}: gold {gold_path(r)}, match {r.stats.get('match', '?')}.")
    failing = df[(df["failed"] > 0) | (df["unplaced"] > 0)]
    for _, row in failing.iterrows():
        t.notes.append(f"{row['corpus']}, {row['system']}: {row['failed']} outputs failed to parse, "
                       f"{row['unplaced']} predicted entities had no place in their sentence (false positives).")
    for sig in sorted(set(df["signature"])):
        t.keys.key(sig)
    return t


def compare_tests_table(runs: list[Run]) -> Table | None:
    """The declared family's paired tests: reference, system, Δ F1 [95% CI], p, Holm p, verdict."""
    df = tests_frame(runs)
    if df.empty:
        return None
    t = Table("compare-tests", "Paired tests of the declared family (Δ = system − reference, points)",
              ["corpus", "family", "reference", "system", "Δ F1 [95% CI]", "p", "Holm p", "verdict", "sig."], [],
              group=0)
    for _, r in df.iterrows():
        t.rows.append([r["corpus"], r["family"], r["a"], r["b"], ci_text(r["difference"], r["low"], r["high"], True),
                       p_text(r["p"]), p_text(r["p_holm"]), r["verdict"], t.keys.key(r["signature"])])
    t.notes.append("Holm's correction runs over exactly the declared family of each run; the reference of each "
                   "group is its best system.")
    return t


def fig_compare(runs, ctx):
    """F1 with CIs per format (rows), one point per model in its colour and marker, one panel per gold corpus (so
    flat and nested corpora sit side by side)."""
    df = systems_frame(runs)
    if df.empty:
        return "needs a probe compare run"
    models = sorted(df["model"].unique())
    fig = figures._facets(ctx, df, panel="corpus", panels=sorted(df["corpus"].unique()), row="format",
                          rows=sorted(df["format"].unique()), hue="model", hue_order=models, xlabel="micro F1 (%)",
                          legend=True, legend_title=None)
    return figures.Drawn(fig, "Micro-F1 of each model in each output format, one panel per gold corpus; whiskers: "
                              f"{figures.CI_BOOTSTRAP}.", sorted(set(df["signature"])))


def compare_finding_items(runs: list[Run]) -> list:
    """One ``findings.Finding`` per compare run: the best system, and the tests of its family that came out
    significant (the effect: the largest significant difference, 0 without one)."""
    from nerprobe.reports.findings import Finding

    out = []
    for r in compare_runs(runs):
        systems = r.stats["systems"]
        best = min(systems, key=lambda n: (-systems[n]["scores"]["micro"]["f1"], n))  # ties: the first name
        s = systems[best]
        ci = s["micro_f1_ci"]
        worse = [c for c in r.stats["comparisons"] if c["reject"]]
        fam = r.stats["family"]
        f1 = ci_text(s["scores"]["micro"]["f1"], ci["low"], ci["high"])
        sentence = (f"On {corpus_name(r)}, the best system is {best} at {f1} micro-F1; of the {fam['m']} tests in the declared family '{fam['declared']}', {len(worse)} "
                    "differ significantly after Holm's correction")
        effect = 0.0
        if worse:
            big = max(worse, key=lambda c: abs(c["difference"]))
            effect = abs(float(big["difference"]))
            sentence += (f", the largest {big['b']} against {big['a']}: {pct(big['difference'], True)} points "
                         f"(Holm p = {p_text(big['p_holm'])})")
        out.append(Finding(effect, sentence + "."))
    return out


def compare_findings(runs: list[Run]) -> list[str]:
    """One sentence per compare run (``compare_finding_items``)."""
    return [f.text for f in compare_finding_items(runs)]
