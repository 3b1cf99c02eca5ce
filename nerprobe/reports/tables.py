"""Paper tables as Markdown and LaTeX (booktabs), with CIs, significance markers and signatures.

Numbers are percentages (fractions × 100) with their 95% CI in brackets; differences are percentage points. A ``*``
marks a difference whose Holm-adjusted p-value is below the run's alpha. Each row names the signature of its numbers
by a key in the ``sig.`` column; the keys are listed under the table (``signatures.SignatureKeys``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nerprobe.reports import frames, style
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
    group: int | None = None  # a column LaTeX shows as a sub-heading row where its value changes, not a column

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

    def latex(self, layout: str = "column") -> str:
        """The table as LaTeX (booktabs; the preamble needs ``fontenc`` T1 and ``inputenc`` utf8, see
        ``LATEX_PREAMBLE``): ``layout="column"`` a ``table`` one column of a two-column paper wide, ``"full"`` a
        ``table*`` across the page. Where the table would be wider than the layout, CIs go under their estimate and
        long text wraps; a table still too wide is split into parts that each repeat its first column."""
        return _latex_table(self, layout)


# -- LaTeX: tables that fit a column or the page ----------------------------------------------------------------
LATEX_WIDTHS_PT = {"column": 219.0, "full": 455.0}
"""The widths a LaTeX table must fit: one column and the full text of a two-column paper (ACL's 7.7 cm and 16 cm;
a two-column ``article`` has 229.5 pt and 469 pt)."""
_FONT = {"column": ("\\footnotesize", 8.0, 4.0), "full": ("\\small", 9.0, 5.0)}  # size command, its pt, tabcolsep
_SAFETY = 1.10  # the width estimate goes by character classes; keep a margin

# widths of Computer Modern characters at 10 pt, in pt (rounded; other characters by class)
_CHAR_PT = {**{d: 5.0 for d in "0123456789"}, " ": 3.3, ".": 2.8, ",": 2.8, ":": 2.8, ";": 2.8, "[": 2.8, "]": 2.8,
            "(": 3.9, ")": 3.9, "-": 3.3, "+": 7.8, "*": 5.0, "i": 2.8, "l": 2.8, "j": 3.1, "f": 3.1, "t": 3.9,
            "r": 3.9, "m": 8.3, "w": 7.2, "M": 9.2, "W": 10.3, "_": 5.0, "/": 5.0, "|": 2.8, "'": 2.8, "=": 7.8,
            "<": 7.8, ">": 7.8, "%": 8.3, "Δ": 8.3, "−": 7.8, "†": 4.4, "·": 2.8}


def _text_pt(text: str, size_pt: float) -> float:
    """Estimated width of ``text`` set in Computer Modern at ``size_pt`` (as ``latex_escape`` writes it)."""
    w = 0.0
    for ch in "".join(c if c in _TEX or c in _GREEK or ord(c) <= 0x17F else f"[U+{ord(c):04X}]" for c in text):
        w += _CHAR_PT.get(ch, 7.3 if ch.isupper() else 5.0)
    # a leading minus is set as $-$ (wider than a hyphen)
    return (w + (4.5 if text[:1] in "-−" else 0.0)) * size_pt / 10.0


_CI = re.compile(r"^(?P<est>[+\-−]?\d[\d.]*)\s+\[(?P<ci>[^\]]*)\](?P<star>[*‡]*)$")
_SCI = re.compile(r"(?<![\w.])(\d(?:\.\d+)?)e([+-]?)0*(\d+)(?![\w.])")
_MINUS = re.compile(r"(?<![\w.)\]{^])-(?=\d)")


def _numbers(tex: str) -> str:
    """Real minus signs and powers of ten in escaped text: ``-7.7`` becomes ``$-$7.7`` and ``1.3e-37``
    ``$1.3\\times10^{-37}$``; hyphens between words stay hyphens."""
    tex = _SCI.sub(lambda m: f"${m.group(1)}\\times10^{{{'-' if m.group(2) == '-' else ''}{m.group(3)}}}$", tex)
    return _MINUS.sub("$-$", tex)


def _tex(text: str) -> str:
    tex = _numbers(latex_escape(text))
    return "{}" + tex if tex.startswith("[") else tex  # after \\ a "[" would be read as its optional argument


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=True) or [""]


def _stack(lines: list[tuple[str, bool]], align: str, valign: str = "t") -> str:
    """Escaped lines stacked in one cell (a nested tabular); ``True`` beside a line sets it in a smaller size."""
    body = "\\\\".join(f"{{\\scriptsize {t}}}" if small else t for t, small in lines)
    return body if len(lines) == 1 else f"\\begin{{tabular}}[{valign}]{{@{{}}{align}@{{}}}}{body}\\end{{tabular}}"


def _cell(text: str, align: str, stack_ci: bool, wrap: int, size: float) -> tuple[str, float]:
    """A cell's LaTeX and its estimated width in pt."""
    m = _CI.match(text) if stack_ci else None
    if m:
        est, ci = m.group("est") + m.group("star"), f"[{m.group('ci')}]"
        return (_stack([(_tex(est), False), (_tex(ci), True)], align),
                max(_text_pt(est, size), _text_pt(ci, size * 0.875)))
    lines = _wrap(text, wrap) if len(text) > wrap else [text]
    return _stack([(_tex(t), False) for t in lines], align), max(_text_pt(t, size) for t in lines)


