"""The memorization run: build the probe sets, generate with each predictor, parse, score, write the run directory.

Run directory::

    manifest.json        command, versions, predictor fingerprints, data hashes, seeds, format, probes, problems
    probes/<set>.jsonl   the probe sets (header + items with lineage)
    generations/<predictor>/<set>.jsonl   one {"id", "original_id", "prompt", "output", "status"} per item
    scores.json          per predictor and probe set: F1 / rates with bootstrap CIs, strata, outcomes
    stats.json           paired comparisons (Holm-corrected as one family), memorization summary, regressions

Generation goes through the generation cache (``nerprobe.models.cache``), so an interrupted run resumes where it
stopped. Predictors: the model (``--model``/``--adapter``), the baseline (the base model without the adapter, another
model, or none), the lookup baseline (always), and on the demo corpus the context-only control. ``--model lookup``
runs the lookup baseline alone, without any neural model.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nerprobe.errors import InputError, NerprobeError

PROBE_NAMES = ("coverage", "unseen-entities", "swapped-labels", "type-swaps", "pair-lookup")
"""Probe groups of ``--probes``; ``swapped-labels`` is the three label renamings plus ``type-swaps``."""
RELABEL_SETS = ("swapped-labels-symbols-defs", "swapped-labels-symbols", "swapped-labels-permuted")
LOOKUP, CONTEXT, MODEL, BASELINE = "lookup", "context-only", "model", "baseline"


@dataclass
class MemorizationConfig:
    """Options of a memorization run (``probe memorization``); ``train``/``test`` None means the demo corpus."""

    model: str = "tiny"
    adapter: str | None = None
    baseline: str = "base"
    train: Path | None = None
    test: Path | None = None
    format_name: str | None = None  # None: the adapter's (its manifest), else xml
    labels: str | None = None  # a label-set spec (formats.labels.resolve_label_set); None: the adapter's, else the corpus's
    probes: tuple[str, ...] = PROBE_NAMES
    limit: int | None = None
    seed: int = 0
    out: Path = Path("runs/memorization")
    n_resamples: int | None = None  # None: chosen from the declared family (significance.resamples_for_family)
    normalize: str = "casefold"
    pool: Path | None = None
    replacement_source: str = "auto"
    pair_samples: int = 500
    cache_dir: Path | None = None
    batch_size: int = 8
    max_new_tokens: int | None = None
    device: str | None = None
    dtype: str | None = None
    lenient: bool = False
    progress: bool = True
    command: str = ""


@dataclass
class Corpora:
    """The corpora of a run and where they came from."""

    train: list
    test: list
    pool: list | None
    demo: bool
    hashes: dict = field(default_factory=dict)


def expand_probes(probes) -> list[str]:
    """The probe-set names a list of probe groups stands for (``InputError`` with ``field="probes"`` for an unknown
    name)."""
    out: list[str] = []
    for p in probes:
        if p == "swapped-labels":
            names = list(RELABEL_SETS) + ["type-swaps"]
        elif p in PROBE_NAMES or p in RELABEL_SETS:
            names = [p]
        else:
            raise InputError(None, None, f"unknown probe {p!r} (known: {', '.join(PROBE_NAMES + RELABEL_SETS)})",
                             field="probes")
        out += [n for n in names if n not in out]
    if "unseen-entities" in out and "coverage" not in out:
        out.insert(0, "coverage")  # the original sentences the unseen-entities set pairs with
    return out


def limited(test: list, limit: int | None, seed: int) -> list:
    """``--limit``: a seeded random subset of ``limit`` test sentences, in corpus order (all of them without a limit).

    Not the first N: corpora are often ordered (the demo test set puts its seen-entity sentences first, CoNLL by
    document), so a prefix would be a biased sample."""
    import random

    if not limit or limit >= len(test):
        return list(test)
    keep = sorted(random.Random(f"nerprobe-limit-{seed}").sample(range(len(test)), limit))
    return [test[i] for i in keep]


def load_corpora(cfg: MemorizationConfig, problems: list[str]) -> Corpora:
    """Read ``--train``/``--test`` (and ``--pool``), or make the demo corpus when neither is given."""
    from nerprobe.provenance import file_sha256, sentences_sha256

    if cfg.train is None and cfg.test is None:
        from nerprobe.data.demo import make_demo_corpus

        d = make_demo_corpus(seed=0)
        train, test = list(d.train), list(d.test)
        return Corpora(train, test, None, True, {"train": sentences_sha256(train), "test": sentences_sha256(test),
                                                 "source": "demo:flat:seed=0"})
    if cfg.train is None or cfg.test is None:
        raise InputError(None, None, "give both a training and a test corpus (or neither, for the demo corpus)",
                         field="train" if cfg.train is None else "test")
    from nerprobe.data.io import read_corpus

    read = {}
    for role, path in (("train", cfg.train), ("test", cfg.test), ("pool", cfg.pool)):
        if path is None:
            continue
        if not Path(path).exists():
            raise InputError(None, None, f"{path} does not exist", field=role)
        corpus = read_corpus(path, lenient=cfg.lenient)
        for msg in corpus.skipped:
            problems.append(f"skipped: {msg}")
        if not corpus.sentences:
            raise InputError(None, None, f"{path} has no sentences", field=role)
        read[role] = corpus.sentences
    # the corpus as read (the digest every nerprobe manifest records, e.g. an adapter's training data) and its file
    hashes = {k: sentences_sha256(v) for k, v in read.items()}
    hashes["files"] = {k: file_sha256(p) for k, p in (("train", cfg.train), ("test", cfg.test), ("pool", cfg.pool))
                       if p is not None}
    return Corpora(read["train"], read["test"], read.get("pool"), False, hashes)


def build_probe_sets(cfg: MemorizationConfig, corpora: Corpora, labelset, index, names: list[str]) -> dict:
    """Build the named probe sets (deterministic for ``cfg.seed``); returns name → ProbeSet."""
    from nerprobe.probes.coverage import build_coverage
    from nerprobe.probes.pair_lookup import build_pair_lookup
    from nerprobe.probes.swapped_labels import build_relabeled, build_type_swaps
    from nerprobe.probes.unseen_entities import build_unseen_entities

    test = limited(corpora.test, cfg.limit, cfg.seed)
    n_pairs = min(cfg.pair_samples, cfg.limit) if cfg.limit else cfg.pair_samples
    builders: dict[str, Callable] = {
        "coverage": lambda: build_coverage(corpora.train, test, cfg.seed, index=index),
        "unseen-entities": lambda: build_unseen_entities(
            corpora.train, test, cfg.seed, pool=corpora.pool if corpora.pool is not None else corpora.test,
            source=cfg.replacement_source, index=index),
        "type-swaps": lambda: build_type_swaps(corpora.train, test, cfg.seed, index=index),
        "pair-lookup": lambda: build_pair_lookup(corpora.train, test, cfg.seed, n_train=n_pairs,
                                                 n_heldout=n_pairs, index=index),
    }
    for name in RELABEL_SETS:
        mode = name[len("swapped-labels-"):]
        builders[name] = lambda mode=mode: build_relabeled(test, labelset, mode, cfg.seed)
    return {name: builders[name]() for name in names}


# -- predictors ------------------------------------------------------------------------------------------------
@dataclass
class NamedPredictor:
    """A predictor under the name the run reports it by, and what the manifest records about it."""

    name: str
    predictor: object
    manifest: dict


def _hf_predictor(name: str, spec, cfg: MemorizationConfig, cache) -> NamedPredictor:
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model

    loaded = load_model(spec, device=cfg.device, dtype=cfg.dtype, lazy=True)
    return NamedPredictor(name, HFPredictor(loaded, cache=cache, batch_size=cfg.batch_size,
                                                max_new_tokens=cfg.max_new_tokens), loaded.manifest())


def run_prompting(cfg: MemorizationConfig, corpora: Corpora):
    """The format and label set of the run's prompts (``models.prompting.Prompting``): by default those the adapter
    was trained with (its manifest), else xml and the label set of the training corpus (the demo's own on the demo
    corpus). Its ``warnings`` say where the options differ from the adapter's training."""
    from nerprobe.models.prompting import choose_prompting, trained_prompting

    trained = None
    if cfg.model != LOOKUP:
        from nerprobe.models.registry import resolve

        trained = trained_prompting(resolve(cfg.model, cfg.adapter, format_name=cfg.format_name or "xml").adapter)
    default = None
    if corpora.demo:
        from nerprobe.models.tiny import demo_labelset

        default = demo_labelset()
    train_labels = sorted({e.label for s in corpora.train for e in s.entities})
    return choose_prompting(trained, format_name=cfg.format_name, labels=cfg.labels, corpus_labels=train_labels,
                            default_labelset=default, original_names=True)


