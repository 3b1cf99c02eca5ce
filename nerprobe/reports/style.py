"""One look for every figure: the two print widths, font sizes, and a fixed colour, marker and hatch per predictor.

A paper prints a figure at the width of a column (3.3 in) or of the page (6.9 in); figures are drawn at exactly those
widths (no ``bbox_inches="tight"``, which would change them) so that the sizes set here are the sizes printed, none
under ``MIN_FONT_PT``.

Colours come from seaborn's "colorblind" palette (Okabe–Ito's hues) and every series also has its own marker (and a
hatch, for bars), so no two series differ by colour alone. A predictor keeps its look in every figure: the known roles
(the tuned model, its base, the lookup memorizer, the context-only reader, the form-only reader, the do-nothing
predictor, symbolized labels) are fixed here; any other name (a user's model, an adapter) gets the next unused
colour/marker pair in sorted order of the names in the report, so one report never gives two names the same pair.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTHS = {"full": 6.9, "column": 3.3}
"""Figure widths in inches: full page width and one column of a two-column paper."""

MIN_FONT_PT = 7.0
FONT_PT = 8.0  # axis labels, panel titles
SMALL_PT = 7.0  # tick labels, legends, "n/a" marks

PALETTE = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494", "#ece133",
           "#56b4e9")
"""seaborn's "colorblind" palette (hex), in its order; kept here so a figure's colours do not depend on the theme."""

NA_COLOUR = "0.45"


@dataclass(frozen=True)
class Look:
    """How one series is drawn: colour (hex), matplotlib marker and bar hatch."""

    colour: str
    marker: str
    hatch: str


#: role → look; the roles are the predictors every memorization run compares.
ROLE_LOOKS = {
    "model": Look(PALETTE[0], "o", ""),  # the tuned model: blue circle
    "base": Look(PALETTE[1], "s", "//"),  # its base model: orange square
    "reader": Look(PALETTE[2], "^", ".."),  # context-only control: green triangle
    "memorizer": Look(PALETTE[3], "D", "xx"),  # lookup baseline, a pure memorizer: vermillion diamond
    "form": Look(PALETTE[4], "v", "\\\\"),  # form-only control: purple down-triangle
    "symbols": Look(PALETTE[5], "P", "++"),  # symbolized labels: brown plus
    "nothing": Look(PALETTE[7], "X", "--"),  # do-nothing predictor: grey cross
}

#: predictor name (lower case) → role.
ROLES = {
    "model": "model", "tuned": "model", "subject": "model",
    "baseline": "base", "base": "base",
    "context-only": "reader", "context_only": "reader", "reader": "reader",
    "lookup": "memorizer", "lookup-baseline": "memorizer", "memorizer": "memorizer",
    "form-only": "form", "form_only": "form",
    "symbols": "symbols",
    "do-nothing": "nothing", "do_nothing": "nothing", "nothing": "nothing", "empty": "nothing",
}

FALLBACK_MARKERS = ("h", "p", "*", "<", ">", "d", "H", "8")
FALLBACK_HATCHES = ("oo", "||", "--", "O", "\\\\//", "..", "xx", "++")


def role(name: str) -> str | None:
    """The role a predictor name stands for, or None for another name."""
    return ROLES.get(str(name).strip().lower())


class Looks:
    """The look of every name in one report: fixed for the known roles, the next free pair for other names.

    ``Looks(names)[name]``; a name not given at construction gets a look from its own sorted position among the
    other names it is asked with, so ask with every name the report shows (``Looks.of``).
    """

    def __init__(self, names=()):
        self._looks: dict[str, Look] = {}
        present = {role(n) for n in names} - {None}
        taken = [ROLE_LOOKS[r].colour for r in ROLE_LOOKS if r in present]
        # unused colours first (grey last: it reads as "missing"); then repeat, the marker differs
        free = [c for c in PALETTE if c not in taken and c != PALETTE[7]] + [PALETTE[7]] + taken
        others = sorted({str(n) for n in names if role(n) is None})
        for i, n in enumerate(others):
            self._looks[n] = Look(free[i % len(free)], FALLBACK_MARKERS[i % len(FALLBACK_MARKERS)],
                                  FALLBACK_HATCHES[i % len(FALLBACK_HATCHES)])

    def __getitem__(self, name: str) -> Look:
        r = role(name)
        if r is not None:
            return ROLE_LOOKS[r]
        name = str(name)
        if name not in self._looks:  # not announced: deterministic from the name alone
            import zlib

            h = zlib.crc32(name.encode("utf-8"))
            self._looks[name] = Look(PALETTE[h % len(PALETTE)], FALLBACK_MARKERS[h % len(FALLBACK_MARKERS)],
                                     FALLBACK_HATCHES[h % len(FALLBACK_HATCHES)])
        return self._looks[name]


def rc() -> dict:
    """matplotlib settings of every figure: print sizes in points, exact figure sizes, reproducible files."""
    return {
        "font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT, "figure.titlesize": FONT_PT,
        "xtick.labelsize": SMALL_PT, "ytick.labelsize": SMALL_PT, "legend.fontsize": SMALL_PT,
        "legend.title_fontsize": SMALL_PT, "axes.titleweight": "normal", "axes.linewidth": 0.6,
        "grid.linewidth": 0.4, "lines.linewidth": 1.0, "lines.markersize": 4.5, "errorbar.capsize": 1.5,
        "xtick.major.size": 2.5, "ytick.major.size": 0, "xtick.major.pad": 2, "ytick.major.pad": 2,
        "axes.titlepad": 3, "axes.labelpad": 2,
        "figure.constrained_layout.use": True, "figure.constrained_layout.h_pad": 0.03,
        "figure.constrained_layout.w_pad": 0.03, "savefig.bbox": None, "savefig.pad_inches": 0,
        "figure.dpi": 100, "legend.frameon": False, "legend.handletextpad": 0.3, "legend.columnspacing": 1.0,
        "legend.borderaxespad": 0.2,
        "svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "nerprobe", "path.simplify": True,
        "axes.unicode_minus": True,
        # labels are user text (run, adapter, label names): "$x$" is plain text, not mathtext
        "text.parse_math": False,
    }
