"""The memorization run: build the probe sets, generate with each predictor, parse, score, write the run directory.

Run directory::

    manifest.json        command, versions, predictor fingerprints and roles, data hashes, seeds, format, probes,
                         problems
    probes/<set>.jsonl   the probe sets (header + items with lineage)
    generations/<predictor>/<set>.jsonl   one {"id", "original_id", "prompt", "output", "status"} per item
    measured/<probe>.json the results of the generation-free probes (likelihood, exposure: token log-probabilities)
    scores.json          per predictor and probe set: F1 with bootstrap CIs, strata, outcome counts
    stats.json           indicators per predictor (value, CI, support or n/a with the reason), each predictor's
                         difference from the form-only control, the declared family's paired tests (Holm), the
                         regressions (see ``memorization.scoring``)

Generation goes through the generation cache (``nerprobe.models.cache``), so an interrupted run resumes where it
stopped. Predictors and their roles: ``memorization.predictors``. ``--model lookup`` runs the lookup memorizer as
the subject, with the rule controls, without any neural model.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from nerprobe.errors import InputError, NerprobeError
from nerprobe.memorization.config import Corpora, MemorizationConfig, limited, load_corpora
from nerprobe.memorization.predictors import LOOKUP, NamedPredictor, make_predictors
from nerprobe.memorization.scoring import declared_family, family_resamples, score_run
from nerprobe.probes import registry

RUN_PARTS = ("probes", "generations", "measured", "scores.json", "stats.json")
"""What a memorization run writes besides its manifest (``provenance.finish_run`` records their hashes)."""


def run_prompting(cfg: MemorizationConfig, corpora: Corpora):
    """The format and label set of the run's prompts (``models.prompting.Prompting``): by default those the first
    subject's adapter was trained with (its manifest), else xml and the label set of the training corpus (the demo's
    own on the demo corpus). Its ``warnings`` say where the options differ from the adapter's training."""
    from nerprobe.memorization.predictors import subjects
    from nerprobe.models.prompting import choose_prompting, trained_prompting

    trained = None
    if cfg.model != LOOKUP:
        from nerprobe.models.registry import resolve

        first = subjects(cfg)[0][1]
        trained = trained_prompting(resolve(cfg.model, first, format_name=cfg.format_name or "xml").adapter)
    default = None
    if corpora.demo:
        from nerprobe.models.tiny import demo_labelset

        default = demo_labelset()
    train_labels = sorted({e.label for s in corpora.train for e in s.entities})
    return choose_prompting(trained, format_name=cfg.format_name, labels=cfg.labels, corpus_labels=train_labels,
                            default_labelset=default, original_names=True, template=cfg.template, system=cfg.system)


def _labelset_for(probe_set, labelset):
    from nerprobe.formats.labels import LabelSet

    ls = probe_set.params.get("labelset")
    if ls is None:
        return labelset
    return LabelSet(tuple(ls["names"]), dict(ls.get("definitions", {})))


class GenerationLines:
    """One line of ``generations/<predictor>/<set>.jsonl``: ``json.dumps({"id", "original_id", "prompt", "output",
    "status", "problems"}, ensure_ascii=False) + "\\n"``, character for character, with the prompt's instruction
    escaped once per set instead of once per item. The prompt is ``instruction + "\\n" + input`` and JSON string
    escaping is per character, so its escape is the instruction's, ``\\n``, then the input's (the instruction is
    ~600 of a prompt's ~700 characters: escaping it for each of a CoNLL-2003 run's 49,000 lines was a tenth of
    the run). ``tests/test_speed_equivalence.py`` holds it to ``json.dumps``."""

    def __init__(self):
        self._encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(..., ensure_ascii=False)'s encoder
        self._heads: dict[str, str] = {}

    def prompt(self, request) -> str:
        """``json.dumps(request.prompt, ensure_ascii=False)``."""
        if not request.instruction:
            return self._encode(request.input)
        head = self._heads.get(request.instruction)
        if head is None:
            head = self._heads[request.instruction] = self._encode(request.instruction)[:-1] + "\\n"
        return head + self._encode(request.input)[1:]

    def problems(self, problems) -> str:
        """``json.dumps(list(problems), ensure_ascii=False)`` for problem names (strings): ``[]`` for none (most
        items), else each name encoded and joined with json's item separator ``", "``."""
        if not problems:
            return "[]"
        enc = self._encode
        if all(type(p) is str for p in problems):
            return "[" + ", ".join(map(enc, problems)) + "]"
        return enc(list(problems))

    def __call__(self, item_id, original_id, request, output: str, parse) -> str:
        enc = self._encode
        return (f'{{"id": {enc(item_id)}, "original_id": {enc(original_id)}, "prompt": {self.prompt(request)}, '
                f'"output": {enc(output)}, "status": {enc(parse.status.value)}, '
                f'"problems": {self.problems(parse.problems)}}}\n')


