"""The registry of memorization probes: one ``Probe`` per name in ``PROBES``, as sacreBLEU keeps ``METRICS``.

A probe builds its probe sets from ``(train, test, seed)`` (``build``), describes one predictor's results on them
(``describe``: F1 per set with CIs, strata, outcome counts) and gives the per-unit statistics of its indicators
(``units``, see ``probes.measures``). ``indicators`` declares each indicator (name, title, what it is conditioned on,
whether it is a memory indicator that enters the family of tests). Runs, reports and the CLI read names, titles and
sets from here; no code outside a probe's own module tests a probe by name.

Probes and their sets:

- ``coverage``: the test sentences as they are (``coverage``), mentions in strata by what training saw.
- ``unseen-entities``: every replaceable entity replaced by an unseen name (``unseen-entities``) and, aligned item
  by item, by another training entity of the same type and shape (``seen-replacements``); needs ``coverage``.
- ``type-swaps``: one entity per sentence swapped for a consistently labelled training entity of another type.
- ``swapped-labels``: the test set under renamed labels (three sets): instruction-following under renamed labels,
  not a memory indicator.
- ``pair-lookup``: matched training and held-out names, alone, in an untrained sentence, and (training names only)
  in their own training sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from nerprobe.analysis.estimates import Estimate
from nerprobe.analysis.indicators import UnitStats, estimate, f1_of
from nerprobe.errors import InputError
from nerprobe.probes import measures


@dataclass(frozen=True)
class IndicatorSpec:
    """One indicator of a probe (high = memory end).

    ``memory`` True: a memory indicator, tested for each subject against its base and against the form-only floor,
    and between subjects. ``between`` True (``memory`` False): confounded by name form on its own, so tested only
    between subjects on the same sets (e.g. the seen-unseen gap of an adapter trained on names against one trained
    on symbols). Neither: descriptive, estimates only."""

    name: str
    title: str
    conditioned_on: str
    memory: bool = True
    between: bool = False
    unit: str = "share"  # "share" (a fraction, shown in %) or "nats/token"


@dataclass
class BuildContext:
    """What a probe builder gets: the corpora (``test`` already limited), the mention index of training, the label
    set of the prompts, the seed and the options of the run."""

    train: list
    test: list
    index: object  # probes.coverage.MentionIndex
    labelset: object  # formats.labels.LabelSet
    seed: int
    pool: list | None = None
    replacement_source: str = "auto"
    pair_samples: int | None = 500
    min_context: int = 3


@dataclass
class ScoreContext:
    """What scoring gets: the labels of each set (gold and predicted), the mention index, how spans match, and the
    bootstrap's resamples and seed."""

    labels: dict[str, list[str]]
    index: object
    n_resamples: int
    seed: int
    match: str = "exact"


class Probe(Protocol):
    """A memorization probe (see the module docstring)."""

    name: str
    title: str
    sets: tuple[str, ...]
    requires: tuple[str, ...]
    indicators: tuple[IndicatorSpec, ...]

    def build(self, ctx: BuildContext) -> dict:
        """The probe's sets, name → ProbeSet (deterministic for ``ctx.seed``)."""

    def describe(self, sets: dict, preds: dict, ctx: ScoreContext) -> dict:
        """JSON-ready descriptive scores of one predictor, per set name."""

    def units(self, sets: dict, preds: dict, ctx: ScoreContext) -> dict[str, UnitStats]:
        """Per-unit statistics of each indicator for one predictor."""