def _layout_cells(t: "Table", cols: list[int], layout: str, stack_ci: bool, wrap: int):
    """Alignment, header and body cells of the columns ``cols``, and each column's estimated width (pt, with its
    padding)."""
    _, size, sep = _FONT[layout]
    align = ["l" if i == 0 or not _numeric_col(t, i) else "r" for i in range(len(t.columns))]
    head, body, widths = {}, {i: [] for i in cols}, {}
    for i in cols:
        hl = _wrap(t.columns[i], max(9, wrap // 2)) if len(t.columns[i]) > 9 else [t.columns[i]]
        head[i] = _stack([(_tex(h), False) for h in hl], "c" if align[i] == "r" else "l", "b")
        w = max(_text_pt(h, size) for h in hl)
        for r in t.rows:
            tex, cw = _cell(r[i], align[i], stack_ci, wrap, size)
            body[i].append(tex)
            w = max(w, cw)
        widths[i] = w * _SAFETY + 2 * sep
    return align, head, body, widths


def _latex_table(t: "Table", layout: str) -> str:
    if layout not in _FONT:
        raise ValueError(f"layout must be one of {sorted(_FONT)}, not {layout!r}")
    size_cmd, _, sep = _FONT[layout]
    target = LATEX_WIDTHS_PT[layout]
    group = t.group if t.group is not None and 0 <= t.group < len(t.columns) else None
    cols = [i for i in range(len(t.columns)) if i != group]
    # the first presentation that fits in one part, else the narrowest one, split into parts
    for stack_ci, wrap in ((False, 40), (True, 40), (True, 24), (True, 16)):
        align, head, body, widths = _layout_cells(t, cols, layout, stack_ci, wrap)
        if sum(widths.values()) <= target:
            break
    # the columns each part repeats: the first, and the second too where the first does not tell rows apart
    keys = cols[:1]
    ids = [tuple(r[i] for i in ([group] if group is not None else []) + keys) for r in t.rows]
    if len(set(ids)) < len(ids) and len(cols) > 2:
        keys = cols[:2]
    kw, parts, cur = sum(widths[k] for k in keys), [], []
    for i in cols[len(keys):]:
        if cur and kw + sum(widths[j] for j in cur) + widths[i] > target:
            parts.append(cur)
            cur = []
        cur.append(i)
    parts.append(cur)
    env = "table" if layout == "column" else "table*"
    out = [f"\\begin{{{env}}}[tbp]", "\\centering", size_cmd, f"\\setlength{{\\tabcolsep}}{{{sep:g}pt}}",
           f"\\caption{{{_tex(t.title)}}}", f"\\label{{tab:{t.name}{'' if layout == 'column' else '-full'}}}"]
    for k, part in enumerate(parts):
        pc = keys + part
        if k:
            out.append("\\par\\medskip")
        out += [f"\\begin{{tabular}}{{{''.join(align[i] for i in pc)}}}", "\\toprule",
                " & ".join(head[i] for i in pc) + " \\\\", "\\midrule"]
        last = None
        for n, r in enumerate(t.rows):
            if group is not None and r[group] != last:
                if last is not None:
                    out.append("\\addlinespace")
                out.append(f"\\multicolumn{{{len(pc)}}}{{@{{}}l}}{{\\emph{{{_tex(r[group])}}}}} \\\\")
                last = r[group]
            out.append(" & ".join(body[i][n] for i in pc) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}"]
    notes = [_tex(n) for n in t.notes]
    if len(parts) > 1:
        notes.insert(0, f"In {len(parts)} parts to fit the width; each part repeats the "
                        f"{'first column' if len(keys) == 1 else 'first two columns'}.")
    notes += ["{}[" + k + "] \\texttt{" + _breakable(latex_escape(s)) + "}" for k, s in t.keys.items()]
    if notes:
        out.append("\\par\\smallskip\\begin{minipage}{\\linewidth}\\scriptsize\\raggedright")
        out.append("\n".join(f"{n}\\par" for n in notes))
        out.append("\\end{minipage}")
    out.append(f"\\end{{{env}}}")
    return "\n".join(out) + "\n"


def _breakable(tex: str) -> str:
    """Allow line breaks after each ``|``, ``:`` and ``,`` of an escaped signature (long, and without spaces)."""
    return tex.replace("$|$", "$|$\\allowbreak{}").replace(":", ":\\allowbreak{}").replace(",", ",\\allowbreak{}")


def _numeric_col(t: "Table", i: int) -> bool:
    vals = [r[i] for r in t.rows if r[i] not in ("", "-") and not r[i].startswith("n/a")]
    return bool(vals) and all(v[:1].isdigit() or v[:1] in "+-−." for v in vals)


# Symbols that pdflatex (T1 fonts, utf8 input) sets only in math or under another name; letters with diacritics
# (Latin-1, Latin Extended-A) pass through as UTF-8.
_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$", ">": r"$>$",
        "|": r"$|$", "−": r"$-$", "–": "--", "—": "---", "±": r"$\pm$", "≥": r"$\geq$",
        "≤": r"$\leq$", "×": r"$\times$", "÷": r"$\div$", "²": r"$^2$", "³": r"$^3$", "·": r"$\cdot$",
        "†": r"\dag{}", "‡": r"\ddag{}", "…": r"\ldots{}", "“": "``", "”": "''", "‘": "`", "’": "'",
        "→": r"$\rightarrow$", "←": r"$\leftarrow$", "≈": r"$\approx$", "≠": r"$\neq$", "°": r"$^\circ$",
        "µ": r"$\mu$", "\u00a0": "~", "«": r"\guillemotleft{}", "»": r"\guillemotright{}", "§": r"\S{}",
        "¶": r"\P{}", "©": r"\copyright{}", "€": "EUR", "£": r"\pounds{}", "◆": r"$\blacklozenge$"}
_GREEK = dict(zip("αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ",
                  ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
                   "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma",
                   "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega"]))