def generate_and_parse(named: NamedPredictor, probe_set, labelset, cfg: MemorizationConfig, run_dir: Path):
    """Generate (through the cache), save the generations and parse them; returns ``(entities per item,
    parse status counts)``. A predictor with its own label set (trained on symbols) is prompted with it on the sets
    that keep the corpus labels, and its labels are mapped back to the corpus's."""
    from nerprobe.data.model import Entity
    from nerprobe.formats import get_format
    from nerprobe.models.predictors import Request

    own = probe_set.params.get("labelset") is None and named.labelset is not None
    ls = named.labelset if own else _labelset_for(probe_set, labelset)
    requests = Request.build_all([it.sentence for it in probe_set.items], cfg.format_name, ls)
    # imported outputs answer per set (two sets may hold one sentence under one prompt, with different outputs)
    predictor = named.predictor.for_set(probe_set.name) if hasattr(named.predictor, "for_set") else named.predictor
    outputs = predictor.predict(requests, progress=cfg.progress) if requests else []
    fmt, names = get_format(cfg.format_name), list(ls.names)
    parses = [fmt.parse(o, it.sentence, names) for o, it in zip(outputs, probe_set.items)]
    path = run_dir / "generations" / named.name / f"{probe_set.name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    line = GenerationLines()
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(line(it.id, it.original_id, r, o, p) for it, r, o, p in zip(probe_set.items, requests, outputs,
                                                                                  parses))
    status = Counter(p.status.value for p in parses)
    entities = [p.entities for p in parses]
    if own and named.label_back:
        back = named.label_back
        entities = [tuple(Entity(e.start, e.end, back.get(e.label, e.label)) for e in ents) for ents in entities]
    return entities, dict(status)


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


def export_sets(cfg: MemorizationConfig, sets: dict, prompting, log) -> dict:
    """``--export``: write the probe sets for generation elsewhere (``exchange.export_probe_sets``) and stop;
    returns ``{"export": manifest path, "sets": {name: items}}``. Read the outputs back with ``--predictions``."""
    from nerprobe.exchange import export_probe_sets

    from nerprobe.templates import resolve_template

    path = export_probe_sets(sets, format_name=cfg.format_name, labelset=prompting.labelset, out_dir=cfg.export,
                             prompting_manifest=prompting.manifest(), command=cfg.command or None,
                             template=resolve_template(cfg.template) if cfg.template else None, system=cfg.system,
                             decoding={"max_new_tokens": cfg.max_new_tokens} if cfg.max_new_tokens else None)
    log(f"exported {len(sets)} probe sets ({sum(len(p) for p in sets.values())} items) to {cfg.export}")
    return {"export": str(path), "sets": {n: len(ps) for n, ps in sets.items()}}


def imported_subject(cfg: MemorizationConfig, sets: dict, labelset) -> NamedPredictor:
    """``--predictions``: the subject ``model`` answers with outputs made elsewhere, paired with the probe items by
    id or prompt (an incomplete or mismatched set is refused with one line)."""
    from nerprobe.exchange import import_predictor
    from nerprobe.memorization.predictors import MODEL

    imported = import_predictor(cfg.predictions, sets, format_name=cfg.format_name, labelset=labelset)
    return NamedPredictor(MODEL, imported, {**imported.manifest(), "model": cfg.model}, "subject")


