"""The ``exposure`` probe: was a test sentence in the base model's pretraining? Read from token log-probabilities.

Each test sentence is scored under the *base* model beside a matched reference sentence the model cannot have seen:
the same sentence with its entities replaced (``build_exposure_reference``, with the replacement rules of the
``unseen-entities`` probe: label, token count, casing shape and form class kept). Scores per sentence
(``models.likelihood``): Min-K% Prob (``min_k``), Min-K%++ (``min_k_plus``) and the mean log-probability
(``mean_logprob``); higher = more likely seen.

Reference modes. ``unseen``: every entity replaced by a name training never saw (the names and rules of the
``unseen-entities`` set). That reference is confounded by *name* exposure: a test sentence that only reuses training
names (seen by a model pretrained or tuned on the training text) beats a reference with fresh names although the
sentence itself was never seen. ``matched`` (the default): each name is replaced by one of the same familiarity, a
training name by another training name of its shape (the ``seen-replacements`` source, any frequency), an unseen
name by another unseen name, so the reference differs from the test sentence only in which names fill the slots; a
sentence wins only if the model knows that sentence (or that name in that context).

Outputs (``run_exposure_probe``): per score, the AUC separating test from reference sentences (Mann-Whitney, ties
one half) with a percentile bootstrap CI over sentences (a sentence and its reference resampled together), the
paired win rate (share of sentences scoring above their own reference, an ``Estimate``), the score distributions
(for the histograms), and the most-exposed sentences (largest margin over their reference). Guided completion: the
first half of each sentence (whitespace tokens), greedy continuation, exact and token-overlap match with the real
second half, for test and reference sentences.

An AUC above 0.5 is evidence that the base model saw these sentences (or these names in these contexts), not proof:
the reference is matched on what the builder can hold fixed, and an unusual reference name can lose on its own.

On the demo, ``planted_test_ids`` (``data.planted``) chooses which demo test sentences are planted into the tiny
base's pretraining (``models.tiny.RECIPE["planted"]``: half of each seen/unseen stratum, as plain text): the probe
finds those and leaves the others at chance (``tests/test_exposure.py``).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from nerprobe.analysis.estimates import Estimate
from nerprobe.analysis.indicators import UnitStats, estimate, safe_ratio
from nerprobe.data.model import Sentence
from nerprobe.data.planted import PLANTED_SHARE, planted_test_ids, planted_texts  # noqa: F401 (the demo's, re-exported)
from nerprobe.probes.base import ProbeItem, ProbeSet
from nerprobe.probes.coverage import MentionIndex

SCORES = ("min_k", "min_k_plus", "mean_logprob")
REFERENCE_MODES = ("matched", "unseen")
TEST_SET, REFERENCE_SET = "exposure-test", "exposure-reference"
REFERENCE_TRIES = 10
"""A sentence's names are drawn anew up to this many times while its reference is a training sentence."""


