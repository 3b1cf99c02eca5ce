"""Scores, indicators and the declared family of tests of a memorization run.

Per predictor: descriptive scores per probe set (``registry.describe``) and every indicator as an ``Estimate``
(value, CI, support; ``n/a`` with the reason without support). Per predictor and memory indicator, its difference
from the form-only control on the same units ("beyond form": a name's form alone predicts some labels, and that is
not memory).

Tests. The hypotheses are declared from the run's roles before anything is scored (``declared_family``): for each
subject and memory indicator, the subject against its base and against the form-only control; between every two
subjects (named adapters: names vs symbols, memorizer vs reader) on every memory indicator and on the indicators
that are only comparable between subjects (the seen-unseen gap). Holm runs over exactly the hypotheses that could be
tested (a side without support is ``n/a`` and listed as untested with the reason), and the number of resamples comes
from the family's size (``significance.resamples_for_family``). Everything else is an estimate with a CI, no
p-value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from nerprobe.analysis.estimates import Comparison, Estimate, holm_adjust
from nerprobe.analysis.indicators import compare
from nerprobe.memorization.predictors import BASELINE, FORM
from nerprobe.probes import registry
from nerprobe.probes.measures import labels_for

ALPHA = 0.05
"""Level of the declared family's tests (Holm) and of the resample rule."""


@dataclass(frozen=True)
class Hypothesis:
    """One declared test: predictor ``b`` against ``a`` on ``indicator`` (difference b - a)."""

    name: str
    kind: str  # "tuned_vs_base", "beyond_form" or "between_subjects"
    indicator: str
    probe: str
    a: str
    b: str

    def to_dict(self) -> dict:
        """The hypothesis as a JSON-ready dict."""
        return asdict(self)


def declared_family(subjects: Sequence[str], probes: Sequence[str], base: str | None = None,
                    form: str | None = None) -> tuple[Hypothesis, ...]:
    """The family of a run, from its roles (see the module docstring), in a fixed order."""
    out = []
    for probe, spec in registry.indicator_specs(probes):
        generates = registry.PROBES[probe].generates  # else measured on language models only: no form-only floor
        for s in subjects if spec.memory else ():
            if base is not None:
                out.append(Hypothesis(f"{s} vs {base}: {spec.name}", "tuned_vs_base", spec.name, probe, base, s))
            if form is not None and form != s and generates:
                out.append(Hypothesis(f"{s} vs {form}: {spec.name}", "beyond_form", spec.name, probe, form, s))
        if (spec.memory or spec.between) and generates:
            for i, a in enumerate(subjects):
                for b in subjects[i + 1:]:
                    out.append(Hypothesis(f"{b} vs {a}: {spec.name}", "between_subjects", spec.name, probe, a, b))
    return tuple(out)


def family_resamples(family, requested: int | None) -> int:
    """The run's number of resamples: ``requested`` if the family allows it (else ``TooFewResamples``), or the
    family's minimum (at least ``significance.DEFAULT_RESAMPLES``)."""
    from nerprobe.analysis.significance import resamples_for_family

    return resamples_for_family(len(family), ALPHA, requested)


def set_labels(sets: dict, predictions: dict, labelset) -> dict[str, list[str]]:
    """Per set: the label axis of its span statistics (prompt labels, gold labels and every label any predictor
    wrote: an invented label is a false positive on its own row, never dropped)."""
    out = {}
    for name, ps in sets.items():
        names = ps.params.get("labelset", {}).get("names") or list(labelset.names)
        out[name] = labels_for([ps], [by[name] for by in predictions.values() if name in by])
        out[name] = sorted(set(out[name]) | set(names))
    return out


