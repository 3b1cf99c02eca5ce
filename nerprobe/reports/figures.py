"""Paper figures, each drawn at the two print widths (``style.WIDTHS``) and saved as PDF, SVG and PNG.

Every figure is a dot plot: a point per estimate with its stored 95% CI as a whisker (the runs' own CIs, not
seaborn's, which would resample already-aggregated numbers), one panel per probe set, condition or corpus (facets,
not crowded axes), category labels on the y axis where they have room, and each predictor or model in its own
colour and marker (``style.Looks``), the same in every figure. A zero is a point like any other; a value the runs do
not hold is the word "n/a" in its place, never an empty slot. A figure whose data the runs do not hold is skipped
with a note saying why.

``FIGURE_BUILDERS`` maps a name to ``build(runs, ctx) -> Drawn | str``; ``draw`` returns the matplotlib figure
(for tests), ``build_figures`` writes every figure at every width.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nerprobe.reports import frames, style
from nerprobe.reports.runs import Run
from nerprobe.safe_io import atomic_writer

FORMATS = ("pdf", "svg", "png")
PNG_DPI = 300
COLUMN_DIR = "figures-column"
"""Folder (beside ``figures/``) of the column-width versions; ``figures/`` holds the full-width ones."""

CI_BOOTSTRAP = "95% percentile bootstrap CIs over sentences"


@dataclass
class Figure:
    """A written figure: its name, caption, the paths by extension (full width), the column-width paths, and the
    signatures of its numbers."""

    name: str
    caption: str
    paths: dict[str, Path]
    signatures: list[str]
    column_paths: dict[str, Path] = field(default_factory=dict)


@dataclass
class Skipped:
    """A figure that was not drawn, and why."""

    name: str
    reason: str


@dataclass
class Drawn:
    """A drawn, unsaved figure: the matplotlib figure, its caption (naming the interval of every whisker) and the
    signatures of its numbers."""

    fig: object
    caption: str
    signatures: list[str]


@dataclass
class Context:
    """What a builder draws with: pyplot, the print width in inches and its name, and the looks of the report."""

    plt: object
    width: float
    layout: str
    looks: style.Looks


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: reports are written, not shown
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", rc=style.rc())
    return plt


def _save(fig, out_dir: Path, name: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for ext in FORMATS:
        p = out_dir / f"{name}.{ext}"
        meta = {"Creator": "nerprobe"} if ext != "png" else {"Software": "nerprobe"}
        if ext == "pdf":
            meta["CreationDate"] = None  # reproducible bytes
        elif ext == "svg":
            meta["Date"] = None
        with atomic_writer(p, "wb") as fh:  # a killed report leaves the old figure or none, not half of one
            fig.savefig(fh, format=ext, dpi=PNG_DPI if ext == "png" else None, metadata=meta)
        paths[ext] = p
    return paths


def _sigs(df: pd.DataFrame, col: str = "signature") -> list[str]:
    return sorted({s for s in df.get(col, pd.Series(dtype=object)).dropna()})


def _ordered(values) -> list:
    return list(dict.fromkeys(values))


def _num(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


# -- drawing -----------------------------------------------------------------------------------------------------
def _label_in(text: str) -> float:
    """Rough width in inches of a label in the tick font (for the layout only; constrained layout does the rest)."""
    return 0.55 * style.SMALL_PT * len(text) / 72


def _wrap(text: str, width_in: float, pt: float = style.SMALL_PT) -> str:
    chars = max(8, int(width_in * 72 / (0.55 * pt)))
    return "\n".join(textwrap.wrap(str(text), chars, break_on_hyphens=False, break_long_words=False)) or str(text)


def _dot_axis(ax, df: pd.DataFrame, *, rows: list, row: str, hue: str, hue_order: list, looks: style.Looks,
              scale: float = 100.0, filled: str | None = None, dodge: bool = True) -> None:
    """Points with CI whiskers on ``ax``: one row band per value of ``row`` (top to bottom in ``rows``), the values of
    ``hue`` side by side within a band (``dodge``; else one point per row, in the look of its ``hue`` value), each in
    its look. Missing estimates are written "n/a"."""
    dodge = dodge and len(hue_order) > 1
    step = 0.8 / len(hue_order) if dodge else 0.0
    na = []
    for i, rv in enumerate(rows):
        for j, h in enumerate(hue_order if dodge else [None]):
            sub = df[df[row] == rv] if h is None else df[(df[row] == rv) & (df[hue] == h)]
            y = i + (j - (len(hue_order) - 1) / 2) * step if dodge else i
            if h is None and not sub.empty:
                h = sub[hue].iloc[0]
            rec = sub.iloc[0] if not sub.empty else None
            est = _num(rec["estimate"]) if rec is not None else None
            if est is None or h is None:
                na.append(y)
                continue
            look = looks[h]
            lo, hi = (_num(rec[k]) for k in ("low", "high"))
            xerr = None
            if lo is not None and hi is not None:
                xerr = [[max(est - lo, 0) * scale], [max(hi - est, 0) * scale]]
            full = True if filled is None else bool(rec[filled])
            ax.errorbar([est * scale], [y], xerr=xerr, fmt=look.marker, color=look.colour, ecolor=look.colour,
                        mfc=look.colour if full else "white", mec=look.colour, elinewidth=0.9, capsize=1.5,
                        markersize=4.2, markeredgewidth=0.9, zorder=3, clip_on=False)
    ax.set_yticks(range(len(rows)))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    for y in na:  # a labelled gap, not an empty slot that reads as zero or as missing by accident
        ax.annotate("n/a", xy=(0, y), xycoords=("axes fraction", "data"), xytext=(2, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=style.SMALL_PT, color=style.NA_COLOUR, style="italic")


def _grid(ctx: Context, n_panels: int, label_in: float, n_rows_each: int, min_panel_in: float = 0.85,
          max_cols: int = 5, row_in: float = 0.15, extra_in: float = 0.0):
    """A figure of ``n_panels`` panels in as many columns as the width allows; returns (fig, axes list)."""
    avail = ctx.width - label_in - 0.1
    ncols = max(1, min(n_panels, max_cols, int(avail // min_panel_in)))
    nrows = math.ceil(n_panels / ncols)
    panel_h = n_rows_each * row_in + 0.45
    fig, axes = ctx.plt.subplots(nrows, ncols, figsize=(ctx.width, nrows * panel_h + 0.3 + extra_in),
                                 sharey=True, sharex=True, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    return fig, flat[:n_panels], ncols


def _pct_axis(ax, signed: bool = False, lim=None):
    from matplotlib.ticker import MaxNLocator

    if lim is None:
        ax.set_xlim(-3, 103)
        ax.set_xticks([0, 50, 100])
    else:
        lo, hi = lim
        ticks = MaxNLocator(nbins=4, symmetric=signed).tick_values(lo, hi)
        inner = [t for t in ticks if lo + 0.06 * (hi - lo) <= t <= hi - 0.06 * (hi - lo)]  # labels stay inside
        ax.set_xticks(inner or ticks)
        ax.set_xlim(lo, hi)
    ax.grid(axis="y", visible=False)


def _legend(fig, ctx: Context, names: list, title: str | None = None, extra: list | None = None):
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="none", marker=ctx.looks[n].marker, color=ctx.looks[n].colour, markersize=4.5,
                      label=str(n)) for n in names] + list(extra or [])
    if not handles:
        return
    per = max(1.0, max(_label_in(h.get_label()) for h in handles) + 0.35)
    ncol = max(1, min(len(handles), int((ctx.width - 0.2) // per)))
    fig.legend(handles=handles, loc="outside upper center", ncol=ncol, title=title, frameon=False)


def _facets(ctx: Context, df: pd.DataFrame, *, panel: str, panels: list, row: str, rows: list, hue: str,
            hue_order: list, xlabel: str, row_labels: dict | None = None, legend: bool | None = None,
            legend_title: str | None = None, signed: bool = False, lim=None, filled: str | None = None,
            extra_handles: list | None = None, decorate=None, dodge: bool = True):
    """The usual figure: one panel per value of ``panel``, rows and hues as in ``_dot_axis``; a shared legend below
    when the hue is not already named by the row labels."""
    labels = [str((row_labels or {}).get(r, r)) for r in rows]
    label_in = min(max(_label_in(max(labels, key=len, default="")), 0.3), 0.42 * ctx.width)
    wrapped = [_wrap(lab, label_in) for lab in labels]
    lines = max((w.count("\n") + 1 for w in wrapped), default=1)
    dodge = dodge and len(hue_order) > 1
    per_row = max(lines * 0.11 + 0.02, 0.115 * len(hue_order) + 0.05 if dodge else 0.12)
    if legend is None:
        legend = dodge
    n_legend = len(hue_order) + len(extra_handles or [])
    fig, axes, ncols = _grid(ctx, len(panels), label_in, len(rows), row_in=per_row,
                             extra_in=(0.22 * math.ceil(n_legend / 3)) if legend or extra_handles else 0.0)
    panel_in = (ctx.width - label_in) / ncols
    for k, (ax, p) in enumerate(zip(axes, panels)):
        _dot_axis(ax, df[df[panel] == p], rows=rows, row=row, hue=hue, hue_order=hue_order, looks=ctx.looks,
                  filled=filled, dodge=dodge)
        ax.set_title(_wrap(p, panel_in - 0.1, style.FONT_PT))
        _pct_axis(ax, signed, lim)
        if decorate:
            decorate(ax, p)
        if k % ncols == 0:
            ax.set_yticklabels(wrapped)
        else:
            ax.tick_params(axis="y", labelleft=False)
    if ncols == 1:
        axes[-1].set_xlabel(xlabel)
    else:
        fig.supxlabel(xlabel, fontsize=style.FONT_PT)
    if legend or extra_handles:
        _legend(fig, ctx, hue_order if legend else [], legend_title, extra_handles)
    return fig


def _system_rows(df: pd.DataFrame) -> tuple[list, dict]:
    """Rows of the memorization figures: one per system (predictor, and its run where there are several), grouped by
    predictor in order of appearance."""
    order = []
    for pred in _ordered(df["predictor"]):
        order += _ordered(df[df["predictor"] == pred]["system"])
    return order, {s: s for s in order}


def _systems_frame(df: pd.DataFrame, panel: str, panels: list) -> pd.DataFrame:
    """``df`` with a row (estimate None) for each system × panel the runs do not hold, so that it is drawn n/a."""
    systems = df[["system", "predictor"]].drop_duplicates()
    full = systems.merge(pd.DataFrame({panel: panels}), how="cross")
    return full.merge(df.drop(columns=["predictor"]), on=["system", panel], how="left")


# -- the figures ------------------------------------------------------------------------------------------------
def fig_probe_f1(runs, ctx):
    df = frames.probe_f1(runs)
    if df.empty:
        return "no memorization run with span probes"
    panels = [frames.PROBE_TITLES[p] for p in frames.F1_PROBES if frames.PROBE_TITLES[p] in set(df["probe_title"])]
    rows, labels = _system_rows(df)
    data = _systems_frame(df, "probe_title", panels)
    fig = _facets(ctx, data, panel="probe_title", panels=panels, row="system", rows=rows, hue="predictor", dodge=False,
                  hue_order=_ordered(df["predictor"]), xlabel="micro F1 (%)", row_labels=labels)
    return Drawn(fig, f"Span F1 of each predictor on each probe set; whiskers: {CI_BOOTSTRAP}.", _sigs(df))


def fig_strata(runs, ctx):
    df = frames.strata_recall(runs)
    if df.empty:
        return "no coverage strata in the memorization runs"
    panels = [frames.STRATUM_TITLES[s] for s in frames.STRATA]
    rows, labels = _system_rows(df)
    fig = _facets(ctx, _systems_frame(df, "stratum_title", panels), panel="stratum_title", panels=panels,
                  row="system", rows=rows, hue="predictor", dodge=False, hue_order=_ordered(df["predictor"]),
                  xlabel="recall (%)", row_labels=labels)
    return Drawn(fig, "Recall of the original test mentions by whether the mention was seen in training with the same "
                      f"label, with another label, or not at all (n/a: no test mention of that kind); whiskers: "
                      f"{CI_BOOTSTRAP}.", _sigs(df))


def _indicator_figure(runs, ctx, memory: bool):
    """The memory indicators (``memory``) or the descriptive ones of the memorization runs, one panel each, every
    predictor in its look; n/a where an indicator has too little support. A ``Drawn`` or why it was skipped."""
    df = frames.indicators(runs)
    specs = [s for s in frames.indicator_specs(runs) if bool(s.get("memory")) == memory]
    if df.empty or not specs:
        return f"no {'memory' if memory else 'descriptive'} indicator in the memorization runs"
    titles = {s["name"]: frames.indicator_title(s["name"]) for s in specs}
    df = df[df["indicator"].isin(set(titles))]
    df = df.assign(panel=df["indicator"].map(titles))
    rows, labels = _system_rows(df)
    values = [100 * float(v) for v in pd.concat([df["low"], df["high"], df["estimate"]]).dropna()]

    def decorate(ax, _):
        ax.axvline(0, color="0.3", lw=0.7, ls="--", zorder=1)

    fig = _facets(ctx, df, panel="panel", panels=list(titles.values()), row="system", rows=rows, hue="predictor",
                  dodge=False, hue_order=_ordered(df["predictor"]), xlabel="indicator (%)", row_labels=labels,
                  signed=True, lim=_signed_lim(values + [0.0, 100.0]), decorate=decorate)
    return Drawn(fig, _indicator_caption(memory), _sigs(df))


def _indicator_caption(memory: bool) -> str:
    what = ("The memory indicators of each predictor (high = the memory end): the lookup memorizer must sit at the "
            "memory end, the context-only control at the context end, the form-only control at the floor that name "
            "form alone explains" if memory else
            "The descriptive indicators of each predictor (estimates only; name form or the cost of replacement "
            "confound them on their own, see the memory indicators)")
    return (f"{what}; n/a: too little support (the reason is in the indicators table); whiskers: 95% percentile "
            "bootstrap CIs over the units each indicator rests on (items, sentences or matched pairs).")


def fig_indicators(runs, ctx):
    """The memory indicators (those the declared tests are about) of every predictor."""
    return _indicator_figure(runs, ctx, memory=True)


def fig_descriptive_indicators(runs, ctx):
    """The descriptive indicators (estimates, not tested against the controls) of every predictor."""
    return _indicator_figure(runs, ctx, memory=False)


def fig_type_swaps(runs, ctx):
    """The memory share (with its CI) and the share of swapped spans per outcome (counts), per predictor."""
    df = frames.type_swaps(runs)
    if df.empty:
        return "no type-swaps probe in the memorization runs"
    titles = {"memory_share": "memory share", **frames.SWAP_OUTCOMES}
    panels = [titles[k] for k in titles if k in set(df["rate"])]
    rows, labels = _system_rows(df)
    fig = _facets(ctx, _systems_frame(df, "rate_title", panels), panel="rate_title", panels=panels, row="system",
                  rows=rows, hue="predictor", dodge=False, hue_order=_ordered(df["predictor"]),
                  xlabel="share (%)", row_labels=labels)
    return Drawn(fig, "Training names placed in a context that implies another type. Memory share: memorized / "
                      "(memorized + context) label among the swapped spans labelled with either (n/a: fewer than 20 "
                      "such spans); whiskers: 95% percentile bootstrap CIs over swapped sentences. The other panels "
                      "split all swapped spans by outcome (counts, no interval).", _sigs(df))


def fig_pair_lookup(runs, ctx):
    """Accuracy per pair-lookup arm, per predictor."""
    df = frames.pair_lookup(runs)
    if df.empty:
        return "no pair-lookup probe in the memorization runs"
    panels = [t for t in frames.PAIR_ARMS.values() if t in set(df["condition"])]
    rows, labels = _system_rows(df)
    fig = _facets(ctx, _systems_frame(df, "condition", panels), panel="condition", panels=panels, row="system",
                  rows=rows, hue="predictor", dodge=False, hue_order=_ordered(df["predictor"]), xlabel="accuracy (%)",
                  row_labels=labels)
    return Drawn(fig, "Accuracy on training and held-out names matched on label, token count and casing shape, "
                      "presented alone (pure lookup) and in a sentence the model was not trained on; and on training "
                      "names in their own training sentence (sentence recall, a different thing); n/a: the run holds "
                      "no such name; whiskers: 95% percentile bootstrap CIs over items.", _sigs(df))


def fig_formats(runs, ctx):
    df = frames.probe_f1(runs)
    if df.empty or df["format"].nunique() < 2:
        return "needs memorization runs in at least two output formats"
    df = df.copy()
    df["format"] = df["format"].astype(str)
    panels = [frames.PROBE_TITLES[p] for p in frames.F1_PROBES if frames.PROBE_TITLES[p] in set(df["probe_title"])]
    fig = _facets(ctx, df, panel="probe_title", panels=panels, row="format", rows=_ordered(df["format"]),
                  hue="predictor", hue_order=_ordered(df["predictor"]), xlabel="micro F1 (%)")
    return Drawn(fig, f"The same predictors and probes in each output format of the runs; whiskers: {CI_BOOTSTRAP}.",
                 _sigs(df))


def _signed_lim(values, pad: float = 0.08, at_least: float = 1.0):
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    lo, hi = min(vals + [0.0]), max(vals + [0.0])
    span = max(hi - lo, at_least)
    return lo - pad * span, hi + pad * span


def fig_retention_forest(runs, ctx):
    df = frames.retention_rows(runs)
    if df.empty:
        return "no retention run"
    df = df.reset_index(drop=True).copy()
    df["row"] = df["task"] + " · " + df["metric"]
    adapters = _ordered(df["adapter"])
    margins = df["margin"].dropna() if "margin" in df else pd.Series(dtype=float)
    m = float(margins.max()) if len(margins) else None
    values = [100 * float(v) for v in pd.concat([df["low"], df["high"], df["estimate"]]).dropna()]
    lim = _signed_lim(values + ([m, -m] if m else []))
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    look = ctx.looks[adapters[0]]
    extra = [Line2D([], [], ls="none", marker="o", color="0.3", markersize=4.5, label="Holm-significant"),
             Line2D([], [], ls="none", marker="o", color="0.3", mfc="white", markersize=4.5, label="not significant")]
    if m:
        extra.append(Patch(facecolor="0.9", edgecolor="none", label=f"±{m:g} points"))

    def decorate(ax, _):
        if m:
            ax.axvspan(-m, m, color="0.9", zorder=0, lw=0)
        ax.axvline(0, color="0.3", lw=0.7, ls="--", zorder=1)

    del look
    fig = _facets(ctx, df, panel="adapter", panels=adapters, row="row", rows=_ordered(df["row"]), hue="adapter", dodge=False,
                  hue_order=adapters, xlabel="Δ tuned − base (points)", legend=False, signed=True, lim=lim,
                  filled="reject", extra_handles=extra, decorate=decorate)
    band = (f" The grey band is the retention margin ±{m:g} points: a CI inside it (and no significant change) is "
            "'retained', a CI reaching beyond it 'inconclusive'." if m else "")
    return Drawn(fig, "Difference per task between the tuned model and its base; filled points are significant after "
                      "Holm's correction across the adapter's tests; whiskers: 95% CIs of the paired difference "
                      "(Tango's score interval for binary metrics, paired percentile bootstrap otherwise)." + band,
                 _sigs(df) + _sigs(df, "test_signature"))


def fig_learning_forgetting(runs, ctx):
    lf = frames.learning_forgetting(runs)
    if lf.empty:
        return ("needs a memorization run of an adapter with its base and a retention run of the same adapter "
                "(matched by model fingerprint)")
    ret = frames.retention_rows(runs)
    ret = ret[ret["adapter"].isin(set(lf["adapter"]))].copy()
    ret["row"] = ret["task"] + " · " + ret["metric"]
    adapters = _ordered(lf["adapter"])
    gain = _learning_rows(lf)
    learn_rows = _ordered(gain["row"])
    task_rows = _ordered(ret["row"])
    labels = [_wrap(r, 1.3) for r in task_rows]
    lines = max((lab.count("\n") + 1 for lab in labels), default=1)
    row_h = max(0.12 * lines + 0.04, 0.09 * len(adapters) + 0.06)
    h_gain = 0.18 * len(learn_rows) + 0.5
    h_ret = row_h * len(task_rows) + 0.5
    stacked = ctx.layout == "column"
    if stacked:
        fig, (a1, a2) = ctx.plt.subplots(2, 1, figsize=(ctx.width, h_gain + h_ret + 0.45),
                                         gridspec_kw={"height_ratios": [h_gain, h_ret]})
    else:
        fig, (a1, a2) = ctx.plt.subplots(1, 2, figsize=(ctx.width, max(h_gain, h_ret) + 0.45),
                                         gridspec_kw={"width_ratios": [1, 1.4]})
    _dot_axis(a1, gain, rows=learn_rows, row="row", hue="look", hue_order=_ordered(gain["look"]), looks=ctx.looks,
              dodge=False)
    a1.set_yticklabels([_wrap(r, 1.3) for r in learn_rows])
    _pct_axis(a1)
    a1.set_title("learning")
    a1.set_xlabel("NER F1 on the test sentences (%)")
    _dot_axis(a2, ret, rows=task_rows, row="row", hue="adapter", hue_order=adapters, looks=ctx.looks,
              filled="reject")
    a2.set_yticklabels(labels)
    _pct_axis(a2, True, _signed_lim([100 * float(v) for v in pd.concat([ret["low"], ret["high"]]).dropna()]))
    a2.axvline(0, color="0.3", lw=0.7, ls="--", zorder=1)
    a2.set_title("forgetting")
    a2.set_xlabel("retention Δ tuned − base (points)")
    _legend(fig, ctx, adapters)
    return Drawn(fig, "Per adapter, learning (NER F1 of the adapter and of its base on the original test sentences, "
                      "each with its own 95% percentile bootstrap CI: the gain is the distance between them, not a "
                      "paired test) beside forgetting (the change on each general task; filled: Holm-significant); "
                      "whiskers: 95% CIs (of each F1; of the paired difference for retention: Tango's score interval "
                      "for binary metrics, paired bootstrap otherwise).",
                 _sigs(lf) + _sigs(ret))


def _learning_rows(lf: pd.DataFrame) -> pd.DataFrame:
    """The learning panel's points: per adapter, its base's F1 and its own (each with its CI); ``look`` names the
    series (the base's look for the base, the adapter's for the adapter)."""
    rows = []
    for _, r in lf.iterrows():
        rows.append({"row": f"{r['adapter']}: base", "look": r["base"], "estimate": r["base_f1"],
                     "low": r["base_low"], "high": r["base_high"]})
        rows.append({"row": f"{r['adapter']}: tuned", "look": r["adapter"], "estimate": r["tuned"],
                     "low": r["tuned_low"], "high": r["tuned_high"]})
    return pd.DataFrame(rows)


FIGURE_BUILDERS = {
    "indicators": fig_indicators,
    "descriptive-indicators": fig_descriptive_indicators,
    "probe-f1": fig_probe_f1,
    "strata-recall": fig_strata,
    "type-swaps": fig_type_swaps,
    "pair-lookup": fig_pair_lookup,
    "retention-forest": fig_retention_forest,
    "learning-forgetting": fig_learning_forgetting,
    "formats": fig_formats,
}


def report_names(runs: list[Run]) -> list[str]:
    """Every predictor, model and adapter name the report's figures show (for ``style.Looks``)."""
    names = set()
    for r in runs:
        names |= set(r.scores) if r.kind == frames.MEMORIZATION else set()
        for key in (r.stats.get("comparisons") or {}) if r.kind == frames.RETENTION else ():
            names.add(key)
        for s in (r.stats.get("systems") or {}).values() if isinstance(r.stats.get("systems"), dict) else ():
            if isinstance(s, dict) and "model" in s:
                names.add(str(s["model"]))
    return sorted(names)