# -- the reference set ---------------------------------------------------------------------------------------------
def build_exposure_reference(train: Iterable[Sentence], sentences: Iterable[Sentence], seed: int = 0, *,
                             mode: str = "matched", index: MentionIndex | None = None,
                             pool: Iterable[Sentence] | None = None,
                             source: str = "auto") -> tuple[ProbeSet, ProbeSet]:
    """``(test_set, reference_set)`` aligned item by item: each of ``sentences`` that has entities and could be
    filled, and its reference (module docstring; ``mode`` ``matched`` or ``unseen``). Sentences without entities
    (nothing to replace), sentences the replacement rules drop and references that are a training sentence (the
    model may have seen those; redrawn up to ``REFERENCE_TRIES`` times first) are left out of both;
    ``params["dropped"]`` counts why. ``pool``: where unseen names come from (default: ``sentences``' own unseen
    mentions, then Faker with ``source="auto"``)."""
    from nerprobe.probes.rewrite import replace_spans, replaceable_spans
    from nerprobe.probes.unseen_entities import SeenSource, TrainFacts, UnseenSource

    if mode not in REFERENCE_MODES:
        raise ValueError(f"unknown reference mode {mode!r} (known: {', '.join(REFERENCE_MODES)})")
    train, sentences = list(train), list(sentences)
    facts = TrainFacts.of(train, index=index)
    train_texts = {s.text for s in train}
    test_items, ref_items = [], []
    dropped: Counter = Counter()
    unseen_src = UnseenSource(facts, sentences if pool is None else pool, source, random.Random(seed), seed)
    seen_src = SeenSource(train, facts.index, random.Random(f"seen:{seed}"), **_any_count(SeenSource))
    for s in sentences:
        spans, crossing = replaceable_spans(s) if s.entities else ([], [])
        if not s.entities or crossing or not spans:
            dropped["no_entities" if not s.entities else "crossing_entity"] += 1
            continue
        new, why = None, None
        for _ in range(REFERENCE_TRIES):  # redraw while the reference is a training sentence
            replacements, why = _draw(s, spans, facts, seen_src if mode == "matched" else None, unseen_src)
            if why:
                break
            new, _ = replace_spans(s, replacements, f"{s.id}#reference")
            if new.text not in train_texts:
                break
            why = "reference_is_a_training_sentence"
        if why:
            dropped[why] += 1
            continue
        test_items.append(ProbeItem(s.id, s.id, s, (), {}))
        ref_items.append(ProbeItem(new.id, s.id, new, (), {"replaced": len(replacements)}))
    params = {"mode": mode, "kept": len(test_items), "dropped": dict(sorted(dropped.items()))}
    problems = [f"{n} sentence(s) left out: {why.replace('_', ' ')}" for why, n in sorted(dropped.items()) if n]
    return (ProbeSet(TEST_SET, seed, test_items, params, problems),
            ProbeSet(REFERENCE_SET, seed, ref_items, params, list(problems)))


def _any_count(seen_source_cls) -> dict:
    """``{"max_count": None}`` when ``SeenSource`` caps how often its names were seen: familiarity is matched with
    every training name, however frequent."""
    import inspect

    return {"max_count": None} if "max_count" in inspect.signature(seen_source_cls).parameters else {}


def _draw(s: Sentence, spans, facts, seen_src, unseen_src) -> tuple[dict, str | None]:
    """``(replacements, None)`` for one sentence, or ``({}, why)`` when a span has no name: a training name from
    ``seen_src`` for a name training saw (``matched`` mode; ``seen_src`` None: ``unseen`` mode), else an unseen
    name from ``unseen_src``; the names of a sentence all differ from each other and from the originals."""
    from nerprobe.probes.shape import shape_key

    norm = facts.index.normalize
    replacements: dict = {}
    avoid = {norm(s.text[a:b]) for a, b in spans}
    for a, b in spans:
        surface = s.text[a:b]
        label = min(e.label for e in s.entities if e.span == (a, b))
        seen = seen_src is not None and norm(surface) in facts.index.counts
        got = (seen_src if seen else unseen_src).draw(shape_key(surface, label), avoid)
        if got is None:
            return {}, "no_seen_replacement" if seen else "no_unseen_replacement"
        avoid.add(norm(got[0]))
        replacements[(a, b)] = got[0]
    return replacements, None