_NO_T1 = set("ŉſĸ")  # Latin Extended-A letters that utf8 input with T1 fonts does not define


def latex_escape(text: str) -> str:
    """``text`` safe inside LaTeX under pdflatex with T1 fonts and utf8 input (``LATEX_PREAMBLE``): specials
    escaped, symbols and Greek letters mapped, letters with diacritics (Latin-1, Latin Extended-A) kept as they are,
    anything else named as ``[U+XXXX]`` (pdflatex has no glyph for it), never dropped."""
    out = []
    for ch in str(text):
        if ch in _TEX:
            out.append(_TEX[ch])
        elif ord(ch) < 128:
            out.append(ch)
        elif ch in _GREEK:
            out.append(f"$\\{_GREEK[ch]}$")
        elif 0xC0 <= ord(ch) <= 0x17F and ch not in _NO_T1 and ch not in "×÷":
            out.append(ch)
        else:
            out.append(f"[U+{ord(ch):04X}]")
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
    # the do-nothing control writes nothing by design: its "failed" parses say nothing about the format
    failed = df[(df["failed_share"].fillna(0) > 0) & (df["predictor"].map(style.role) != "nothing")]
    if not failed.empty:
        worst = failed.sort_values("failed_share", ascending=False).iloc[0]
        t.notes.append(f"Outputs that failed to parse count as predicting nothing (worst: {worst['system']} on "
                       f"{worst['probe_title']}, {pct(worst['failed_share'])}% failed).")
    return t