def draw(name: str, runs: list[Run], layout: str = "full", builders: dict | None = None):
    """Draw one figure at ``layout`` ("full" or "column"): a ``Drawn`` (close its ``fig`` when done) or the reason
    it was skipped."""
    plt = _pyplot()
    build = (builders or FIGURE_BUILDERS)[name]
    return build(runs, Context(plt, style.WIDTHS[layout], layout, style.Looks(report_names(runs))))


def build_figures(runs: list[Run], out_dir: Path, extra: dict | None = None) -> tuple[list[Figure], list[Skipped]]:
    """Draw every figure the runs hold data for (``FIGURE_BUILDERS``, then the ``extra`` builders by name) at full
    width into ``out_dir`` and at column width into ``COLUMN_DIR`` beside it; returns the figures and the skipped
    ones."""
    builders = {**FIGURE_BUILDERS, **(extra or {})}
    figures, skipped = [], []
    for name in builders:
        paths = {}
        res = None
        for layout, folder in (("full", out_dir), ("column", out_dir.parent / COLUMN_DIR)):
            res = draw(name, runs, layout, builders)
            if isinstance(res, str):
                break
            paths[layout] = _save(res.fig, folder, name)
            import matplotlib.pyplot as plt

            plt.close(res.fig)
        if isinstance(res, str):
            skipped.append(Skipped(name, res))
        else:
            figures.append(Figure(name, res.caption, paths["full"], res.signatures, paths["column"]))
    return figures, skipped