# -- statistics ----------------------------------------------------------------------------------------------------
def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(pos > neg) + P(pos == neg) / 2 over all pairs (Mann-Whitney AUC)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    return float(((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()))


def auc_estimate(pos: Sequence[float], neg: Sequence[float], n_resamples: int = 2000, seed: int = 0,
                 alpha: float = 0.05, min_support: int = 20) -> Estimate:
    """The AUC of ``pos`` (test) against ``neg`` (reference), aligned item by item, with a percentile bootstrap CI
    that resamples items (an item's test and reference sentence together); ``n/a`` below ``min_support`` items."""
    from nerprobe.analysis.significance import index_counts, resample_indices, signature

    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    n = len(pos)
    on = "sentences with a reference"
    if n < min_support:
        return Estimate.na(f"too little support: {n} {on} (fewer than {min_support})", n, on)
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    values = []
    for idx in resample_indices(n, n_resamples, seed):
        c = index_counts(idx, n).astype(float)
        values.append(np.einsum("ri,ij,rj->r", c, wins, c) / n**2)
    low, high = np.percentile(np.concatenate(values), [100 * alpha / 2, 100 * (1 - alpha / 2)])
    sig = signature(metric="auc", test="bootstrap", n=n_resamples, seed=seed, ci=f"{round(100 * (1 - alpha))}")
    return Estimate(float(wins.mean()), float(low), float(high), n, sig, None, on)


def paired_win_units(pos: Sequence[float], neg: Sequence[float], metric: str = "exposure-paired-win") -> UnitStats:
    """Per sentence ``[2 * (test > reference) + tie, 2]``: the share of sentences scoring above their own
    reference."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    rows = np.stack([2 * (pos > neg) + (pos == neg), np.full(len(pos), 2)], axis=1).astype(np.int64)
    return UnitStats(rows.reshape(-1, 2), _ratio, len(rows), "sentences with a reference", metric,
                     None if len(rows) else "no sentence with a reference")


def _ratio(t):
    return safe_ratio(t[..., 0], t[..., 1])


def histogram(values: Sequence[float], bins: int = 20, lo: float | None = None, hi: float | None = None) -> dict:
    """``{"edges": [...], "counts": [...]}`` of ``values`` (JSON-ready, for the figures)."""
    values = np.asarray(values, float)
    if not len(values):
        return {"edges": [], "counts": []}
    counts, edges = np.histogram(values, bins=bins, range=(lo if lo is not None else values.min(),
                                                           hi if hi is not None else values.max()))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


# -- guided completion ---------------------------------------------------------------------------------------------
def split_half(text: str) -> tuple[str, str]:
    """``(first half, second half)`` of a text by whitespace tokens (the first gets ``n // 2``), the separating
    space kept at the end of the first half."""
    words = text.split()
    k = len(words) // 2
    first = " ".join(words[:k])
    return (first + " " if first else ""), " ".join(words[k:])


def completion_match(generated: str, target: str) -> tuple[bool, float]:
    """``(exact, overlap)``: whether the first ``len(target tokens)`` whitespace tokens of ``generated`` equal the
    target's, and the share of target tokens found among them (multiset overlap)."""
    ref, gen = target.split(), generated.split()[: len(target.split())]
    if not ref:
        return False, 0.0
    common = sum((Counter(ref) & Counter(gen)).values())
    return gen == ref, common / len(ref)


def guided_completion(loaded, sentences: Sequence[Sentence], *, cache=None, batch_size: int = 16,
                      margin: int = 2) -> list[dict]:
    """For each sentence: ``{"id", "prefix", "target", "generated", "exact", "overlap"}`` from a greedy continuation
    of its first half (``models.likelihood.greedy_continuations``, budget: the target's token count + ``margin``)."""
    from nerprobe.models.likelihood import greedy_continuations

    halves = [split_half(s.text) for s in sentences]
    tok = loaded.tokenizer
    budgets = [len(tok(" " + t, add_special_tokens=False)["input_ids"]) + margin for _, t in halves]
    gens = greedy_continuations(loaded, [p.rstrip() for p, _ in halves], budgets, cache=cache, batch_size=batch_size)
    out = []
    for s, (p, t), g in zip(sentences, halves, gens):
        exact, overlap = completion_match(g, t)
        out.append({"id": s.id, "prefix": p.rstrip(), "target": t, "generated": g, "exact": exact,
                    "overlap": round(overlap, 4)})
    return out


# -- the probe as one call -----------------------------------------------------------------------------------------
def sentence_scores(scorer, sentences: Sequence[Sentence], k: float) -> dict[str, np.ndarray]:
    """``{score: array}`` of ``SCORES`` for each sentence's whole text under ``scorer`` (NaN where no token was
    scored)."""
    got = scorer.score_texts([s.text for s in sentences])
    out = {}
    for name in SCORES:
        vals = [sc.mean_logprob if name == "mean_logprob" else getattr(sc, name)(k) for sc in got]
        out[name] = np.array([np.nan if v is None else v for v in vals], dtype=float)
    return out


def run_exposure_probe(base, test: Iterable[Sentence] | ProbeSet, reference: Iterable[Sentence] | ProbeSet | None,
                       seed: int = 0, *, train: Iterable[Sentence] | None = None, mode: str = "matched",
                       k: float = 0.2, n_resamples: int = 2000, cache=True, batch_size: int = 32,
                       completion: bool | int = True, top: int = 20, bins: int = 20, device=None, dtype=None,
                       strata: dict[str, Sequence[str]] | None = None) -> dict:
    """Run the probe under ``base`` (``LoadedModel``, ``ModelSpec`` or a local model path).

    ``test`` and ``reference`` are aligned item by item (sentences or probe sets); ``reference=None`` builds it with
    ``build_exposure_reference(train, test, seed, mode=mode)`` (``train`` needed). ``strata`` (name → ids of test
    sentences) adds the same statistics per stratum (e.g. ``{"planted": [...], "not planted": [...]}``). Returns a
    JSON-ready dict::

        {"probe": "exposure", "seed", "k", "mode", "params", "problems", "n",
         "scores": {score: {"auc": Estimate dict, "paired_win": Estimate dict,
                            "histogram": {"test": {"edges", "counts"}, "reference": {...}},
                            "test_mean": x, "reference_mean": y}},
         "strata": {name: {score: {"auc": ..., "paired_win": ...}, "n": n}},
         "most_exposed": [{"id", "text", "reference", score...: [test, reference], "margin"}],  # by min_k margin
         "completion": {"n", "exact": {"test": Estimate, "reference": Estimate}, "overlap": {"test", "reference"},
                        "strata": {name: {"n", "exact", "overlap"}},
                        "examples": [... test sentences completed exactly ...]}}

    ``completion``: True (every sentence), an int (a seeded random subset of that many), or False.
    """
    from nerprobe.models.likelihood import LikelihoodCache, LikelihoodScorer
    from nerprobe.probes.likelihood import _loaded

    params: dict = {}
    problems: list[str] = []
    if reference is None:
        if train is None:
            raise ValueError("run_exposure_probe: give a reference set or the training corpus to build one")
        test_set, ref_set = build_exposure_reference(train, _sentences(test), seed, mode=mode)
        params, problems = dict(test_set.params), list(test_set.problems)
        test_s, ref_s = test_set.sentences, ref_set.sentences
    else:
        test_s, ref_s = _sentences(test), _sentences(reference)
        if len(test_s) != len(ref_s):
            raise ValueError(f"test and reference are not aligned ({len(test_s)} vs {len(ref_s)} sentences)")
        params = {"mode": "given", "kept": len(test_s)}
    loaded = _loaded(base, device, dtype)
    store = LikelihoodCache() if cache is True else (cache or None)
    scorer = LikelihoodScorer(loaded, cache=store, batch_size=batch_size)
    t_scores, r_scores = sentence_scores(scorer, test_s, k), sentence_scores(scorer, ref_s, k)
    ok = np.logical_and.reduce([~np.isnan(t_scores[s]) & ~np.isnan(r_scores[s]) for s in SCORES])
    params["unscored"] = int((~ok).sum())
    ids = [s.id for s in test_s]
    out_scores = {name: _score_block(t_scores[name][ok], r_scores[name][ok], n_resamples, seed, bins)
                  for name in SCORES}
    out_strata = {}
    for sname, members in (strata or {}).items():
        want = set(members)
        sel = ok & np.array([i in want for i in ids], dtype=bool)
        out_strata[sname] = {"n": int(sel.sum()), **{
            name: {"auc": auc_estimate(t_scores[name][sel], r_scores[name][sel], n_resamples, seed).to_dict(),
                   "paired_win": estimate(paired_win_units(t_scores[name][sel], r_scores[name][sel]),
                                          n_resamples, seed).to_dict()} for name in SCORES}}
    margin = t_scores["min_k"] - r_scores["min_k"]
    order = [i for i in np.argsort(-np.nan_to_num(margin, nan=-np.inf), kind="stable") if ok[i]][:top]
    most = [{"id": ids[i], "text": test_s[i].text, "reference": ref_s[i].text, "margin": round(float(margin[i]), 4),
             **{name: [round(float(t_scores[name][i]), 4), round(float(r_scores[name][i]), 4)] for name in SCORES}}
            for i in order]
    result = {"probe": "exposure", "seed": seed, "k": k, "mode": params.get("mode"), "params": params,
              "problems": problems, "n": int(ok.sum()), "model": loaded.fingerprint, "scores": out_scores,
              "strata": out_strata, "most_exposed": most}
    if completion:
        keep = [i for i in range(len(test_s)) if ok[i]]
        if not isinstance(completion, bool) and completion < len(keep):
            keep = sorted(random.Random(f"completion:{seed}").sample(keep, int(completion)))
        result["completion"] = _completion_block(loaded, [test_s[i] for i in keep], [ref_s[i] for i in keep],
                                                 store, batch_size, n_resamples, seed, strata)
    return result


def _sentences(x) -> list[Sentence]:
    return x.sentences if isinstance(x, ProbeSet) else list(x)


def _score_block(pos: np.ndarray, neg: np.ndarray, n_resamples: int, seed: int, bins: int) -> dict:
    both = np.concatenate([pos, neg]) if len(pos) else np.zeros(0)
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (None, None)
    return {"auc": auc_estimate(pos, neg, n_resamples, seed).to_dict(),
            "paired_win": estimate(paired_win_units(pos, neg), n_resamples, seed).to_dict(),
            "histogram": {"test": histogram(pos, bins, lo, hi), "reference": histogram(neg, bins, lo, hi)},
            "test_mean": float(pos.mean()) if len(pos) else None,
            "reference_mean": float(neg.mean()) if len(neg) else None}


def _completion_block(loaded, test_s, ref_s, store, batch_size, n_resamples, seed, strata=None) -> dict:
    from nerprobe.models.cache import GenerationCache, default_cache_dir

    gen_cache = GenerationCache(default_cache_dir()) if store is not None else None
    try:
        t = guided_completion(loaded, test_s, cache=gen_cache, batch_size=batch_size)
        r = guided_completion(loaded, ref_s, cache=gen_cache, batch_size=batch_size)
    finally:
        if gen_cache is not None:
            gen_cache.close()

    def rate(rows):
        arr = np.array([[int(x["exact"]), 1] for x in rows], dtype=np.int64).reshape(-1, 2)
        unit = UnitStats(arr, _ratio, len(arr), "sentences", "completion-exact", None if len(arr) else "no sentence")
        return estimate(unit, n_resamples, seed, min_support=1).to_dict()

    def block(sel):
        tt, rr = [t[i] for i in sel], [r[i] for i in sel]
        return {"n": len(sel), "exact": {"test": rate(tt), "reference": rate(rr)},
                "overlap": {"test": float(np.mean([x["overlap"] for x in tt])) if tt else None,
                            "reference": float(np.mean([x["overlap"] for x in rr])) if rr else None}}

    ids = [s.id for s in test_s]
    out = block(range(len(t)))
    out["strata"] = {name: block([i for i, x in enumerate(ids) if x in set(members)])
                     for name, members in (strata or {}).items()}
    out["examples"] = [x for x in t if x["exact"]][:20]
    return out