def make_predictors(cfg: MemorizationConfig, corpora: Corpora, problems: list[str]) -> list[NamedPredictor]:
    """The model, its baseline, the lookup baseline and (on the demo) the context-only control.

    A model or adapter that cannot be found raises ``NerprobeError`` before any work. ``cfg.format_name`` is the
    format already chosen (``run_prompting``).
    """
    from nerprobe.models.lookup import LookupPredictor

    out: list[NamedPredictor] = []
    if cfg.model != LOOKUP:
        from nerprobe.models.cache import GenerationCache, default_cache_dir
        from nerprobe.models.registry import resolve

        cache = GenerationCache(Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir())
        spec = resolve(cfg.model, cfg.adapter, format_name=cfg.format_name)
        out.append(_hf_predictor(MODEL, spec, cfg, cache))
        if cfg.baseline == "base":
            if spec.adapter:
                out.append(_hf_predictor(BASELINE, dataclasses.replace(spec, adapter=None), cfg, cache))
            else:
                problems.append("baseline: the model has no adapter, so there is no separate base to compare")
        elif cfg.baseline != "none":
            out.append(_hf_predictor(BASELINE, resolve(cfg.baseline, format_name=cfg.format_name), cfg, cache))
    lookup = LookupPredictor.fit(corpora.train)
    out.append(NamedPredictor(LOOKUP, lookup, {"fingerprint": lookup.fingerprint, "kind": "lookup baseline"}))
    if corpora.demo:
        from nerprobe.probes.context_only import ContextOnlyPredictor

        ctx = ContextOnlyPredictor()
        out.append(NamedPredictor(CONTEXT, ctx, {"fingerprint": ctx.fingerprint, "kind": "context-only control"}))
    return out