def score_run(probes: Sequence[str], sets: dict, predictions: dict, labelset, index, *, subjects: Sequence[str],
              n_resamples: int, seed: int, match: str = "exact", family: tuple | None = None,
              measured: dict | None = None) -> tuple[dict, dict]:
    """``(scores, stats)`` of a run.

    ``scores[predictor][set]``: descriptive scores. ``stats``: ``indicators[predictor][indicator]`` (Estimate
    dicts), ``beyond_form[predictor][indicator]`` (Comparison dicts: the predictor minus the form-only control),
    ``comparisons`` (the declared family's Comparison dicts, Holm-adjusted), ``family`` (the hypotheses, those left
    untested and why, the resampling), ``indicator_specs``, ``regression``."""
    ctx = registry.ScoreContext(set_labels(sets, predictions, labelset), index, n_resamples, seed, match)
    if family is None:
        family = declared_family(list(subjects), probes, BASELINE if BASELINE in predictions else None,
                                 FORM if FORM in predictions else None)
    scores, units, indicators = {}, {}, {}
    for p, preds in predictions.items():
        scores[p] = registry.describe(probes, sets, preds, ctx)
        units[p] = registry.units(probes, sets, preds, ctx)
        indicators[p] = {k: e.to_dict() for k, e in registry.estimates(units[p], n_resamples, seed).items()}
    memory = [spec.name for _, spec in registry.indicator_specs(probes) if spec.memory]
    beyond = {}
    if FORM in units:
        for p in units:
            if p != FORM:
                beyond[p] = {k: compare(f"{p} vs {FORM}: {k}", "beyond_form", FORM, p, units[FORM][k], units[p][k],
                                        n_resamples, seed, in_family=False, indicator=k).to_dict()
                             for k in memory if k in units[p]}
    measured = measured or {}
    lm_specs = [spec.name for p, spec in registry.indicator_specs(probes) if not registry.PROBES[p].generates]
    for result in measured.values():
        for p, by in result.get("indicators", {}).items():
            indicators.setdefault(p, {}).update(by)
    for p in indicators:  # the rule controls are no language models: their likelihoods do not exist
        for k in lm_specs:
            indicators[p].setdefault(k, Estimate.na("not measured: not a language model, or the probe did not "
                                                    "run for it").to_dict())
    comparisons, untested = [], {}
    for h in family:
        if not registry.PROBES[h.probe].generates:
            found = next((c for c in measured.get(h.probe, {}).get("comparisons", [])
                          if c["a"] == h.a and c["b"] == h.b and c.get("about", {}).get("indicator") == h.indicator),
                         None)
            if found is None:
                untested[h.name] = f"probe {h.probe} did not measure it"
                continue
            c = Comparison.from_dict({**found, "name": h.name, "kind": h.kind, "in_family": True,
                                      "about": {**found.get("about", {}), "probe": h.probe}})
            if c.reason or c.p is None:
                untested[h.name] = c.reason or "no p-value"
            comparisons.append(c)
            continue
        if h.a not in units or h.b not in units:
            untested[h.name] = f"{h.a if h.a not in units else h.b} has no results"
            continue
        if h.indicator not in units[h.a]:
            untested[h.name] = f"probe {h.probe} did not run"
            continue
        c = compare(h.name, h.kind, h.a, h.b, units[h.a][h.indicator], units[h.b][h.indicator], n_resamples, seed,
                    indicator=h.indicator, probe=h.probe)
        if c.reason:
            untested[h.name] = c.reason
        comparisons.append(c)
    comparisons, holm = holm_adjust(comparisons, ALPHA)
    from nerprobe.analysis.significance import min_resamples

    declared = {
        "hypotheses": [h.to_dict() for h in family], "m": holm["n"], "untested": untested, "alpha": ALPHA,
        "correction": "holm over exactly the tested hypotheses", "n_resamples": n_resamples,
        "min_resamples": min_resamples(len(family), ALPHA) if family else 0,
        "resamples_rule": "at least ceil(20 m / alpha) for the m declared hypotheses",
    }
    specs = [{"probe": probe, **asdict(spec)} for probe, spec in registry.indicator_specs(probes)]
    stats = {"family": declared, "indicator_specs": specs, "indicators": indicators, "beyond_form": beyond,
             "comparisons": [c.to_dict() for c in comparisons], "holm": holm,
             "regression": regressions(sets, predictions)}
    return scores, stats


def regressions(sets: dict, predictions: dict) -> dict:
    """Per predictor, the clustered entity-level logistic regression (``analysis.regression.entity_logit``) of
    correctness on seen/consistency over the original and unseen-replacement mentions (empty without coverage)."""
    if "coverage" not in sets:
        return {}
    from nerprobe.analysis.regression import entity_logit

    out = {}
    for p, by_set in predictions.items():
        rows = regression_rows(sets["coverage"], by_set["coverage"], sets.get("unseen-entities"),
                               by_set.get("unseen-entities"))
        out[p] = entity_logit(rows).to_dict()
    return out


def _cluster_ids(sentence, original_id: str) -> dict:
    return {"document": sentence.doc_id, "sentence": original_id}


def regression_rows(coverage_set, coverage_preds, unseen_set=None, unseen_preds=None) -> list[dict]:
    """Rows for ``regression.entity_logit``: one per (entity, condition).

    Condition ``original``: every gold mention of the coverage set (seen in training or not, consistency from the
    coverage facts). Condition ``unseen-replacement``: the same entity slot in the unseen-entities set, when the probe
    replaced its mention (unseen, consistency 0). ``entity`` names the slot (original sentence id, span, label) in
    both, so a replaced entity has exactly two rows; ``document`` (None when the corpus has none) and ``sentence``
    (the original sentence id) give the clusters.
    """
    rows = []
    where = {}
    for it, p in zip(coverage_set.items, coverage_preds):
        pset = {(e.start, e.end, e.label) for e in p}
        where[it.original_id] = _cluster_ids(it.sentence, it.original_id)
        for f in it.meta["entities"]:
            rows.append({"entity": f"{it.original_id}:{f['start']}-{f['end']}:{f['label']}", "condition": "original",
                         "correct": (f["start"], f["end"], f["label"]) in pset, "seen": f["stratum"] != "unseen",
                         "consistency": f["consistency"], "label": f["label"], "n_tokens": f["n_tokens"],
                         **where[it.original_id]})
    if unseen_set is not None:
        for it, p in zip(unseen_set.items, unseen_preds):
            pset = {(e.start, e.end, e.label) for e in p}
            ids = where.get(it.original_id) or _cluster_ids(it.sentence, it.original_id)
            done = set()
            for ch in it.changes:
                if ch.how not in ("pool", "faker") or ch.new is None or ch.original is None:
                    continue
                o, e = ch.original, ch.new
                entity = f"{it.original_id}:{o.start}-{o.end}:{o.label}"
                if entity in done:
                    continue
                done.add(entity)
                rows.append({"entity": entity, "condition": "unseen-replacement",
                             "correct": (e.start, e.end, e.label) in pset, "seen": False, "consistency": None,
                             "label": e.label, "n_tokens": len(it.sentence.surface(e).split()), **ids})
    return rows
