"""Paper-style figures with seaborn, each saved as PDF, SVG and PNG in one consistent style.

Every figure draws precomputed estimates and their CIs from ``frames`` (the runs' own bootstrap CIs, not seaborn's:
seaborn would resample the already-aggregated numbers, which is wrong, so bars and whiskers are drawn from the
stored ``low``/``high``). A figure whose data the runs do not hold is skipped with a note saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nerprobe.reports import frames
from nerprobe.reports.runs import Run
from nerprobe.safe_io import atomic_writer

FORMATS = ("pdf", "svg", "png")
PNG_DPI = 150


@dataclass
class Figure:
    """A written figure: its name, caption, the paths by extension, and the signatures of its numbers."""

    name: str
    caption: str
    paths: dict[str, Path]
    signatures: list[str]


@dataclass
class Skipped:
    """A figure that was not drawn, and why."""

    name: str
    reason: str


def _style():
    import matplotlib

    matplotlib.use("Agg")  # no display: reports are written, not shown
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.1,
                  rc={"svg.fonttype": "none", "pdf.fonttype": 42, "axes.titleweight": "bold",
                      "figure.dpi": 100, "savefig.bbox": "tight", "legend.frameon": False,
                      "svg.hashsalt": "nerprobe", "path.simplify": True,
                      # labels are user text (run, adapter, label names): "$x$" is plain text, not mathtext
                      "text.parse_math": False})
    return plt, sns


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
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


def _errors(df: pd.DataFrame, scale: float = 100.0) -> np.ndarray:
    """Asymmetric error-bar lengths (2, n) from estimate/low/high; 0 where there is no CI."""
    est = df["estimate"].astype(float).to_numpy() * scale
    low = df["low"].astype(float).fillna(df["estimate"]).to_numpy() * scale
    high = df["high"].astype(float).fillna(df["estimate"]).to_numpy() * scale
    return np.vstack([np.clip(est - low, 0, None), np.clip(high - est, 0, None)])


def _grouped_bars(ax, df: pd.DataFrame, x: str, hue: str, x_order: list, hue_order: list, sns, ylabel: str):
    """Bars of ``estimate`` (in %) grouped by ``x`` and coloured by ``hue``, with the stored CIs as whiskers."""
    colors = sns.color_palette("colorblind", len(hue_order))
    width = 0.8 / max(len(hue_order), 1)
    for j, h in enumerate(hue_order):
        sub = df[df[hue] == h].set_index(x).reindex(x_order).dropna(subset=["estimate"])
        pos = np.array([x_order.index(v) for v in sub.index]) - 0.4 + width * (j + 0.5)
        ax.bar(pos, sub["estimate"].astype(float) * 100, width=width * 0.95, color=colors[j], label=str(h),
               edgecolor="white", linewidth=0.5)
        ax.errorbar(pos, sub["estimate"].astype(float) * 100, yerr=_errors(sub), fmt="none", ecolor="0.15",
                    elinewidth=1, capsize=2.5)
    ax.set_xticks(range(len(x_order)))
    ax.set_xticklabels([str(v) for v in x_order])
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 105)
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _sigs(df: pd.DataFrame, col: str = "signature") -> list[str]:
    return sorted({s for s in df.get(col, pd.Series(dtype=object)).dropna()})


def _ordered(values) -> list:
    return list(dict.fromkeys(values))


# -- the figures ------------------------------------------------------------------------------------------------
def fig_probe_f1(runs, out_dir, plt, sns):
    df = frames.probe_f1(runs)
    if df.empty:
        return "no memorization run with span probes"
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * df["probe"].nunique() + 2.5), 3.4))
    _grouped_bars(ax, df, "probe_title", "system", _ordered(df["probe_title"]), _ordered(df["system"]), sns,
                  "micro F1 (%)")
    ax.set_xlabel("probe set")
    ax.set_title("F1 per probe and predictor (95% bootstrap CI)")
    return ("Span F1 of each predictor on each probe set; whiskers are 95% percentile bootstrap CIs over sentences.",
            _save(fig, out_dir, "probe-f1"), _sigs(df))


def fig_strata(runs, out_dir, plt, sns):
    df = frames.strata_recall(runs)
    if df.empty:
        return "no coverage strata in the memorization runs"
    order = [frames.STRATUM_TITLES[s] for s in frames.STRATA if frames.STRATUM_TITLES[s] in set(df["stratum_title"])]
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    _grouped_bars(ax, df, "stratum_title", "system", order, _ordered(df["system"]), sns, "recall (%)")
    ax.set_xlabel("test mention, by its coverage in training")
    ax.set_title("Recall by coverage stratum (95% CI)")
    return ("Recall of the original test mentions by whether the mention was seen in training with the same label, "
            "with another label, or not at all.", _save(fig, out_dir, "strata-recall"), _sigs(df))


def fig_type_swaps(runs, out_dir, plt, sns):
    df = frames.type_swaps(runs)
    if df.empty:
        return "no type-swaps probe in the memorization runs"
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    _grouped_bars(ax, df, "system", "rate_title", _ordered(df["system"]), ["context label", "memorized label"], sns,
                  "share of swapped entities (%)")
    ax.set_xlabel("predictor")
    ax.set_title("Type swaps: context-following vs memorized label")
    return ("Training mentions placed in contexts of another type: the share labelled as the context implies vs "
            "with the label memorized from training.", _save(fig, out_dir, "type-swaps"), _sigs(df))


def fig_pair_lookup(runs, out_dir, plt, sns):
    df = frames.pair_lookup(runs)
    if df.empty:
        return "no pair-lookup probe in the memorization runs"
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    _grouped_bars(ax, df, "system", "condition", _ordered(df["system"]), _ordered(df["condition"]), sns,
                  "accuracy (%)")
    ax.set_xlabel("predictor")
    ax.set_title("Pair lookup vs in-context accuracy")
    return ("Accuracy on entities presented alone (pure lookup) and in their sentence, for training and held-out "
            "entities.", _save(fig, out_dir, "pair-lookup"), _sigs(df))


def fig_retention_forest(runs, out_dir, plt, sns):
    df = frames.retention_rows(runs)
    if df.empty:
        return "no retention run"
    df = df.reset_index(drop=True)
    many = df["adapter"].nunique() > 1
    labels = [f"{r.task} · {r.metric}" + (f" [{r.adapter}]" if many else "") for r in df.itertuples()]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(df) + 1.4))
    y = np.arange(len(df))[::-1]
    colors = sns.color_palette("colorblind", 3)
    for i, r in df.iterrows():
        c = colors[1] if r["reject"] and r["estimate"] < 0 else colors[2] if r["reject"] else "0.35"
        est, lo, hi = (float(r[k]) * 100 for k in ("estimate", "low", "high"))
        ax.plot([lo, hi], [y[i], y[i]], color=c, lw=1.6)
        ax.plot([est], [y[i]], marker="D" if r["reject"] else "o", color=c, ms=6 if r["reject"] else 5,
                mfc=c if r["reject"] else "white")
    margins = df["margin"].dropna() if "margin" in df else []
    band = ""
    if len(margins):
        m = float(margins.max())
        ax.axvspan(-m, m, color="0.92", zorder=0)
        band = (f" The grey band is the retention margin ±{m:g} points: a CI inside it (and no significant change) "
                "is 'retained', a CI reaching beyond it 'inconclusive'.")
    ax.axvline(0, color="0.2", lw=0.8, ls="--")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_xlabel("Δ tuned − base (points, 95% paired bootstrap CI)")
    ax.set_title("Retention after tuning (filled ◆: Holm-significant)")
    return ("Difference per task between the tuned model and its base; filled diamonds are significant after "
            "Holm's correction across the adapter's tests." + band, _save(fig, out_dir, "retention-forest"),
            _sigs(df) + _sigs(df, "test_signature"))


def fig_learning_forgetting(runs, out_dir, plt, sns):
    df = frames.learning_forgetting(runs)
    if df.empty:
        return ("needs a memorization run of an adapter with its base and a retention run of the same adapter "
                "(matched by model fingerprint)")
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    colors = sns.color_palette("colorblind", len(df))
    for i, r in df.reset_index(drop=True).iterrows():
        x, y = r["forgetting"] * 100, r["gain"] * 100
        ax.errorbar([x], [y], yerr=[[y - r["gain_low"] * 100], [r["gain_high"] * 100 - y]],
                    xerr=[[x - r["forgetting_min"] * 100], [r["forgetting_max"] * 100 - x]], fmt="o", ms=7,
                    color=colors[i], capsize=3, label=f"{r['adapter']} ({r['format']})")
    ax.axvline(0, color="0.2", lw=0.8, ls="--")
    ax.axhline(0, color="0.2", lw=0.8, ls="--")
    ax.set_xlabel("forgetting: mean retention Δ (points; bars: task range)")
    ax.set_ylabel("learning: NER F1 gain over base (points)")
    ax.set_title("Learning vs forgetting per adapter")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ("Per adapter: NER F1 gain over its base (95% paired bootstrap CI) against the mean retention Δ over "
            "the general tasks (horizontal bars span the per-task Δ).", _save(fig, out_dir, "learning-forgetting"),
            _sigs(df, "gain_signature"))


def fig_formats(runs, out_dir, plt, sns):
    df = frames.probe_f1(runs)
    if df.empty or df["format"].nunique() < 2:
        return "needs memorization runs in at least two output formats"
    df = df.copy()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * df["probe"].nunique() + 2.5), 3.4))
    preds = _ordered(df["predictor"])
    df["series"] = df["predictor"] + " · " + df["format"].astype(str)
    order = [f"{p} · {f}" for p in preds for f in _ordered(df["format"].astype(str))]
    order = [o for o in order if o in set(df["series"])]
    _grouped_bars(ax, df, "probe_title", "series", _ordered(df["probe_title"]), order, sns, "micro F1 (%)")
    ax.set_xlabel("probe set")
    ax.set_title("Output formats compared (95% CI)")
    return ("The same predictors and probes in each output format of the runs.", _save(fig, out_dir, "formats"),
            _sigs(df))


FIGURE_BUILDERS = {
    "probe-f1": fig_probe_f1,
    "strata-recall": fig_strata,
    "type-swaps": fig_type_swaps,
    "pair-lookup": fig_pair_lookup,
    "retention-forest": fig_retention_forest,
    "learning-forgetting": fig_learning_forgetting,
    "formats": fig_formats,
}


def build_figures(runs: list[Run], out_dir: Path, extra: dict | None = None) -> tuple[list[Figure], list[Skipped]]:
    """Draw every figure the runs hold data for into ``out_dir`` (``FIGURE_BUILDERS``, then the ``extra`` builders
    by name); returns the figures and the skipped ones."""
    plt, sns = _style()
    figures, skipped = [], []
    for name, build in {**FIGURE_BUILDERS, **(extra or {})}.items():
        res = build(runs, out_dir, plt, sns)
        if isinstance(res, str):
            skipped.append(Skipped(name, res))
        else:
            caption, paths, sigs = res
            figures.append(Figure(name, caption, paths, sigs))
    return figures, skipped