def _labelset_for(probe_set, labelset):
    from nerprobe.formats.labels import LabelSet

    ls = probe_set.params.get("labelset")
    if ls is None:
        return labelset
    return LabelSet(tuple(ls["names"]), dict(ls.get("definitions", {})))


def _predictor_for(named: NamedPredictor, probe_set):
    """The predictor to use on ``probe_set``: the context-only control reads the renamed labels of a relabeled set
    from its instruction, so it gets the set's mapping."""
    if named.name == CONTEXT and "mapping" in probe_set.params:
        from nerprobe.probes.context_only import ContextOnlyPredictor

        return ContextOnlyPredictor(label_map=probe_set.params["mapping"])
    return named.predictor


def generate_and_parse(named: NamedPredictor, probe_set, labelset, cfg: MemorizationConfig, run_dir: Path):
    """Generate (through the cache), save the generations and parse them; returns ``(entities per item,
    parse status counts)``."""
    from collections import Counter

    from nerprobe.formats import get_format
    from nerprobe.models.predictors import Request

    ls = _labelset_for(probe_set, labelset)
    requests = [Request.build(it.sentence, cfg.format_name, ls) for it in probe_set.items]
    outputs = _predictor_for(named, probe_set).predict(requests, progress=cfg.progress) if requests else []
    fmt, names = get_format(cfg.format_name), list(ls.names)
    parses = [fmt.parse(o, it.sentence, names) for o, it in zip(outputs, probe_set.items)]
    path = run_dir / "generations" / named.name / f"{probe_set.name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for it, r, o, p in zip(probe_set.items, requests, outputs, parses):
            f.write(json.dumps({"id": it.id, "original_id": it.original_id, "prompt": r.prompt, "output": o,
                                "status": p.status.value, "problems": list(p.problems)}, ensure_ascii=False) + "\n")
    status = Counter(p.status.value for p in parses)
    return [p.entities for p in parses], dict(status)


# -- scoring ---------------------------------------------------------------------------------------------------
def _comparison_stats(probe_set, preds, labels):
    """(stats, metric) for paired comparisons of one probe set: span F1, or the probe's rate."""
    from nerprobe.analysis.memorization import outcome_stats, pair_lookup_outcomes, probe_span_stats, rate
    from nerprobe.probes.swapped_labels import swap_outcome

    if probe_set.name == "type-swaps":
        return outcome_stats(swap_outcome(it, p) == "memory" for it, p in zip(probe_set.items, preds)), rate
    if probe_set.name == "pair-lookup":
        return outcome_stats(pair_lookup_outcomes(probe_set, preds).get(("train", "alone"), [])), rate
    return probe_span_stats(probe_set, preds, labels), "micro-f1"