class NaNotes:
    """Numbers the reasons of ``n/a`` cells: ``cell(reason, who)`` gives ``n/a (k)``, one ``k`` per distinct reason;
    ``notes()`` lists ``(k) reason: who, ...`` under the table."""

    def __init__(self) -> None:
        self._by: dict[str, list[str]] = {}

    def cell(self, reason, who: str | None = None) -> str:
        """The text of an n/a cell whose reason is ``reason`` (``who`` names the cell in the note; None where the
        reason names it already)."""
        reason = str(reason) if _ok(reason) and reason else "not available"
        whos = self._by.setdefault(reason, [])
        if who and who not in whos:
            whos.append(who)
        return f"n/a ({list(self._by).index(reason) + 1})"

    def notes(self) -> list[str]:
        """One note per reason, in first-use order."""
        return [f"({k}) n/a: {reason}" + (f" [{'; '.join(whos)}]." if whos else ".")
                for k, (reason, whos) in enumerate(self._by.items(), 1)]


def _estimate_cell(row, na: NaNotes, who: str | None, signed: bool = False) -> str:
    """``value [low, high]`` in percent, or ``n/a (k)`` with the reason numbered in ``na``."""
    if not _ok(row.get("estimate")):
        return na.cell(row.get("reason"), who)
    return ci_text(row["estimate"], row.get("low"), row.get("high"), signed)


def _marks(comps: pd.DataFrame, run: str, predictor: str, indicator: str) -> str:
    """``*`` when the predictor's declared test against the form-only control on ``indicator`` is Holm-significant,
    ``‡`` when its test against its base is."""
    if comps.empty:
        return ""
    mine = comps[(comps["run"] == run) & (comps["b"] == predictor) & (comps["indicator"] == indicator)
                 & comps["in_family"] & comps["reject"]]
    kinds = set(mine["kind"])
    return ("*" if "beyond_form" in kinds else "") + ("‡" if "tuned_vs_base" in kinds else "")


def _predictor_order(df: pd.DataFrame) -> list[str]:
    """Systems in the order subjects, base, controls (each in order of appearance)."""
    rank = {"subject": 0, "base": 1, "control": 2}
    first = df.drop_duplicates("system")
    return list(first.sort_values("role", key=lambda s: s.map(rank).fillna(3), kind="stable")["system"])