def f1_estimate(probe_set, predictions, ctx: ScoreContext) -> dict:
    """Micro precision, recall and F1 of a set with a bootstrap CI of F1 over items (an empty set: ``n/a``)."""
    counts = measures.micro_counts(probe_set, predictions, ctx.labels[probe_set.name], ctx.match)
    tp, npred, ngold = (int(x) for x in counts.sum(axis=0)) if len(counts) else (0, 0, 0)
    unit = UnitStats(counts, _micro_f1, len(counts), "items", "micro-f1", None if len(counts) else "no items")
    # no true positive in any item: every resample's micro-F1 is 2*0 / (pred + gold), or 0 where that is 0/0
    est = estimate(unit, ctx.n_resamples, ctx.seed, min_support=1, every_resample=0.0 if tp == 0 else None)
    return {"f1": est.to_dict(), "precision": tp / npred if npred else None, "recall": tp / ngold if ngold else None,
            "n_items": len(counts), "tp": tp, "n_pred": npred, "n_gold": ngold}


def _micro_f1(t):
    return f1_of(t[..., 0], t[..., 1], t[..., 2])


@dataclass
class _Probe:
    name: str
    title: str
    sets: tuple[str, ...]
    build_fn: Callable[[BuildContext], dict]
    units_fn: Callable[[dict, dict, ScoreContext], dict] | None = None
    extra_fn: Callable[[dict, dict, ScoreContext], dict] | None = None
    indicators: tuple[IndicatorSpec, ...] = ()
    requires: tuple[str, ...] = ()
    generates: bool = True
    measure_fn: Callable[[dict, "MeasureContext"], dict] | None = None

    def build(self, ctx: BuildContext) -> dict:
        return self.build_fn(ctx)

    def describe(self, sets: dict, preds: dict, ctx: ScoreContext) -> dict:
        out = {name: f1_estimate(sets[name], preds[name], ctx) for name in self.sets if name in sets}
        if self.extra_fn is not None:
            for name, extra in self.extra_fn(sets, preds, ctx).items():
                out.setdefault(name, {}).update(extra)
        return out

    def units(self, sets: dict, preds: dict, ctx: ScoreContext) -> dict[str, UnitStats]:
        return self.units_fn(sets, preds, ctx) if self.units_fn else {}

    def measure(self, sets: dict, ctx: "MeasureContext") -> dict:
        return self.measure_fn(sets, ctx) if self.measure_fn else {}


@dataclass
class MeasureContext:
    """What a generation-free probe gets: the language models by predictor name (``LoadedModel``; ``base`` names
    the base model, None without one), the run's format, labels, seed and resamples, and the training corpus."""

    models: dict
    base: str | None
    format_name: str
    labels: list[str]
    seed: int
    n_resamples: int
    train: list
    batch_size: int = 32


def measured(result: dict) -> dict:
    """The part of a generation-free probe's result the run merges: ``{"indicators": {predictor: {name: Estimate
    dict}}, "comparisons": [Comparison dict]}`` (empty when the probe returns neither)."""
    return {"indicators": result.get("indicators", {}), "comparisons": result.get("comparisons", [])}


# -- the probes ------------------------------------------------------------------------------------------------
def _build_coverage(ctx: BuildContext) -> dict:
    from nerprobe.probes.coverage import build_coverage

    return {"coverage": build_coverage(ctx.train, ctx.test, ctx.seed, index=ctx.index)}


def _coverage_extra(sets, preds, ctx) -> dict:
    from nerprobe.probes.coverage import consistency_bin, score_strata

    cov, pred = sets["coverage"], preds["coverage"]
    strata = score_strata(cov, pred, ctx.index)
    outcomes: dict[str, list[bool]] = {}
    bins: dict[str, list[bool]] = {}
    for item, p in zip(cov.items, pred):
        pset = {(e.start, e.end, e.label) for e in p}
        for f in item.meta["entities"]:
            ok = (f["start"], f["end"], f["label"]) in pset
            outcomes.setdefault(f["stratum"], []).append(ok)
            bins.setdefault(consistency_bin(f["consistency"]), []).append(ok)
    by_stratum = {k: {"gold": st.gold, "recall": _rate(outcomes.get(k, []), ctx), "predicted": st.predicted,
                      "precision": st.precision if st.predicted else None} for k, st in strata.items()}
    return {"coverage": {"strata": by_stratum,
                         "recall_by_consistency": {k: _rate(bins[k], ctx) for k in sorted(bins)}}}