def run_family(predictor_names, probe_names) -> tuple:
    """The declared family (``memorization.declared_family``) of a run with these predictors and probe sets: the
    subject is the model (the lookup baseline when it runs alone), its base the baseline, its controls the lookup
    baseline and the context-only control."""
    from nerprobe.analysis.memorization import declared_family

    names = list(predictor_names)
    subject = MODEL if MODEL in names else LOOKUP
    return declared_family(subject, list(probe_names), BASELINE if BASELINE in names else None,
                           [c for c in (LOOKUP, CONTEXT) if c in names and c != subject])


def family_resamples(family, requested: int | None) -> int:
    """The run's number of resamples: ``requested`` if the family allows it (else ``TooFewResamples``), or the
    family's minimum (at least ``significance.DEFAULT_RESAMPLES``)."""
    from nerprobe.analysis.memorization import ALPHA
    from nerprobe.analysis.significance import resamples_for_family

    return resamples_for_family(len(family), ALPHA, requested)


def _drop_stats(sets: dict, by_set: dict, labels: dict):
    """(original, unseen) span statistics of one predictor, the original sentences in the unseen set's order."""
    from nerprobe.analysis.memorization import probe_span_stats

    cov, uns = sets["coverage"], sets["unseen-entities"]
    pos = {it.id: i for i, it in enumerate(cov.items)}
    order = [pos[it.original_id] for it in uns.items]
    both = sorted(set(labels["coverage"]) | set(labels["unseen-entities"]))
    original = probe_span_stats(cov, by_set["coverage"], both)[order]
    return original, probe_span_stats(uns, by_set["unseen-entities"], both)


def score_run(sets: dict, predictions: dict, labelset, index, cfg: MemorizationConfig,
              family: tuple | None = None) -> tuple[dict, dict]:
    """``(scores, stats)``: per-predictor per-probe scores; the declared family's comparisons with Holm over exactly
    it (``family``: default ``run_family`` of the predictions), the other predictors' F1 drops as estimates, the
    summary and the regressions. ``stats["family"]`` lists the hypotheses, those left untested and why, and the
    resampling."""
    from nerprobe.analysis.memorization import (
        ALPHA, compare, holm_family, indicators, memorization_summary, regression_rows, score_probe,
    )
    from nerprobe.analysis.regression import entity_logit
    from nerprobe.analysis.significance import min_resamples

    if family is None:
        family = run_family(predictions, sets)
    n_resamples = family_resamples(family, cfg.n_resamples)

    labels = {}
    for name, ps in sets.items():
        names = set(_labelset_for(ps, labelset).names)
        # every label any predictor wrote gets its own row: an invented label is a false positive, not dropped
        invented = {e.label for by_set in predictions.values() for p in by_set.get(name, ()) for e in p}
        labels[name] = sorted(names | {e.label for s in ps.sentences for e in s.entities} | invented)
    scores = {p: {name: score_probe(sets[name], preds, labels[name], index, n_resamples, cfg.seed)
                  for name, preds in by_set.items()} for p, by_set in predictions.items()}
    comparisons: list[dict] = []
    untested: dict[str, str] = {}
    for h in family:
        missing = [x for x in (h.a, h.b) if x not in predictions]
        if missing or h.probe not in sets:
            untested[h.name] = f"{missing[0]} has no results" if missing else f"probe set {h.probe} did not run"
            continue
        if h.kind == "original_vs_unseen":
            orig, new = _drop_stats(sets, predictions[h.b], labels)
            comparisons.append(compare(h.name, h.kind, orig, new, "micro-f1", n_resamples, cfg.seed, predictor=h.b))
            continue
        ps = sets[h.probe]
        sa, metric = _comparison_stats(ps, predictions[h.a][h.probe], labels[h.probe])
        sb, _ = _comparison_stats(ps, predictions[h.b][h.probe], labels[h.probe])
        if not len(sa):
            untested[h.name] = "no items to compare"
            continue
        comparisons.append(compare(h.name, h.kind, sa, sb, metric, n_resamples, cfg.seed, probe=h.probe, a=h.a,
                                   b=h.b))
    tested_drops = {c.get("predictor") for c in comparisons if c["kind"] == "original_vs_unseen"}
    if "coverage" in sets and "unseen-entities" in sets:  # the indicator of every predictor: estimates, not tests
        for p, by_set in predictions.items():
            if p not in tested_drops:
                orig, new = _drop_stats(sets, by_set, labels)
                comparisons.append(compare(f"{p}: original vs unseen-entities", "original_vs_unseen", orig, new,
                                           "micro-f1", n_resamples, cfg.seed, in_family=False, predictor=p))
    holm_res = holm_family(comparisons, alpha=ALPHA)
    declared = {
        "hypotheses": [h.to_dict() for h in family], "m": holm_res["n"], "untested": untested, "alpha": ALPHA,
        "correction": "holm over exactly the tested hypotheses", "n_resamples": n_resamples,
        "min_resamples": min_resamples(len(family), ALPHA) if family else 0,
        "resamples_rule": "at least ceil(20 m / alpha) for the m declared hypotheses",
    }
    ind = {p: indicators(scores[p], comparisons, p) for p in predictions}
    summary = memorization_summary(ind, LOOKUP, CONTEXT if CONTEXT in predictions else None)
    regressions = {}
    if "coverage" in sets:
        for p, by_set in predictions.items():
            rows = regression_rows(sets["coverage"], by_set["coverage"], sets.get("unseen-entities"),
                                   by_set.get("unseen-entities"))
            regressions[p] = entity_logit(rows).to_dict()
    stats = {"family": declared, "comparisons": comparisons, "holm": holm_res, "summary": summary,
             "regression": regressions}
    return scores, stats