def indicators_table(runs: list[Run]) -> Table | None:
    """The memorization indicators (rows; memory indicators first, grouped by kind) of every predictor (columns:
    subjects, base, the controls), each with its 95% CI; ``n/a (k)`` where an indicator has too little support, the reason in note
    ``(k)``; ``*``/``‡`` where a subject's declared test against the form-only control / its base is
    Holm-significant."""
    df = frames.indicators(runs)
    if df.empty:
        return None
    comps = frames.memorization_comparisons(runs)
    systems = _predictor_order(df)
    specs = frames.indicator_specs(runs)
    specs = [s for s in specs if s.get("memory")] + [s for s in specs if not s.get("memory")]
    t = Table("memorization", "Memorization indicators (%, 95% bootstrap CI) of each predictor",
              ["kind", "indicator"] + systems + ["sig."], [], group=0)
    na, marked = NaNotes(), set()
    for spec in specs:
        mine = df[df["indicator"] == spec["name"]]
        by = {r["system"]: r for _, r in mine.iterrows()}
        cells = []
        for system in systems:
            r = by.get(system)
            if r is None:
                cells.append("-")
                continue
            mark = _marks(comps, r["run"], r["predictor"], spec["name"]) if _ok(r["estimate"]) else ""
            marked |= set(mark)
            cells.append(_estimate_cell(r, na, f"{system}, {frames.indicator_title(spec['name'])}",
                                        signed=signed_indicator(spec["name"], mine)) + mark)
        kind = "memory indicators" if spec.get("memory") else "descriptive indicators"
        t.rows.append([kind, frames.indicator_title(spec["name"])] + cells + [t.keys.key(*mine["signature"].dropna())])
    t.notes += [f"{frames.indicator_title(s['name'])}: {s['title']} (conditioned on {s['conditioned_on']})."
                for s in specs]
    if "*" in marked:
        t.notes.append("* the subject's test against the form-only control is significant (Holm-adjusted p < 0.05 "
                       "across the run's declared family).")
    if "‡" in marked:
        t.notes.append("‡ the subject's test against its base is significant (Holm-adjusted p < 0.05 across the "
                       "run's declared family).")
    t.notes += na.notes()
    return t


def signed_indicator(indicator: str, df: pd.DataFrame) -> bool:
    """True when an indicator is a difference (it can be negative: its values carry a sign)."""
    vals = pd.concat([df["estimate"], df["low"]]).dropna()
    return bool(len(vals) and (vals < 0).any()) or any(w in indicator for w in ("gain", "gap", "effect", "drop"))


def comparisons_table(runs: list[Run]) -> Table | None:
    """The declared tests of the memorization runs (values of a and b, difference b − a [paired CI], p, Holm p),
    then the beyond-form estimates the family does not test (marked †: a CI, no p); ``n/a (k)`` with the reason
    where a side has too little support."""
    df = frames.memorization_comparisons(runs)
    if df.empty:
        return None
    many = df["run"].nunique() > 1
    t = Table("comparisons", "Paired comparisons (b − a, percentage points, 95% paired bootstrap CI; Holm over "
              "each run's declared family)",
              (["run"] if many else []) + ["comparison", "a", "b", "b − a", "p", "p (Holm)", "sig."], [],
              group=0 if many else None)
    na = NaNotes()
    for _, r in df.iterrows():
        star = "*" if r["reject"] else ""
        name = _comparison_name(r) + ("" if r["in_family"] else " †")
        diff = _estimate_cell(r, na, None, signed=True) + (star if _ok(r["estimate"]) else "")
        t.rows.append(([r["run"]] if many else []) + [name, pct(r["score_a"]), pct(r["score_b"]), diff,
                      p_text(r["p"]), p_text(r["p_holm"]),
                      t.keys.key(r["signature"], r["holm_signature"] if r["in_family"] else None)])
    if df["reject"].any():
        t.notes.append("* Holm-adjusted p < 0.05.")
    if not df["in_family"].all():
        t.notes.append("† not in the declared family of tests (each subject against its base and the form-only "
                       "control on every memory indicator, and subjects against each other): an estimate of the "
                       "difference from the form-only control with its CI, not a test.")
    t.notes += na.notes()
    return t