def _rate(outcomes: Sequence[bool], ctx: ScoreContext) -> dict:
    """A share of true outcomes with a bootstrap CI over items (``n/a`` without items)."""
    import numpy as np

    rows = np.array([[int(o), 1] for o in outcomes], dtype=np.int64).reshape(-1, 2)
    unit = UnitStats(rows, measures._accuracy, len(rows), "items", "rate", None if len(rows) else "no items")
    return estimate(unit, ctx.n_resamples, ctx.seed, min_support=1).to_dict()


def _coverage_units(sets, preds, ctx) -> dict:
    return {"seen_unseen_gap": measures.seen_unseen_units(sets["coverage"], preds["coverage"])}


def _build_replacements(ctx: BuildContext) -> dict:
    from nerprobe.probes.unseen_entities import TrainFacts, build_replacement_sets

    unseen, seen = build_replacement_sets(ctx.train, ctx.test, ctx.seed, index=ctx.index,
                                          facts=TrainFacts.of(ctx.train, index=ctx.index),
                                          pool=ctx.pool if ctx.pool is not None else ctx.test,
                                          source=ctx.replacement_source)
    return {unseen.name: unseen, seen.name: seen}


def _replacement_units(sets, preds, ctx) -> dict:
    labels = sorted(set(ctx.labels["coverage"]) | set(ctx.labels["unseen-entities"])
                    | set(ctx.labels["seen-replacements"]))
    return measures.replacement_units(sets["coverage"], sets["unseen-entities"], sets["seen-replacements"],
                                      preds["coverage"], preds["unseen-entities"], preds["seen-replacements"],
                                      labels, ctx.match)


def _build_type_swaps(ctx: BuildContext) -> dict:
    from nerprobe.probes.swapped_labels import build_type_swaps

    return {"type-swaps": build_type_swaps(ctx.train, ctx.test, ctx.seed, index=ctx.index,
                                           min_context=ctx.min_context)}


def _swap_extra(sets, preds, ctx) -> dict:
    return {"type-swaps": {"counts": measures.swap_counts(sets["type-swaps"], preds["type-swaps"])}}


def _swap_units(sets, preds, ctx) -> dict:
    return {"memory_share": measures.swap_units(sets["type-swaps"], preds["type-swaps"])}


RELABEL_SETS = ("swapped-labels-symbols-defs", "swapped-labels-symbols", "swapped-labels-permuted")


def _build_relabeled(ctx: BuildContext) -> dict:
    from nerprobe.probes.swapped_labels import build_relabeled

    return {name: build_relabeled(ctx.test, ctx.labelset, name[len("swapped-labels-"):], ctx.seed)
            for name in RELABEL_SETS}


def _build_pair_lookup(ctx: BuildContext) -> dict:
    from nerprobe.probes.pair_lookup import build_pair_lookup

    n = ctx.pair_samples
    return {"pair-lookup": build_pair_lookup(ctx.train, ctx.test, ctx.seed, n_train=n, n_heldout=n,
                                             index=ctx.index)}


def _lookup_extra(sets, preds, ctx) -> dict:
    import numpy as np

    cells = measures.lookup_cells(sets["pair-lookup"], preds["pair-lookup"])
    arms = {}
    for (group, mode), by in sorted(cells.items()):
        arms[f"{group}_{mode}"] = _rate([c for c, _ in by.values()], ctx)
        arms[f"{group}_{mode}"]["labelled"] = int(np.sum([lab for _, lab in by.values()]))
    return {"pair-lookup": {"arms": arms}}


def _lookup_units(sets, preds, ctx) -> dict:
    return measures.lookup_units(sets["pair-lookup"], preds["pair-lookup"])