RUN_PARTS = ("probes", "generations", "scores.json", "stats.json")
"""What a memorization run writes besides its manifest (``provenance.finish_run`` records their hashes)."""


def _manifest_kind(run_dir: Path) -> str | None:
    """The ``kind`` of the manifest in ``run_dir`` (None without a readable one)."""
    try:
        return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None


def start_run_dir(run_dir: Path, manifest: dict) -> Path:
    """Make ``run_dir`` hold this run alone, marked unfinished, before any of its files is written; returns it.

    A directory that already holds a memorization run (finished, interrupted, other seed or options) loses that run's
    files first: its manifest is rewritten with ``run.state = "running"``, then its probe sets, generations, scores
    and statistics are removed. A rerun loses nothing by this: generations come back from the generation cache, and
    probe sets are rebuilt from the seed. So a killed run never leaves a directory that mixes two runs and reads as
    finished (``probe report`` refuses it, see ``provenance.check_run``).
    """
    import shutil

    from nerprobe.provenance import begin_run

    ours = [part for part in RUN_PARTS if (run_dir / part).exists()]
    if ours and _manifest_kind(run_dir) != "memorization":
        raise InputError(str(run_dir), None, f"holds {ours[0]} but no memorization manifest: not a run directory "
                         "nerprobe wrote, so it is left alone (choose another output directory)")
    run_dir.mkdir(parents=True, exist_ok=True)
    begin_run(run_dir, manifest, RUN_PARTS)
    for part in RUN_PARTS:
        path = run_dir / part
        if path.is_dir():
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()
    return run_dir