def measure_without_generation(probes, sets: dict, predictors, cfg: MemorizationConfig, corpora: Corpora, labelset,
                               run_dir: Path, problems: list[str], log) -> dict:
    """Run the generation-free probes (``likelihood``, ``exposure``) on the run's language models; writes each
    result to ``measured/<probe>.json`` and returns ``{probe: registry.measured(result)}``."""
    from nerprobe.memorization.predictors import BASELINE
    from nerprobe.provenance import write_json

    names = [n for n in probes if not registry.PROBES[n].generates]
    if not names:
        return {}
    models = {n.name: n.loaded for n in predictors if n.loaded is not None}
    if not models:
        problems += [f"{n}: needs a language model (not the lookup memorizer or imported outputs): not run"
                     for n in names]
        return {}
    ctx = registry.MeasureContext(models, BASELINE if BASELINE in models else None, cfg.format_name,
                                  list(labelset.names), cfg.seed, cfg.n_resamples, corpora.train, cfg.batch_size)
    out = {}
    for name in names:
        t0 = time.perf_counter()
        result = registry.PROBES[name].measure(sets, ctx)
        problems += list(result.get("problems", []))
        write_json(run_dir / "measured" / f"{name}.json", result)
        out[name] = registry.measured(result)
        log(f"{name}: measured without generation in {time.perf_counter() - t0:.1f}s")
    return out


def check_labels(corpora: Corpora, labelset, problems: list[str]) -> None:
    """Refuse a training corpus without entities; note labels outside the prompts' set, test labels training never
    had, and test sentences without entities."""
    train_labels = sorted({e.label for s in corpora.train for e in s.entities})
    if not train_labels:
        raise InputError(None, None, "the training corpus has no entities", field="train")
    outside = sorted(set(train_labels) - set(labelset.names))
    if outside:
        problems.append(f"labels: the training corpus uses labels outside the prompts' label set: {', '.join(outside)}")
    test_labels = {e.label for s in corpora.test for e in s.entities}
    for lab in sorted(test_labels - set(train_labels)):
        problems.append(f"test: label {lab!r} never occurs in training; its mentions count as misses")
    n_empty = sum(1 for s in corpora.test if not s.entities)
    if n_empty:
        problems.append(f"test: {n_empty} sentence(s) without entities (kept: they count for precision)")