def _build_likelihood(ctx: BuildContext) -> dict:
    from nerprobe.probes.likelihood import build_likelihood_pairs

    return {"likelihood-pairs": build_likelihood_pairs(ctx.train, ctx.test, ctx.seed, n_pairs=ctx.pair_samples,
                                                       index=ctx.index, min_context=ctx.min_context)}


def _measure_likelihood(sets: dict, ctx: MeasureContext) -> dict:
    from nerprobe.probes.likelihood import run_likelihood_probe

    if ctx.base is None or len(ctx.models) < 2:
        return {"problems": ["likelihood: needs the tuned model and its base (language models): not run"]}
    res = run_likelihood_probe(ctx.models, ctx.train, [], ctx.seed, base=ctx.base, format_name=ctx.format_name,
                               labels=ctx.labels, n_resamples=ctx.n_resamples, batch_size=ctx.batch_size,
                               probe_set=sets["likelihood-pairs"])
    res["indicators"] = {name: {**m["indicators"], **m.get("calibrated", {})} for name, m in res["models"].items()}
    return res


def _build_exposure(ctx: BuildContext) -> dict:
    from nerprobe.probes.exposure import build_exposure_reference

    test, reference = build_exposure_reference(ctx.train, ctx.test, ctx.seed)
    return {test.name: test, reference.name: reference}


def _measure_exposure(sets: dict, ctx: MeasureContext) -> dict:
    from nerprobe.probes.exposure import run_exposure_probe

    if ctx.base is None:
        return {"problems": ["exposure: needs the base model (--baseline base): not run"]}
    res = run_exposure_probe(ctx.models[ctx.base], sets["exposure-test"], sets["exposure-reference"], ctx.seed,
                             n_resamples=ctx.n_resamples, batch_size=ctx.batch_size)
    res["indicators"] = {ctx.base: {"exposure_auc": res["scores"]["min_k"]["auc"],
                                    "exposure_auc_plus": res["scores"]["min_k_plus"]["auc"]}}
    return res


_PAIRS = "matched name pairs with scored tokens"

PROBES: dict[str, Probe] = {p.name: p for p in (
    _Probe("coverage", "Test sentences as they are, by what training saw", ("coverage",), _build_coverage,
           _coverage_units, _coverage_extra,
           (IndicatorSpec("seen_unseen_gap", "recall on seen minus unseen mentions", "gold mentions found",
                          memory=False, between=True),)),
    _Probe("unseen-entities", "Entities replaced by unseen names, and by other training names",
           ("unseen-entities", "seen-replacements"), _build_replacements, _replacement_units, None,
           (IndicatorSpec("unseen_drop", "relative F1 drop, unseen names", "original entities found", memory=False),
            IndicatorSpec("seen_drop", "relative F1 drop, other training names", "original entities found",
                          memory=False),
            IndicatorSpec("replacement_memory_effect", "unseen drop minus seen drop", "original entities found")),
           requires=("coverage",)),
    _Probe("type-swaps", "A training name of another type in the slot", ("type-swaps",), _build_type_swaps,
           _swap_units, _swap_extra,
           (IndicatorSpec("memory_share", "memorized / (memorized + context) label",
                          "swapped spans labelled with either"),)),
    _Probe("swapped-labels", "Instruction-following under renamed labels", RELABEL_SETS, _build_relabeled),
    _Probe("pair-lookup", "Matched training and held-out names, alone and in an untrained sentence",
           ("pair-lookup",), _build_pair_lookup, _lookup_units, _lookup_extra,
           (IndicatorSpec("lookup_gain_alone", "accuracy alone, training minus held-out", "spans labelled"),
            IndicatorSpec("lookup_gain_in_context", "accuracy in an untrained sentence, training minus held-out",
                          "spans labelled"),
            IndicatorSpec("sentence_recall", "accuracy in the training sentence itself", "items", memory=False))),
    _Probe("likelihood", "Matched training and held-out names scored by log-likelihood (no generation)",
           ("likelihood-pairs",), _build_likelihood, generates=False, measure_fn=_measure_likelihood, indicators=(
               IndicatorSpec("name_margin_format", "log-likelihood per token, training minus held-out name, in the "
                             "target format", _PAIRS, unit="nats/token"),
               IndicatorSpec("name_win_format", "training name more likely than its held-out partner, in the target "
                             "format", _PAIRS),
               IndicatorSpec("calibrated_name_win_format", "tuning raised the training name more than its partner",
                             _PAIRS, memory=False),
               IndicatorSpec("name_win_sentence", "training name more likely, in a test sentence", _PAIRS,
                             memory=False),
               IndicatorSpec("label_win", "gold label more likely for the training name", _PAIRS, memory=False))),
    _Probe("exposure", "Pretraining exposure of the test sentences under the base model (Min-K%)",
           ("exposure-test", "exposure-reference"), _build_exposure, generates=False, measure_fn=_measure_exposure,
           indicators=(IndicatorSpec("exposure_auc", "Min-K% AUC, test vs matched reference", "sentence pairs",
                                     memory=False),
                       IndicatorSpec("exposure_auc_plus", "Min-K%++ AUC, test vs matched reference", "sentence pairs",
                                     memory=False))),
)}
"""Every probe by its ``--probes`` name."""


