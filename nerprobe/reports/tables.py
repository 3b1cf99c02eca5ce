"""Paper tables as Markdown and LaTeX (booktabs), with CIs, significance markers and signatures.

Numbers are percentages (fractions × 100) with their 95% CI in brackets; differences are percentage points. A ``*``
marks a difference whose Holm-adjusted p-value is below the run's alpha. Each row names the signature of its numbers
by a key in the ``sig.`` column; the keys are listed under the table (``signatures.SignatureKeys``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nerprobe.reports import frames
from nerprobe.reports.runs import Run
from nerprobe.reports.signatures import SignatureKeys
from nerprobe.safe_io import atomic_write_text


@dataclass
class Table:
    """A report table: ``columns`` (plain text; LaTeX versions in ``tex_columns`` where they differ), rows of
    plain-text cells, notes printed under it and the signature keys its ``sig.`` column cites."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    keys: SignatureKeys = field(default_factory=SignatureKeys)

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table with its title above and its notes and signatures below."""
        def cell(s: str) -> str:
            return s.replace("|", "\\|").replace("\n", " ")

        align = ["---" if i == 0 or not _numeric_col(self, i) else "---:" for i in range(len(self.columns))]
        lines = [f"**{self.title}**", "", "| " + " | ".join(map(cell, self.columns)) + " |",
                 "| " + " | ".join(align) + " |"]
        lines += ["| " + " | ".join(map(cell, r)) + " |" for r in self.rows]
        lines.append("")
        lines += [f"{n}  " for n in self.notes]
        lines += [f"[{k}] `{s}`  " for k, s in self.keys.items()]
        return "\n".join(lines).rstrip() + "\n"

    def latex(self) -> str:
        """A ``table`` environment with a booktabs ``tabular``, caption, notes and signatures (needs booktabs)."""
        spec = "".join("l" if i == 0 or not _numeric_col(self, i) else "r" for i in range(len(self.columns)))
        out = ["\\begin{table}[ht]", "\\centering", "\\small", f"\\caption{{{latex_escape(self.title)}}}",
               f"\\label{{tab:{self.name}}}", f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
               " & ".join(latex_escape(c) for c in self.columns) + " \\\\", "\\midrule"]
        out += [" & ".join(latex_escape(c) for c in r) + " \\\\" for r in self.rows]
        out += ["\\bottomrule", "\\end{tabular}"]
        notes = [latex_escape(n) for n in self.notes]
        notes += ["{}[" + k + "] \\texttt{" + _breakable(latex_escape(s)) + "}" for k, s in self.keys.items()]
        if notes:
            out.append("\\par\\smallskip\\begin{minipage}{0.95\\linewidth}\\footnotesize\\raggedright")
            out.append("\n".join(f"{n}\\par" for n in notes))
            out.append("\\end{minipage}")
        out.append("\\end{table}")
        return "\n".join(out) + "\n"


def _breakable(tex: str) -> str:
    """Allow line breaks after each ``|`` of an escaped signature (they are long and have no spaces)."""
    return tex.replace("$|$", "$|$\\allowbreak{}")


def _numeric_col(t: Table, i: int) -> bool:
    vals = [r[i] for r in t.rows if r[i] not in ("", "-")]
    return bool(vals) and all(v[:1].isdigit() or v[:1] in "+-−." for v in vals)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$", ">": r"$>$",
        "|": r"$|$", "Δ": r"$\Delta$", "−": "--", "–": "--", "—": "---", "±": r"$\pm$", "≥": r"$\geq$",
        "≤": r"$\leq$", "×": r"$\times$", "χ": r"$\chi$", "²": r"$^2$", "·": r"$\cdot$", "†": r"\dag{}"}


def latex_escape(text: str) -> str:
    """``text`` safe inside LaTeX under pdflatex: specials escaped, a few symbols mapped, other non-ASCII as ``?``."""
    out = []
    for ch in str(text):
        if ch in _TEX:
            out.append(_TEX[ch])
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append("?")  # pdflatex without extra packages cannot typeset arbitrary Unicode
    return "".join(out)


# -- number formatting -----------------------------------------------------------------------------------------
def _ok(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def pct(x, signed: bool = False) -> str:
    """A fraction as a percentage with one decimal (``-`` when missing)."""
    if not _ok(x):
        return "-"
    v = round(100 * float(x), 1) + 0.0
    return f"{v:+.1f}" if signed else f"{v:.1f}"


def ci_text(est, low, high, signed: bool = False) -> str:
    """``est [low, high]`` in percent, or the estimate alone when there is no CI."""
    if not _ok(est):
        return "-"
    if not (_ok(low) and _ok(high)):
        return pct(est, signed)
    return f"{pct(est, signed)} [{pct(low, signed)}, {pct(high, signed)}]"


def p_text(p) -> str:
    """A p-value with two significant digits (scientific below 1e-4)."""
    if not _ok(p):
        return "-"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def _d(row, key) -> dict:
    v = row.get(key) if isinstance(row, dict) else row[key] if key in row else None
    return v if isinstance(v, dict) else {}


# -- the tables --------------------------------------------------------------------------------------------------
def probe_f1_table(runs: list[Run]) -> Table | None:
    """Micro F1 [95% CI] per predictor (rows) and span probe (columns)."""
    df = frames.probe_f1(runs)
    if df.empty:
        return None
    probes = [p for p in frames.F1_PROBES if p in set(df["probe"])]
    t = Table("probe-f1", "Span F1 (%) with 95% bootstrap CI per predictor and probe set",
              ["predictor"] + [frames.PROBE_TITLES[p] for p in probes] + ["sig."], [])
    for system, g in df.groupby("system", sort=False):
        by = {r["probe"]: r for _, r in g.iterrows()}
        cells = [ci_text(by[p]["estimate"], by[p]["low"], by[p]["high"]) if p in by else "-" for p in probes]
        t.rows.append([system] + cells + [t.keys.key(*[by[p]["signature"] for p in probes if p in by])])
    failed = df[df["failed_share"].fillna(0) > 0]
    if not failed.empty:
        worst = failed.sort_values("failed_share", ascending=False).iloc[0]
        t.notes.append(f"Outputs that failed to parse count as predicting nothing (worst: {worst['system']} on "
                       f"{worst['probe_title']}, {pct(worst['failed_share'])}% failed).")
    return t


def indicators_table(runs: list[Run]) -> Table | None:
    """The memorization indicators per predictor, with CIs and the position between the two ends."""
    df = frames.memorization_summary(runs)
    if df.empty:
        return None
    comps = frames.memorization_comparisons(runs)
    t = Table("memorization", "Memorization indicators (%, 95% CI); position: 0 = reads the context, 1 = memorizer",
              ["predictor", "F1 drop (unseen entities)", "memorized label (type swaps)", "pair-lookup gain",
               "position", "sig."], [])
    marked = False
    for _, r in df.iterrows():
        drop, mem, gain = _d(r, "f1_drop"), _d(r, "memory_following"), _d(r, "pair_lookup_gain")
        star = ""
        if not comps.empty:
            c = comps[(comps["run"] == r["run"]) & (comps["kind"] == "original_vs_unseen")
                      & (comps["name"].str.startswith(f"{r['predictor']}:"))]
            if not c.empty and bool(c["reject"].iloc[0]):
                star, marked = "*", True
        pos = r.get("mean_position")
        t.rows.append([r["system"], ci_text(drop.get("estimate"), drop.get("low"), drop.get("high"), True) + star,
                       ci_text(mem.get("estimate"), mem.get("low"), mem.get("high")),
                       pct(gain.get("estimate"), True), "-" if not _ok(pos) else f"{pos:.2f}",
                       t.keys.key(drop.get("signature"), mem.get("signature"), gain.get("signature"))])
    if marked:
        t.notes.append("* the F1 drop is significant (paired bootstrap, Holm-adjusted p < 0.05 across the run's "
                       "declared family of tests).")
    return t


def comparisons_table(runs: list[Run]) -> Table | None:
    """Every paired comparison of the memorization runs: scores, difference [CI], p, Holm p."""
    df = frames.memorization_comparisons(runs)
    if df.empty:
        return None
    many = df["run"].nunique() > 1
    t = Table("comparisons", "Paired comparisons (b − a, percentage points, 95% paired bootstrap CI; Holm over "
              "each run's declared family)",
              (["run"] if many else []) + ["comparison", "a", "b", "b − a", "p", "p (Holm)", "sig."], [])
    for _, r in df.iterrows():
        star = "*" if r["reject"] else ""
        name = r["name"] + ("" if r["in_family"] else " †")
        t.rows.append(([r["run"]] if many else []) + [name, pct(r["score_a"]), pct(r["score_b"]),
                      ci_text(r["estimate"], r["low"], r["high"], True) + star, p_text(r["p"]), p_text(r["p_holm"]),
                      t.keys.key(r["signature"], r["holm_signature"] if r["in_family"] else None)])
    if df["reject"].any():
        t.notes.append("* Holm-adjusted p < 0.05.")
    if not df["in_family"].all():
        t.notes.append("† not in the declared family of tests (the subject against its base and each control per "
                       "probe set, and its own F1 drop): an estimate with its CI, not a test.")
    return t


def retention_table(runs: list[Run]) -> Table | None:
    """Retention: base and tuned score, Δ [CI], p (test), Holm p and the verdict, per adapter and task."""
    df = frames.retention_rows(runs)
    if df.empty:
        return None
    t = Table("retention", "Retention: general tasks before and after tuning (%, Δ in points, 95% paired CI)",
              ["adapter", "task", "metric", "n", "base", "tuned", "Δ", "p (test)", "p (Holm)", "verdict", "sig."], [])
    for _, r in df.iterrows():
        star = "*" if r["reject"] else ""
        t.rows.append([r["adapter"], r["task"], r["metric"], str(r["n"]), pct(r["base"]), pct(r["tuned"]),
                       ci_text(r["estimate"], r["low"], r["high"], True) + star, f"{p_text(r['p'])} ({r['test']})",
                       p_text(r["p_holm"]), r["verdict"],
                       t.keys.key(r["signature"], r["test_signature"], r["holm_signature"])])
    if df["reject"].any():
        t.notes.append("* Holm-adjusted p < alpha (Holm across all tests of the adapter).")
    margins = sorted({float(m) for m in df["margin"].dropna()}) if "margin" in df else []
    if margins:
        t.notes.append(f"Verdicts: worse/better = Holm-adjusted p < alpha; retained = not significant and the 95% CI "
                       f"of Δ within ±{'/'.join(f'{m:g}' for m in margins)} points; inconclusive = neither (no "
                       "significant change, but the data cannot rule out one larger than the margin).")
    return t


def learning_table(runs: list[Run]) -> Table | None:
    """Learning (NER F1 gain over the base) against forgetting (mean retention Δ) per adapter."""
    df = frames.learning_forgetting(runs)
    if df.empty:
        return None
    t = Table("learning-forgetting", "Learning vs forgetting per adapter (percentage points)",
              ["adapter", "format", "NER F1 gain [95% CI]", "mean retention Δ", "range of Δ", "tasks worse", "sig."],
              [])
    for _, r in df.iterrows():
        t.rows.append([r["adapter"], str(r["format"]), ci_text(r["gain"], r["gain_low"], r["gain_high"], True),
                       pct(r["forgetting"], True), f"{pct(r['forgetting_min'], True)} to {pct(r['forgetting_max'], True)}",
                       f"{r['n_worse']} of {r['n_tasks']}", t.keys.key(r["gain_signature"])])
    t.notes.append("Mean retention Δ: the unweighted mean of the adapter's per-task Δ (see the retention table).")
    return t


TABLE_BUILDERS = (probe_f1_table, indicators_table, comparisons_table, retention_table, learning_table)


def build_tables(runs: list[Run]) -> list[Table]:
    """Every table the runs hold data for."""
    return [t for t in (b(runs) for b in TABLE_BUILDERS) if t is not None and t.rows]


LATEX_PREAMBLE = ("\\documentclass{article}\n\\usepackage{booktabs}\n"
                  "\\usepackage[margin=1.5cm,landscape]{geometry}\n\\begin{document}\n")


def write_tables(tables: list[Table], out_dir: Path) -> list[Path]:
    """Write ``<name>.md`` and ``<name>.tex`` per table, ``tables.md`` (all) and ``tables.tex`` (a document that
    compiles with pdflatex and inputs every table); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tables:
        for ext, text in (("md", t.markdown()), ("tex", t.latex())):
            p = out_dir / f"{t.name}.{ext}"
            atomic_write_text(p, text)
            paths.append(p)
    all_md = out_dir / "tables.md"
    atomic_write_text(all_md, "\n".join(t.markdown() for t in tables))
    doc = out_dir / "tables.tex"
    atomic_write_text(doc, LATEX_PREAMBLE + "".join(f"\\input{{{t.name}.tex}}\n" for t in tables)
                      + "\\end{document}\n")
    return paths + [all_md, doc]


def frame_to_records(df: pd.DataFrame) -> list[dict]:
    """Rows of a frame as plain dicts (NaN as None), for JSON."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict("records")]