def _comparison_name(r) -> str:
    """``b vs a: indicator`` with the indicator's display name."""
    ind = r.get("indicator")
    return f"{r['b']} vs {r['a']}: {frames.indicator_title(ind)}" if _ok(ind) and ind else str(r["name"])


def retention_table(runs: list[Run]) -> Table | None:
    """Retention: base and tuned score, Δ [CI], p (test), Holm p and the verdict, per adapter and task."""
    df = frames.retention_rows(runs)
    if df.empty:
        return None
    t = Table("retention", "Retention: general tasks before and after tuning (%, Δ in points, 95% paired CI)",
              ["adapter", "task", "metric", "n", "base", "tuned", "Δ", "p (test)", "p (Holm)", "verdict", "sig."], [],
              group=0)
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
    """Learning (NER F1 of the adapter and of its base, each with its CI) against forgetting (mean retention Δ) per
    adapter."""
    df = frames.learning_forgetting(runs)
    if df.empty:
        return None
    t = Table("learning-forgetting", "Learning vs forgetting per adapter (%, Δ in percentage points)",
              ["adapter", "format", "NER F1 base", "NER F1 tuned", "gain", "mean retention Δ", "range of Δ",
               "tasks worse", "sig."], [])
    for _, r in df.iterrows():
        t.rows.append([r["adapter"], str(r["format"]), ci_text(r["base_f1"], r["base_low"], r["base_high"]),
                       ci_text(r["tuned"], r["tuned_low"], r["tuned_high"]), pct(r["gain"], True),
                       pct(r["forgetting"], True),
                       f"{pct(r['forgetting_min'], True)} to {pct(r['forgetting_max'], True)}",
                       f"{r['n_worse']} of {r['n_tasks']}", t.keys.key(r["signature"])])
    t.notes.append("NER F1 on the original test sentences, each with its own 95% bootstrap CI; the gain is the "
                   "difference of the two estimates (not a paired test: the run declares no test of F1).")
    t.notes.append("Mean retention Δ: the unweighted mean of the adapter's per-task Δ (see the retention table).")
    return t


TABLE_BUILDERS = (indicators_table, probe_f1_table, comparisons_table, retention_table, learning_table)


def build_tables(runs: list[Run]) -> list[Table]:
    """Every table the runs hold data for."""
    return [t for t in (b(runs) for b in TABLE_BUILDERS) if t is not None and t.rows]


LATEX_PREAMBLE = ("\\documentclass[twocolumn]{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
                  "\\usepackage{booktabs}\n\\begin{document}\n")
"""What a paper needs for these tables: booktabs, T1 fonts and utf8 input (names with diacritics stay as they are)."""


def write_tables(tables: list[Table], out_dir: Path) -> list[Path]:
    """Write per table ``<name>.md``, ``<name>.tex`` (a ``table`` one column wide) and ``<name>-full.tex`` (a
    ``table*`` across the page), then ``tables.md`` (all) and ``tables.tex`` (a two-column document that compiles
    with pdflatex and inputs every table in both layouts); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in tables:
        for name, text in ((f"{t.name}.md", t.markdown()), (f"{t.name}.tex", t.latex("column")),
                           (f"{t.name}-full.tex", t.latex("full"))):
            p = out_dir / name
            atomic_write_text(p, text)
            paths.append(p)
    all_md = out_dir / "tables.md"
    atomic_write_text(all_md, "\n".join(t.markdown() for t in tables))
    doc = out_dir / "tables.tex"
    atomic_write_text(doc, LATEX_PREAMBLE + "".join(f"\\input{{{t.name}.tex}}\n\\input{{{t.name}-full.tex}}\n"
                                                    f"\\clearpage\n" for t in tables) + "\\end{document}\n")
    return paths + [all_md, doc]


def frame_to_records(df: pd.DataFrame) -> list[dict]:
    """Rows of a frame as plain dicts (NaN as None), for JSON."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict("records")]