def get_probe(name: str) -> Probe:
    """The probe named ``name`` (``InputError`` with ``field="probes"`` for an unknown one)."""
    try:
        return PROBES[name]
    except KeyError:
        raise InputError(None, None, f"unknown probe {name!r} (known: {', '.join(PROBES)})", field="probes") from None


def expand(names: Sequence[str]) -> list[str]:
    """The probes to run for ``names``, each once, with the probes they require first (``coverage`` for
    ``unseen-entities``); an unknown name raises ``InputError`` (``field="probes"``)."""
    out: list[str] = []
    for name in names:
        for req in (*get_probe(name).requires, name):
            if req not in out:
                out.append(req)
    return [n for n in PROBES if n in out]


def indicator_specs(names: Sequence[str]) -> list[tuple[str, IndicatorSpec]]:
    """``(probe, spec)`` of every indicator of the probes ``names``, in registry order."""
    return [(n, spec) for n in names for spec in PROBES[n].indicators]


def set_names(names: Sequence[str]) -> list[str]:
    """Every probe set the probes ``names`` build, in registry order."""
    return [s for n in names for s in PROBES[n].sets]


def build_sets(names: Sequence[str], ctx: BuildContext) -> dict:
    """Build the probe sets of ``names`` (see ``expand``): set name → ProbeSet."""
    out: dict = {}
    for name in names:
        out.update(PROBES[name].build(ctx))
    return out


def generated_sets(names: Sequence[str], sets: dict) -> dict:
    """The sets of ``sets`` that predictors answer by generation (not those of generation-free probes)."""
    keep = {s for n in names if PROBES[n].generates for s in PROBES[n].sets}
    return {k: v for k, v in sets.items() if k in keep}


def describe(names: Sequence[str], sets: dict, preds: dict, ctx: ScoreContext) -> dict:
    """Descriptive scores of one predictor on the generated sets: set name → dict."""
    out: dict = {}
    for name in (n for n in names if PROBES[n].generates):
        out.update(PROBES[name].describe(sets, preds, ctx))
    return out


def units(names: Sequence[str], sets: dict, preds: dict, ctx: ScoreContext) -> dict[str, UnitStats]:
    """Per-unit statistics of every indicator of ``names`` for one predictor: indicator name → UnitStats."""
    out: dict[str, UnitStats] = {}
    for name in (n for n in names if PROBES[n].generates):
        out.update(PROBES[name].units(sets, preds, ctx))
    return out


def estimates(unit_stats: dict[str, UnitStats], n_resamples: int, seed: int) -> dict[str, Estimate]:
    """Each indicator's ``Estimate`` from its per-unit statistics."""
    return {k: estimate(u, n_resamples, seed) for k, u in unit_stats.items()}
