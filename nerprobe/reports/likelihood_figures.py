"""The two figures of the generation-free probes, drawn from their JSON results (``probes.likelihood``,
``probes.exposure``) with the report's look (``reports.style``: print widths, fonts >= 7 pt, one look per model).

- ``fig_likelihood_win``: per frame (panel), each model's win rate of training names over matched held-out names
  with its 95% CI, the base beside the tuned models, 0.5 (no preference) marked; the calibrated win rate (tuning's
  gain, training vs held-out name) of each tuned model under it.
- ``fig_exposure_hist``: the exposure score of the test sentences and of their matched references as overlaid
  histograms, the AUC with its CI in the panel title; one panel per score.

``save_likelihood_figures(likelihood=..., exposure=..., out_dir=...)`` writes both as pdf/svg/png and returns
``{figure name: {ext: path}}``.
"""

from __future__ import annotations

from pathlib import Path

from nerprobe.reports import style

WIN_PANELS = (("name_win_sentence", "name in a test sentence"), ("name_win_format", "name in the target format"),
              ("label_win", "gold label given the name"))
SCORE_TITLES = {"min_k": "Min-K% Prob", "min_k_plus": "Min-K%++", "mean_logprob": "mean log-probability"}


def fig_likelihood_win(result: dict, layout: str = "full"):
    """The win-rate figure of a ``run_likelihood_probe`` result (a matplotlib Figure)."""
    from nerprobe.reports.figures import _pyplot

    plt = _pyplot()
    models = list(result["models"])
    looks = style.Looks(models)
    rows = []  # (label, model, estimate)
    for m in models:
        rows.append((m, m, result["models"][m]["indicators"]))
    for m in models:
        if "calibrated" in result["models"][m]:
            cal = {k[len("calibrated_"):]: v for k, v in result["models"][m]["calibrated"].items()}
            rows.append((f"{m}, tuning gain", m, cal))
    width = style.WIDTHS[layout]
    ncols = 3 if layout == "full" else 1
    nrows = 1 if layout == "full" else 3
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, (0.3 + 0.22 * len(rows)) * nrows + 0.5), sharey=True,
                             squeeze=False)
    for ax, (ind, title) in zip(axes.flat, WIN_PANELS):
        for y, (label, model, inds) in enumerate(rows):
            est = inds.get(ind, {})
            look = looks[model]
            if est.get("value") is None:
                ax.text(0.5, y, "n/a", ha="center", va="center", fontsize=style.SMALL_PT, color=style.NA_COLOUR)
                continue
            v, lo, hi = est["value"], est["low"], est["high"]
            ax.errorbar([v], [y], xerr=[[v - lo], [hi - v]], fmt=look.marker, color=look.colour,
                        mfc="white" if "gain" in label else look.colour)
        ax.axvline(0.5, color="0.5", lw=0.6, ls="--")
        ax.set_xlim(0, 1.02)
        ax.set_title(title)
        ax.set_xlabel("share of pairs, training name wins")
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.invert_yaxis()
    return fig


def fig_exposure_hist(result: dict, layout: str = "full", scores=("min_k", "min_k_plus")):
    """The exposure histograms of a ``run_exposure_probe`` result (a matplotlib Figure)."""
    from nerprobe.reports.figures import _pyplot

    plt = _pyplot()
    width = style.WIDTHS[layout]
    ncols = len(scores) if layout == "full" else 1
    nrows = 1 if layout == "full" else len(scores)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 2.0 * nrows + 0.3), squeeze=False)
    colours = {"test": style.PALETTE[3], "reference": style.PALETTE[0]}
    for ax, name in zip(axes.flat, scores):
        block = result["scores"][name]
        for side, hatch in (("test", "//"), ("reference", "")):
            h = block["histogram"][side]
            if not h["edges"]:
                continue
            edges = h["edges"]
            ax.stairs(h["counts"], edges, fill=True, alpha=0.35, color=colours[side], hatch=hatch,
                      label=f"{side} sentences")
            ax.stairs(h["counts"], edges, color=colours[side], lw=0.8)
        a = block["auc"]
        auc = "AUC n/a" if a.get("value") is None else f"AUC {a['value']:.2f} [{a['low']:.2f}, {a['high']:.2f}]"
        ax.set_title(f"{SCORE_TITLES.get(name, name)}: {auc}")
        ax.set_xlabel(f"{SCORE_TITLES.get(name, name)} (higher: more likely seen)")
        ax.set_ylabel("sentences")
    axes.flat[0].legend(loc="upper left")
    return fig


def save_likelihood_figures(*, likelihood: dict | None = None, exposure: dict | None = None,
                            out_dir: str | Path, layout: str = "full") -> dict[str, dict[str, Path]]:
    """Write ``likelihood-win`` and ``exposure-histograms`` (those whose result is given) to ``out_dir``; returns
    ``{name: {ext: path}}``."""
    from nerprobe.reports.figures import _save

    out: dict[str, dict[str, Path]] = {}
    for name, res, draw in (("likelihood-win", likelihood, fig_likelihood_win),
                            ("exposure-histograms", exposure, fig_exposure_hist)):
        if res is None:
            continue
        fig = draw(res, layout)
        out[name] = _save(fig, Path(out_dir), name)
        import matplotlib.pyplot as plt

        plt.close(fig)
    return out


def _measured(runs, probe: str) -> tuple[object, dict] | None:
    """The first memorization run holding ``measured/<probe>.json`` and that result (None when none does)."""
    import json

    for run in runs:
        path = Path(run.path) / "measured" / f"{probe}.json"
        if path.is_file():
            result = json.loads(path.read_text(encoding="utf-8"))
            if result.get("models") or result.get("scores"):
                return run, result
    return None


def report_builders() -> dict:
    """Builders for ``figures.build_figures(extra=...)``: the two figures, drawn from the run directories'
    ``measured/likelihood.json`` and ``measured/exposure.json``."""
    from nerprobe.reports.figures import Drawn

    def likelihood(runs, ctx):
        found = _measured(runs, "likelihood")
        if found is None:
            return "needs a memorization run with --probes likelihood"
        run, res = found
        return Drawn(fig_likelihood_win(res, ctx.layout),
                     f"Likelihood membership ({run.name}): share of matched pairs whose training name is more likely "
                     "than its held-out partner, per model and frame; whiskers: 95% paired bootstrap CIs over pairs.",
                     sorted({e.get("signature") for m in res["models"].values()
                             for e in m["indicators"].values() if e.get("signature")}))

    def exposure(runs, ctx):
        found = _measured(runs, "exposure")
        if found is None:
            return "needs a memorization run with --probes exposure"
        run, res = found
        auc = res["scores"]["min_k"]["auc"]
        shown = "n/a" if auc.get("value") is None else f"{auc['value']:.2f} [{auc['low']:.2f}, {auc['high']:.2f}]"
        return Drawn(fig_exposure_hist(res, ctx.layout),
                     f"Pretraining exposure ({run.name}): Min-K% and Min-K%++ scores of the test sentences and their "
                     f"matched references under the base model; AUC test vs reference {shown} (95% bootstrap CI).",
                     [auc.get("signature")] if auc.get("signature") else [])

    return {"likelihood-win": likelihood, "exposure-histograms": exposure}