def run_memorization(cfg: MemorizationConfig, log: Callable[[str], None] = print) -> dict:
    """Run every step and write the run directory ``cfg.out``; returns ``{"scores", "stats", "manifest"}``.

    The manifest is written first (``run.state = "running"``) and last (``"complete"``, with the hashes of every
    file of the run), see ``start_run_dir``."""
    from nerprobe.formats import get_format
    from nerprobe.formats.labels import LABEL_SETS
    from nerprobe.probes.coverage import MentionIndex, get_normalizer
    from nerprobe.provenance import finish_run, write_json

    if cfg.format_name is not None:
        get_format(cfg.format_name)  # the one check of a format name (formats.get_format)
    if cfg.limit is not None and cfg.limit < 1:
        raise InputError(None, None, "must be at least 1", field="limit")
    get_normalizer(cfg.normalize)
    names = expand_probes(cfg.probes)
    problems: list[str] = []
    t0 = time.perf_counter()
    corpora = load_corpora(cfg, problems)
    # The corpora live through the whole run: frozen, the cyclic collector stops walking their ~10^6 objects at
    # every collection (1.5 s of an 8.8 s lookup run on CoNLL-2003). Reference counting still frees them.
    froze = not gc.get_freeze_count()
    if froze:
        gc.freeze()
    prompting = run_prompting(cfg, corpora)
    problems += list(prompting.warnings)
    trained_on, given = prompting.trained.data_sha256 if prompting.trained else None, corpora.hashes.get("train", "")
    if trained_on and trained_on != given:
        problems.append(f"train: the adapter {prompting.trained.adapter} was trained on other sentences "
                        f"({trained_on[:19]}…) than the training corpus given here ({given[:19]}…); seen and unseen "
                        "are counted against the corpus given here")
    cfg = dataclasses.replace(cfg, format_name=prompting.format_name)
    predictors = make_predictors(cfg, corpora, problems)  # fails here, before any work, on a bad model
    family = run_family([n.name for n in predictors], names)
    cfg = dataclasses.replace(cfg, n_resamples=family_resamples(family, cfg.n_resamples))  # too few: refused here

    train_labels = sorted({e.label for s in corpora.train for e in s.entities})
    if not train_labels:
        raise InputError(None, None, "the training corpus has no entities", field="train")
    labelset = prompting.labelset
    outside = sorted(set(train_labels) - set(labelset.names))
    if outside:
        problems.append(f"labels: the training corpus uses labels outside the prompts' label set: {', '.join(outside)}")
    test_labels = {e.label for s in corpora.test for e in s.entities}
    for lab in sorted(test_labels - set(train_labels)):
        problems.append(f"test: label {lab!r} never occurs in training; its mentions count as misses")
    n_empty = sum(1 for s in corpora.test if not s.entities)
    if n_empty:
        problems.append(f"test: {n_empty} sentence(s) without entities (kept: they count for precision)")
    index = MentionIndex(corpora.train, cfg.normalize)
    sets = build_probe_sets(cfg, corpora, labelset, index, names)
    manifest = {
        "kind": "memorization",
        "command": cfg.command or None,
        "predictors": {n.name: n.manifest for n in predictors},
        "data": {"demo": corpora.demo, "hashes": corpora.hashes, "train": str(cfg.train) if cfg.train else None,
                 "test": str(cfg.test) if cfg.test else None, "pool": str(cfg.pool) if cfg.pool else None,
                 "n_train": len(corpora.train), "n_test": len(corpora.test)},
        "seed": cfg.seed,
        "format": cfg.format_name,
        "prompting": prompting.manifest(),
        "labelset": {"names": list(labelset.names), "known_set": next(
            (k for k, v in LABEL_SETS.items() if v == labelset), None)},
        "probes": {n: {"items": len(ps), "params": ps.params, "seed": ps.seed} for n, ps in sets.items()},
        "limit": cfg.limit,
        "n_resamples": cfg.n_resamples,
        "family": [h.name for h in family],  # the declared hypotheses (Holm runs over these; see stats.json)
        "normalize": cfg.normalize,
        "replacement_source": cfg.replacement_source,
        "problems": problems,
    }
    run_dir = start_run_dir(Path(cfg.out), manifest)
    for ps in sets.values():
        ps.save(run_dir)
        problems += [f"{ps.name}: {p}" for p in ps.problems]
    log(f"built {len(sets)} probe sets ({sum(len(p) for p in sets.values())} items) "
        f"in {time.perf_counter() - t0:.1f}s")

    predictions: dict[str, dict] = {}
    parse_status: dict[str, dict] = {}
    for named in predictors:
        predictions[named.name], parse_status[named.name] = {}, {}
        for name, ps in sets.items():
            try:
                preds, status = generate_and_parse(named, ps, labelset, cfg, run_dir)
            except NerprobeError as err:
                problems.append(f"{named.name} on {name}: {err} (left out)")
                predictions[named.name].pop(name, None)
                continue
            predictions[named.name][name] = preds
            parse_status[named.name][name] = status
    complete = {p: by for p, by in predictions.items() if set(by) == set(sets)}
    for p in set(predictions) - set(complete):
        problems.append(f"{p}: left out of the statistics (some probe sets failed)")
    scores, stats = score_run(sets, complete, labelset, index, cfg, family)
    for p in scores:
        for name in scores[p]:
            scores[p][name]["parse_status"] = parse_status[p].get(name, {})
    for fname, obj in (("scores.json", scores), ("stats.json", stats)):
        write_json(run_dir / fname, obj)
    manifest = finish_run(run_dir, manifest, RUN_PARTS)  # last: marks the directory one complete run
    if froze:
        gc.unfreeze()
    return {"scores": scores, "stats": stats, "manifest": manifest}
