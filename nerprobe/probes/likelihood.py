"""The ``likelihood`` probe: tuning memory read from token log-probabilities, with no generation and no parsing.

Pairs of names, one from training and one held out, matched on (label, token count, casing shape) exactly as in the
``pair-lookup`` probe (its in-context arm: both names of a pair go into the same test sentence the model was not
trained on, in place of an entity of their label). Each name is scored in two frames:

- ``sentence``: the test sentence as plain text; the score is the length-normalized log-likelihood (nats per token)
  of the name given the text before it;
- ``format``: the same sentence rendered in the model's target format (``<LOC>name</LOC>`` for xml,
  ``[name | LOC]`` for bracketed ...), plain text; the score is the name's length-normalized log-likelihood given
  the rendered text before it.

and, label-conditional, ``label``: log p(gold label | name in the formatted frame), the rendered sentence scored
whole once per label of the label set with the name's entity carrying that label, normalized over the labels
(``log softmax`` of the totals: the texts differ only in the label tokens). That is the entity→label pair memory.

Indicators (units: matched pairs; high = memory end; ``n/a`` below ``MIN_SUPPORT`` pairs):

- ``name_win_sentence`` / ``name_win_format``: the share of pairs where the training name scores higher than its
  held-out partner (a tie counts one half);
- ``label_win``: the share of pairs where the training name's gold label is the more probable one.

A model that never saw either name sits near 0.5; the base model already sits above it when its pretraining held the
training text (the demo's tiny base was pretrained on the demo train sentences), so the tuning memory is the tuned
model's win rate minus its base's, with a paired bootstrap CI over pairs (``run_likelihood_probe``). A win is
evidence that the model saw the training names, not proof: names differ in frequency and form beyond what the
matching holds fixed, and a held-out name the base saw elsewhere wins for it.

A pair is left out (``params["unscored"]``) when either name has no scored token: a one-token name at the very start
of the frame, under a tokenizer without BOS (the first token of a text is context only, see
``models.likelihood``), or a name the format does not render exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from nerprobe.analysis.estimates import Estimate
from nerprobe.analysis.indicators import UnitStats, compare, estimate, safe_ratio
from nerprobe.data.model import Sentence
from nerprobe.probes.base import ProbeItem, ProbeSet
from nerprobe.probes.coverage import MentionIndex

SET_NAME = "likelihood-pairs"
FRAMES = ("sentence", "format")
INDICATORS = ("name_win_sentence", "name_win_format", "label_win",
              "name_margin_sentence", "name_margin_format", "label_margin")
INDICATOR_TITLES = {
    "name_win_sentence": "training name more likely than its matched held-out name, in a test sentence",
    "name_win_format": "training name more likely than its matched held-out name, in the target format",
    "label_win": "gold label more likely for the training name than for its held-out partner",
    "name_margin_sentence": "log-likelihood per token, training minus held-out name, in a test sentence (nats)",
    "name_margin_format": "log-likelihood per token, training minus held-out name, in the target format (nats)",
    "label_margin": "log p(gold label | name), training minus held-out name (nats)",
    "calibrated_name_win_sentence": "tuning raised the training name more than its held-out partner, test sentence",
    "calibrated_name_win_format": "tuning raised the training name more than its held-out partner, target format",
    "calibrated_label_win": "tuning raised log p(gold label) more for the training name than its partner",
}
CONDITIONED_ON = "matched name pairs with scored tokens"
SENTINEL_CHAR = "Q"


def build_likelihood_pairs(train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *,
                           n_pairs: int | None = 500, index: MentionIndex | None = None,
                           min_context: int = 3) -> ProbeSet:
    """The ``likelihood-pairs`` set: the in-context items of ``probes.pair_lookup.build_pair_lookup`` (same
    matching, same seed, at most ``n_pairs`` pairs), two per pair (``meta["group"]`` ``train``/``heldout``, same
    ``meta["match"]``, the name at ``meta["span"]`` of the item's sentence). Pairs without a context sentence are
    not in it (``params["no_context"]``)."""
    from nerprobe.probes.pair_lookup import IN_CONTEXT, build_pair_lookup

    lookup = build_pair_lookup(train, test, seed, n_train=n_pairs, n_heldout=n_pairs, index=index,
                               min_context=min_context)
    items = [it for it in lookup.items if it.meta["mode"] == IN_CONTEXT]
    params = {k: lookup.params[k] for k in ("n_train", "min_context", "keys", "unmatched", "no_context",
                                            "context_other_length") if k in lookup.params}
    params["pairs"] = len({it.meta["match"] for it in items})
    return ProbeSet(SET_NAME, seed, items, params, list(lookup.problems))


# -- frames ----------------------------------------------------------------------------------------------------
def sentence_frame(item: ProbeItem) -> tuple[str, str]:
    """``(prefix, name)`` of the sentence frame: the sentence text before the name, and the name."""
    a, b = item.meta["span"]
    return item.sentence.text[:a], item.sentence.text[a:b]


def format_frame(item: ProbeItem, fmt, labels: Sequence[str]) -> tuple[str, str] | None:
    """``(prefix, name)`` of the format frame: the sentence rendered by ``fmt`` up to the name, and the name; None
    when the rendering does not hold the name's place exactly once."""
    from nerprobe.probes.rewrite import replace_spans

    a, b = item.meta["span"]
    name = item.sentence.text[a:b]
    sentinel = (SENTINEL_CHAR * len(name)) if name else SENTINEL_CHAR
    marked, _ = replace_spans(item.sentence, {(a, b): sentinel}, item.id + "#frame")
    rendered = fmt.render(marked, list(labels))
    if rendered.count(sentinel) != 1 or item.sentence.text.count(sentinel):
        return None
    return rendered[: rendered.index(sentinel)], name


def label_texts(item: ProbeItem, fmt, labels: Sequence[str]) -> list[str]:
    """The sentence rendered by ``fmt`` once per label of ``labels``, the name's entity carrying that label."""
    from nerprobe.probes.rewrite import replace_spans

    a, b = item.meta["span"]
    name = item.sentence.text[a:b]
    out = []
    for lab in labels:
        s, _ = replace_spans(item.sentence, {(a, b): name}, f"{item.id}#{lab}", relabel={(a, b): lab})
        out.append(fmt.render(s, list(labels)))
    return out


# -- scoring ---------------------------------------------------------------------------------------------------
@dataclass
class PairScores:
    """One model's scores of the pairs: per pair (``matches``, sorted), for the training and the held-out name, the
    mean log-probability per frame (``name[frame]``: (n_pairs, 2), NaN where unscored) and log p(gold label | name)
    (``label``: (n_pairs, 2))."""

    matches: list[str]
    name: dict[str, np.ndarray]
    label: np.ndarray


def pairs_of(probe_set: ProbeSet) -> list[tuple[str, ProbeItem, ProbeItem]]:
    """``(match, train item, held-out item)`` of every complete pair, sorted by match id."""
    by: dict[str, dict[str, ProbeItem]] = {}
    for it in probe_set.items:
        by.setdefault(it.meta["match"], {})[it.meta["group"]] = it
    return [(m, g["train"], g["heldout"]) for m, g in sorted(by.items(), key=lambda kv: _match_order(kv[0]))
            if "train" in g and "heldout" in g]


def _match_order(match: str):
    tail = match.rsplit("-", 1)[-1]
    return (0, int(tail), match) if tail.isdigit() else (1, 0, match)


def score_pairs(scorer, probe_set: ProbeSet, format_name: str, labels: Sequence[str]) -> PairScores:
    """Score every pair of ``probe_set`` with ``scorer`` (a ``models.likelihood.LikelihoodScorer``) in both frames
    and label-conditionally; one ``scorer.score`` call per kind, so every text goes through batched forward passes
    and the cache."""
    from nerprobe.formats import get_format

    fmt = get_format(format_name)
    pairs = pairs_of(probe_set)
    items = [it for _, tr, ho in pairs for it in (tr, ho)]
    name: dict[str, np.ndarray] = {}
    for frame in FRAMES:
        texts = [sentence_frame(it) if frame == "sentence" else format_frame(it, fmt, labels) for it in items]
        ok = [i for i, t in enumerate(texts) if t is not None]
        got = scorer.score([texts[i] for i in ok])
        values = np.full(len(items), np.nan)
        for i, sc in zip(ok, got):
            if sc.mean_logprob is not None:
                values[i] = sc.mean_logprob
        name[frame] = values.reshape(-1, 2)
    gold = [list(labels).index(it.meta["label"]) if it.meta["label"] in labels else -1 for it in items]
    all_texts = [t for it in items for t in label_texts(it, fmt, labels)]
    totals = np.array([s.total for s in scorer.score([("", t) for t in all_texts])]).reshape(len(items), len(labels))
    logz = np.logaddexp.reduce(totals, axis=1) if len(items) else np.zeros(0)
    label = np.array([totals[i, g] - logz[i] if g >= 0 else np.nan for i, g in enumerate(gold)])
    return PairScores([m for m, _, _ in pairs], name, label.reshape(-1, 2))


def _win_rows(values: np.ndarray) -> np.ndarray:
    """Per pair ``[2 * win + tie, 2]`` (train beats held-out: 2; tie: 1)."""
    v = values
    return np.stack([2 * (v[:, 0] > v[:, 1]) + (v[:, 0] == v[:, 1]), np.full(len(v), 2)], axis=1).astype(np.int64)


def _margin_rows(values: np.ndarray) -> np.ndarray:
    """Per pair ``[train - held-out, 1]`` (nats per token, or nats of log p(label))."""
    return np.stack([values[:, 0] - values[:, 1], np.ones(len(values))], axis=1)


def _ratio(t):
    return safe_ratio(t[..., 0], t[..., 1])


def _values(s: PairScores, indicator: str) -> np.ndarray:
    """The (n_pairs, 2) values an indicator reads: a frame's name scores or the label scores."""
    return s.label if indicator.startswith("label_") else s.name[indicator.rsplit("_", 1)[-1]]


def scored_mask(scores: Sequence[PairScores]) -> dict[str, np.ndarray]:
    """Per indicator, the pairs every model scored (so all models are compared on the same units)."""
    out = {}
    for ind in INDICATORS:
        masks = [~np.isnan(_values(s, ind)).any(axis=1) for s in scores]
        out[ind] = np.logical_and.reduce(masks) if masks else np.zeros(0, dtype=bool)
    return out


def _unit(rows: np.ndarray, metric: str) -> UnitStats:
    return UnitStats(rows, _ratio, len(rows), CONDITIONED_ON, metric, None if len(rows) else "no scored pair")


def likelihood_units(scores: PairScores, mask: Mapping[str, np.ndarray] | None = None) -> dict[str, UnitStats]:
    """Per-unit statistics of ``INDICATORS`` (units: the pairs of ``mask``, default every scored pair): win
    rates from ``[2 * win + tie, 2]`` per pair, margins from ``[train - held-out, 1]``; each indicator is the ratio
    of the column sums."""
    out = {}
    for ind in INDICATORS:
        v = _values(scores, ind)
        keep = mask[ind] if mask is not None else ~np.isnan(v).any(axis=1)
        rows = (_win_rows if "_win" in ind else _margin_rows)(v[keep])
        out[ind] = _unit(rows, ind.replace("_", "-"))
    return out


def calibrated_units(tuned: PairScores, base: PairScores, mask: Mapping[str, np.ndarray]) -> dict[str, UnitStats]:
    """``calibrated_win_<frame>`` / ``calibrated_label_win``: the share of pairs where tuning raised the training
    name's score (tuned minus base, per name) more than its held-out partner's. 0.5 without tuning memory, whatever
    the base saw in pretraining (the base is the reference model of the membership test)."""
    out = {}
    for ind in INDICATORS:
        if "_win" not in ind:
            continue
        gain = _values(tuned, ind)[mask[ind]] - _values(base, ind)[mask[ind]]
        out["calibrated_" + ind] = _unit(_win_rows(gain), "calibrated-" + ind.replace("_", "-"))
    return out


# -- the probe as one call ---------------------------------------------------------------------------------------
def _loaded(model, device=None, dtype=None):
    from nerprobe.models.loading import LoadedModel, load_model
    from nerprobe.models.registry import ModelSpec

    if isinstance(model, LoadedModel):
        return model
    spec = model if isinstance(model, ModelSpec) else ModelSpec(str(model))
    return load_model(spec, device=device, dtype=dtype, lazy=True)


def run_likelihood_probe(models: Mapping[str, object], train: Iterable[Sentence], test: Iterable[Sentence],
                         seed: int = 0, *, base: str = "base", format_name: str = "xml",
                         labels: Sequence[str] | None = None, n_pairs: int | None = 500, n_resamples: int = 2000,
                         cache=True, batch_size: int = 32, device=None, dtype=None,
                         index: MentionIndex | None = None, probe_set: ProbeSet | None = None,
                         max_pairs_listed: int = 50) -> dict:
    """Run the probe for ``models`` (name → ``LoadedModel``, ``ModelSpec`` or a local model path); ``base`` names
    the model every other one is compared with. Returns a JSON-ready dict::

        {"probe": "likelihood", "set": "likelihood-pairs", "format": ..., "labels": [...], "seed": ...,
         "params": {...pair matching..., "pairs": n, "unscored": {indicator: n}}, "problems": [...],
         "models": {name: {"indicators": {indicator: Estimate dict},
                           "calibrated": {"calibrated_<win indicator>": Estimate dict},  # not for the base
                           "mean_logprob": {"sentence"|"format"|"label": {"train": x, "heldout": y}}}},
         "comparisons": [Comparison dict (b = model, a = base, kind "likelihood", about.indicator), ...],
         "pairs": [{"match", "label", "train", "heldout", "scores": {model: {frame: [train, heldout]}}}, ...]}

    ``cache``: True (the default likelihood cache), a ``LikelihoodCache``, or False/None. Comparisons are estimates
    of the difference with its paired bootstrap CI and a p-value (``in_family`` True); Holm over the run's family is
    the caller's."""
    from nerprobe.models.likelihood import LikelihoodCache, LikelihoodScorer

    train, test = list(train), list(test)
    if base not in models:
        raise ValueError(f"the base model {base!r} is not among the models ({', '.join(models)})")
    if labels is None:
        labels = sorted({e.label for s in train for e in s.entities})
    labels = list(labels)
    if probe_set is None:
        probe_set = build_likelihood_pairs(train, test, seed, n_pairs=n_pairs, index=index)
    store = LikelihoodCache() if cache is True else (cache or None)
    scores: dict[str, PairScores] = {}
    for name, model in models.items():
        scorer = LikelihoodScorer(_loaded(model, device, dtype), cache=store, batch_size=batch_size)
        scores[name] = score_pairs(scorer, probe_set, format_name, labels)
    mask = scored_mask(list(scores.values()))
    units = {name: likelihood_units(s, mask) for name, s in scores.items()}
    out_models = {}
    for name, s in scores.items():
        out_models[name] = {
            "indicators": {k: estimate(u, n_resamples, seed).to_dict() for k, u in units[name].items()},
            "mean_logprob": {**{f: _group_means(s.name[f]) for f in FRAMES}, "label": _group_means(s.label)},
        }
    for name in scores:
        if name != base:
            cal = calibrated_units(scores[name], scores[base], mask)
            out_models[name]["calibrated"] = {k: estimate(u, n_resamples, seed).to_dict() for k, u in cal.items()}
    comparisons = [compare(f"{ind}:{name}-vs-{base}", "likelihood", base, name, units[base][ind], units[name][ind],
                           n_resamples, seed, probe="likelihood", indicator=ind).to_dict()
                   for name in scores if name != base for ind in INDICATORS]
    n = len(scores[base].matches)
    params = {**probe_set.params, "pairs": n, "unscored": {k: int(n - m.sum()) for k, m in mask.items()},
              "n_resamples": n_resamples}
    return {"probe": "likelihood", "set": SET_NAME, "format": format_name, "labels": labels, "seed": seed,
            "base": base, "params": params, "problems": list(probe_set.problems), "models": out_models,
            "comparisons": comparisons, "pairs": _pair_records(probe_set, scores, max_pairs_listed)}


def _group_means(values: np.ndarray) -> dict:
    ok = ~np.isnan(values).any(axis=1) if len(values) else np.zeros(0, dtype=bool)
    if not ok.any():
        return {"train": None, "heldout": None}
    return {"train": float(values[ok, 0].mean()), "heldout": float(values[ok, 1].mean())}


def _pair_records(probe_set: ProbeSet, scores: Mapping[str, PairScores], limit: int) -> list[dict]:
    def num(x):
        return None if np.isnan(x) else round(float(x), 4)

    out = []
    for k, (match, tr, ho) in enumerate(pairs_of(probe_set)[:limit]):
        out.append({"match": match, "label": tr.meta["label"], "train": tr.meta["text"], "heldout": ho.meta["text"],
                    "frame": tr.sentence.text,
                    "scores": {m: {**{f: [num(x) for x in s.name[f][k]] for f in FRAMES},
                                   "label": [num(x) for x in s.label[k]]} for m, s in scores.items()}})
    return out


def win_rate(result: dict, model: str, indicator: str = "name_win_format") -> Estimate:
    """The ``Estimate`` of one model's indicator in a ``run_likelihood_probe`` result."""
    return Estimate.from_dict(result["models"][model]["indicators"][indicator])