@contextmanager
def collector_paused(freeze: bool = False):
    """A context without automatic cyclic garbage collection. Building the probe sets and scoring make hundreds of
    thousands of objects and few cycles: the full collections their allocations set off walked the growing heap
    again and again (0.9 s of the 1.5 s the collector took in a lookup run on CoNLL-2003, the regression's imports
    most of the rest). ``freeze``: what was made is frozen (``gc.freeze``) before the collector is back, so that
    it is not walked at all (objects that live through the run). Generation keeps the collector: a language
    model's generation makes cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


def run_memorization(cfg: MemorizationConfig, log: Callable[[str], None] = print) -> dict:
    """Run every step and write the run directory ``cfg.out``; returns ``{"scores", "stats", "manifest"}``.

    The manifest is written first (``run.state = "running"``) and last (``"complete"``, with the hashes of every
    file of the run), see ``start_run_dir``. BLAS/OpenMP run on one thread: the work here is many small products and
    fits, and threads fighting over shared cores made the controls' fits 20x slower (the ``--dev`` run on CoNLL-2003
    took 48.9 s instead of 18.9 s at load 3.5, same results)."""
    from threadpoolctl import threadpool_limits

    frozen_before = gc.get_freeze_count()
    with threadpool_limits(1):
        try:
            return _run(cfg, log)
        finally:  # what the run froze (corpora, probe sets, predictions) is the collector's again, on every way out
            if not frozen_before and gc.get_freeze_count():
                gc.unfreeze()


def _run(cfg: MemorizationConfig, log: Callable[[str], None]) -> dict:
    from nerprobe.formats import get_format
    from nerprobe.formats.labels import LABEL_SETS
    from nerprobe.probes.coverage import MentionIndex, get_normalizer
    from nerprobe.provenance import finish_run, write_json

    if cfg.format_name is not None:
        get_format(cfg.format_name)  # the one check of a format name (formats.get_format)
    if cfg.limit is not None and cfg.limit < 1:
        raise InputError(None, None, "must be at least 1", field="limit")
    get_normalizer(cfg.normalize)
    probes = registry.expand(cfg.probes)
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
    # every language model of the run (subjects and base) and the export prompt with the one template and system
    cfg = dataclasses.replace(cfg, format_name=prompting.format_name, template=prompting.template,
                              system=prompting.system)
    if cfg.export is not None or cfg.predictions is not None:
        cfg = dataclasses.replace(cfg, baseline="none")  # the subject's outputs come from elsewhere
    predictors = make_predictors(cfg, corpora, problems)  # fails here, before any work, on a bad model
    names = [n.name for n in predictors]
    subjects = [n.name for n in predictors if n.role == "subject"] or [LOOKUP]
    from nerprobe.memorization.predictors import BASELINE, FORM

    family = declared_family(subjects, probes, BASELINE if BASELINE in names else None,
                             FORM if FORM in names else None)
    cfg = dataclasses.replace(cfg, n_resamples=family_resamples(family, cfg.n_resamples))  # too few: refused here
    labelset = prompting.labelset
    check_labels(corpora, labelset, problems)
    index = MentionIndex(corpora.train, cfg.normalize)
    ctx = registry.BuildContext(corpora.train, limited(corpora.test, cfg.limit, cfg.seed), index, labelset, cfg.seed,
                                corpora.pool, cfg.replacement_source,
                                min(cfg.pair_samples, cfg.limit) if cfg.limit else cfg.pair_samples, cfg.min_context)
    with collector_paused(freeze=froze):  # the probe sets live through the run, like the corpora
        sets = registry.build_sets(probes, ctx)
    if cfg.export is not None:
        return export_sets(cfg, sets, prompting, log)
    if cfg.predictions is not None:
        predictors.insert(0, imported_subject(cfg, sets, labelset))
    manifest = {
        "kind": "memorization",
        "command": cfg.command or None,
        "predictors": {n.name: {**n.manifest, "role": n.role} for n in predictors},
        "subjects": subjects,
        "data": {"demo": corpora.demo, "hashes": corpora.hashes, "train": str(cfg.train) if cfg.train else None,
                 "test": str(cfg.test) if cfg.test else None, "pool": str(cfg.pool) if cfg.pool else None,
                 "dev": str(cfg.dev) if cfg.dev else None,
                 "n_train": len(corpora.train), "n_test": len(corpora.test)},
        "seed": cfg.seed,
        "format": cfg.format_name,
        "prompting": prompting.manifest(),
        "labelset": {"names": list(labelset.names), "known_set": next(
            (k for k, v in LABEL_SETS.items() if v == labelset), None)},
        "probes": probes,
        "probe_sets": {n: {"items": len(ps), "params": ps.params, "seed": ps.seed} for n, ps in sets.items()},
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
    generated = registry.generated_sets(probes, sets)
    for named in predictors:
        predictions[named.name], parse_status[named.name] = {}, {}
        for name, ps in generated.items():
            try:
                preds, status = generate_and_parse(named, ps, labelset, cfg, run_dir)
            except NerprobeError as err:
                problems.append(f"{named.name} on {name}: {err} (left out)")
                predictions[named.name].pop(name, None)
                continue
            predictions[named.name][name] = preds
            parse_status[named.name][name] = status
    if froze:  # and so do the predictions
        gc.freeze()
    complete = {p: by for p, by in predictions.items() if set(by) == set(generated)}
    for p in set(predictions) - set(complete):
        problems.append(f"{p}: left out of the statistics (some probe sets failed)")
    from nerprobe.formats import get_format as _fmt

    match = "text" if getattr(_fmt(cfg.format_name), "position_free", False) else "exact"
    measured = measure_without_generation(probes, sets, predictors, cfg, corpora, labelset, run_dir, problems, log)
    with collector_paused(freeze=froze):
        scores, stats = score_run(probes, sets, complete, labelset, index, subjects=subjects,
                                  n_resamples=cfg.n_resamples, seed=cfg.seed, match=match, family=family,
                                  measured=measured)
    stats["roles"] = {n.name: n.role for n in predictors}
    for p in scores:
        for name in scores[p]:
            scores[p][name]["parse_status"] = parse_status[p].get(name, {})
    for fname, obj in (("scores.json", scores), ("stats.json", stats)):
        write_json(run_dir / fname, obj)
    manifest = finish_run(run_dir, manifest, RUN_PARTS)  # last: marks the directory one complete run
    return {"scores": scores, "stats": stats, "manifest": manifest}
