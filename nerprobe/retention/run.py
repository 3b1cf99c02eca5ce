"""``probe retention`` end to end: plan (all checks, no model loaded), evaluate each model once per task with
resume, pair items, test, write the run directory.

Run directory::

    manifest.json                      command, versions, specs, fingerprints, settings, item subsets
    tasks/                             the local task YAMLs with resolved data paths (lm-eval include path)
    data/                              data built for the demo tasks
    lm_cache/<model>_rank0.db          lm-eval's response cache (reruns are cheap)
    results/<model>/<task>.json        lm-eval's aggregate results for one (model, task), written when it finishes
    results/<model>/<task>.items.jsonl its per-item records
    pairs/<adapter>/<leaf task>.jsonl  per-item pairs base vs tuned, one line per (metric, filter, doc)
    stats.json                         rows (Comparison dicts: base value_a, tuned value_b, difference, CI, p; Holm p, verdict), answer form

A rerun with the same settings and ``--out`` skips every finished (model, task) pair.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from nerprobe.errors import InputError
from nerprobe.retention import harness, suite
from nerprobe.retention.answers import answer_form
from nerprobe.retention.compare import DEFAULT_MARGIN, compare_runs
from nerprobe.retention.pairing import item_records, pair_records, read_records, write_records

BASE_KEY = "base"


@dataclass
class RetentionPlan:
    """Everything checked and decided before any model is loaded."""

    out_dir: Path
    base_spec: Any
    adapter_specs: dict[str, Any]
    tasks: list[harness.TaskPlan]
    settings: harness.EvalSettings
    manager: Any
    data_dir: Path
    fingerprints: dict[str, str] = field(default_factory=dict)
    device: str | None = None
    manifest: dict = field(default_factory=dict)

    def model_specs(self) -> dict[str, Any]:
        """Model key -> spec, base first."""
        return {BASE_KEY: self.base_spec, **self.adapter_specs}

    def identity(self) -> dict[str, Any]:
        """What must match for a rerun to reuse this directory's finished results."""
        return {
            "models": {k: _spec_dict(s) for k, s in self.model_specs().items()},
            "tasks": [t.name for t in self.tasks],
            "settings": self.settings.to_dict(),
            "samples": {t.name: t.samples for t in self.tasks},
        }


@dataclass
class RetentionResult:
    """The outcome: one list of rows per adapter, answer-form stats per (model, task), timings in seconds."""

    out_dir: Path
    rows: dict[str, list[dict]]
    answer_form: dict[str, dict[str, dict]]
    timings: dict[str, float]
    aggregates: dict[str, dict[str, dict]]


def _spec_dict(spec) -> dict:
    return dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else dict(vars(spec))


def _adapter_key(path: str, taken: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).name.strip()) or "adapter"
    key, k = stem, 2
    while key in taken or key == BASE_KEY:
        key, k = f"{stem}-{k}", k + 1
    return key


def resolve_models(model: str, adapters: list[str]) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """Base spec, adapter specs by key, and fingerprints by key; every spec checked without loading weights.

    With no ``adapters``, an alias that bundles an adapter (``tiny``) supplies it. Raises a one-line error for a
    missing model or adapter, or an adapter trained on another base.
    """
    from nerprobe.models.loading import check_spec
    from nerprobe.models.registry import resolve

    spec = resolve(model)
    base_spec = dataclasses.replace(spec, adapter=None)
    adapter_paths = list(adapters) or ([spec.adapter] if spec.adapter else [])
    if not adapter_paths:
        raise InputError(None, None, f"{model} has no adapter to compare with its base; name one", field="adapter")
    fingerprints = {BASE_KEY: check_spec(base_spec)["model"]}
    adapter_specs: dict[str, Any] = {}
    for path in adapter_paths:
        a_spec = dataclasses.replace(base_spec, adapter=path)
        key = _adapter_key(path, set(adapter_specs))
        fingerprints[key] = check_spec(a_spec)["model"]
        adapter_specs[key] = a_spec
    return base_spec, adapter_specs, fingerprints


def plan_retention(
    model: str,
    adapters: list[str],
    tasks: list[str],
    settings: harness.EvalSettings,
    out_dir: Path,
    *,
    data_dir: Path | None = None,
    device: str | None = None,
    resolve: Callable | None = None,
) -> RetentionPlan:
    """Check models, adapters, tasks and data, write the task YAMLs, and load the task data; no model is loaded.

    ``tasks`` empty with ``--model tiny``: the demo suite. ``resolve`` replaces ``resolve_models`` (tests).
    """
    harness.quiet_lm_eval()
    base_spec, adapter_specs, fingerprints = (resolve or resolve_models)(model, adapters)
    if not tasks:
        if model in ("tiny", "tiny-base"):
            tasks = list(suite.DEMO_SUITE)
        else:
            raise InputError(None, None, "give at least one task (e.g. local_mmlu,local_gsm8k or any lm-eval task)",
                             field="tasks")
    if len(set(tasks)) != len(tasks):
        raise InputError(None, None, "a task is named twice", field="tasks")
    data_dir = Path(data_dir) if data_dir else suite.default_data_dir()
    suite.check_local_data(tasks, data_dir)
    out_dir = Path(out_dir)
    run_data = out_dir / "data"
    if any(suite.LOCAL_TASKS.get(t) and suite.LOCAL_TASKS[t].demo for t in tasks):
        from nerprobe.retention.demo_tasks import write_demo_task_data

        write_demo_task_data(run_data)
    task_dir = suite.write_task_dir(tasks, out_dir / "tasks", data_dir, run_data)
    manager = harness.task_manager(task_dir, include_defaults=harness.needs_default_tasks(tasks))
    plans = harness.load_tasks(tasks, manager, settings)
    plan = RetentionPlan(
        out_dir=out_dir,
        base_spec=base_spec,
        adapter_specs=adapter_specs,
        tasks=plans,
        settings=settings,
        manager=manager,
        data_dir=data_dir,
        fingerprints=fingerprints,
        device=device,
    )
    _check_or_write_manifest(plan)
    return plan


RUN_PARTS = ("results", "pairs", "stats.json")
"""What a retention run writes that its manifest records the hashes of (``tasks/``, ``data/`` and ``lm_cache/`` are
rebuilt or reused by every rerun)."""
RUN_FOLDER_PARTS = RUN_PARTS + ("tasks", "data", "lm_cache")
"""Everything a retention run may write into its folder besides ``manifest.json``."""


def _check_or_write_manifest(plan: RetentionPlan) -> None:
    """Refuse a directory that holds a retention run with other settings; else mark it as holding this run,
    unfinished (``provenance.begin_run``) until ``run_retention`` marks it complete."""
    from nerprobe.provenance import begin_run

    path = plan.out_dir / "manifest.json"
    identity = plan.identity()
    if path.is_file():
        from nerprobe.safe_io import read_json_object  # depth, UTF-8 and shape errors as one line

        old = read_json_object(path)
        if old.get("identity") != json.loads(json.dumps(identity)):
            raise InputError(str(plan.out_dir), None, "holds a retention run with other settings; choose another "
                             "output directory", field="out")
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    plan.manifest = begin_run(plan.out_dir, _manifest(plan), RUN_PARTS)


def _manifest(plan: RetentionPlan) -> dict:
    """What the manifest of a retention run records besides its provenance and state."""
    return {
        "kind": "retention",
        "identity": plan.identity(),
        "fingerprints": plan.fingerprints,
        "data_dir": str(plan.data_dir.resolve()),
        "task_items": {t.name: {"leaves": t.leaves, "evaluated": t.n_items()} for t in plan.tasks},
        "subset": "seeded random subset per leaf task (numpy default_rng(subset_seed + k)), same for every model"
        if plan.settings.limit is not None
        else "all items",
    }


def _result_paths(out_dir: Path, key: str, task: str) -> tuple[Path, Path]:
    d = out_dir / "results" / key
    return d / f"{task}.json", d / f"{task}.items.jsonl"


def _default_loader(device: str | None):
    from nerprobe.models.loading import load_model

    return lambda spec: load_model(spec, device=device)


def _save_task_result(plan: RetentionPlan, key: str, task: harness.TaskPlan, res: dict) -> None:
    json_path, items_path = _result_paths(plan.out_dir, key, task.name)
    records = []
    for leaf, samples in res.get("samples", {}).items():
        output_type = res.get("configs", {}).get(leaf, {}).get("output_type")
        records.extend(item_records(leaf, samples, output_type))
    write_records(records, items_path)
    summary = {
        "model": key,
        "fingerprint": plan.fingerprints.get(key),
        "task": task.name,
        "results": res.get("results", {}),
        "higher_is_better": res.get("higher_is_better", {}),
        "n-shot": res.get("n-shot", {}),
        "n-samples": res.get("n-samples", {}),
        "versions": res.get("versions", {}),
        "configs": res.get("configs", {}),
        "lm_eval_config": res.get("config", {}),
    }
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    tmp.replace(json_path)


def evaluate_models(plan: RetentionPlan, *, loader: Callable | None = None, progress: bool = True) -> dict[str, float]:
    """Evaluate every model on every task not finished yet; each (model, task) is saved as soon as it finishes.

    ``loader(spec)`` returns an object with ``.model`` and ``.tokenizer`` (default: ``load_model``); a model whose
    tasks are all finished is never loaded. With ``progress`` and stderr not a terminal (a log file), one plain line
    per finished (model, task) says how far the run is. Returns timings: ``load_s``, ``harness_s``.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    loader = loader or _default_loader(plan.device)
    timings = {"load_s": 0.0, "harness_s": 0.0}
    steps = [(k, s, t) for k, s in plan.model_specs().items() for t in plan.tasks]
    todo = [(k, s, t) for k, s, t in steps if not _result_paths(plan.out_dir, k, t.name)[0].is_file()]
    cache_dir = plan.out_dir / "lm_cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
    with Progress(*columns, disable=not progress, transient=False) as bar:
        total_items = sum(t.n_items() for _, _, t in todo)
        job = bar.add_task("retention items", total=total_items, rate="")
        done_items, t_start = 0, time.perf_counter()
        current_key, lm, loaded = None, None, None
        for key, spec, task in todo:
            if key != current_key:
                lm = loaded = None
                gc.collect()
                t0 = time.perf_counter()
                loaded = loader(spec)
                lm = harness.hf_lm(loaded.model, loaded.tokenizer, plan.settings)
                timings["load_s"] += time.perf_counter() - t0
                current_key = key
            bar.update(job, description=f"{key} · {task.name}")
            t0 = time.perf_counter()
            with harness.lm_eval_progress(progress):
                res = harness.evaluate_task(lm, task, plan.manager, plan.settings, cache_dir / key)
            timings["harness_s"] += time.perf_counter() - t0
            _save_task_result(plan, key, task, res)
            done_items += task.n_items()
            rate = done_items / max(time.perf_counter() - t_start, 1e-9)
            bar.update(job, completed=done_items, rate=f"{rate:.1f} items/s")
            if progress and not bar.console.is_terminal:  # a log file gets one plain line per finished task
                print(f"retention: {key} · {task.name} done ({done_items}/{total_items} items, {rate:.1f} items/s, "
                      f"{time.perf_counter() - t_start:.0f} s)", file=sys.stderr, flush=True)
        lm = loaded = None
        gc.collect()
    return timings


def load_items(out_dir: Path, key: str, task: str) -> dict[str, list[dict]]:
    """The saved per-item records of one (model, task), grouped by leaf task."""
    by_leaf: dict[str, list[dict]] = {}
    for r in read_records(_result_paths(out_dir, key, task)[1]):
        by_leaf.setdefault(r["task"], []).append(r)
    return by_leaf


def compare_models(plan: RetentionPlan, *, n_resamples: int | None = None, seed: int = 0, alpha: float = 0.05,
                   margin: float = DEFAULT_MARGIN):
    """Pair and test every adapter against the base from the saved results; writes pairs/ and stats.json.

    ``n_resamples`` None: chosen from each comparison's family (``compare.compare_runs``); too few raise
    ``TooFewResamples`` (the evaluations are saved, so a rerun with more costs only the statistics)."""
    out = plan.out_dir
    rows: dict[str, list[dict]] = {}
    forms: dict[str, dict[str, dict]] = {}
    aggregates: dict[str, dict[str, dict]] = {}
    hib: dict[tuple[str, str], bool] = {}
    items = {k: {} for k in plan.model_specs()}
    for key in plan.model_specs():
        for task in plan.tasks:
            summary = json.loads(_result_paths(out, key, task.name)[0].read_text(encoding="utf-8"))
            for leaf, flags in summary.get("higher_is_better", {}).items():
                for metric, flag in (flags or {}).items():
                    hib[(leaf, metric)] = bool(flag)
            aggregates.setdefault(key, {}).update(summary.get("results", {}))
            for leaf, recs in load_items(out, key, task.name).items():
                items[key][leaf] = recs
                form = answer_form(recs)
                if form is not None:
                    forms.setdefault(key, {})[leaf] = form
    for key in plan.adapter_specs:
        pairs = []
        for leaf in sorted(items[BASE_KEY]):
            leaf_pairs = pair_records(items[BASE_KEY][leaf], items[key].get(leaf, []))
            pairs.extend(leaf_pairs)
            lines = [
                {"metric": p.metric, "filter": p.filter, **item} for p in leaf_pairs for item in p.items
            ]
            write_records(lines, out / "pairs" / key / f"{leaf}.jsonl")
        rows[key] = compare_runs(pairs, hib, n_resamples=n_resamples, seed=seed, alpha=alpha, margin=margin)
    return rows, forms, aggregates


def check_planned_resamples(plan: RetentionPlan, n_resamples: int | None, alpha: float) -> None:
    """Refuse a requested ``n_resamples`` too small for the family the planned tasks will make (``TooFewResamples``),
    before any evaluation; the family counts one test per (leaf task, filter, metric), as lm-eval's task configs
    list them. Binary metrics only (McNemar): no minimum. The comparison checks the real family again."""
    from nerprobe.analysis.significance import check_resamples
    from nerprobe.retention.pairing import BINARY_METRICS

    if n_resamples is None:
        return
    graded = any(m not in BINARY_METRICS for t in plan.tasks for ms in t.metrics.values() for m in ms)
    if graded:
        check_resamples(n_resamples, sum(t.n_tests() for t in plan.tasks), alpha)


def run_retention(
    plan: RetentionPlan,
    *,
    loader: Callable | None = None,
    progress: bool = True,
    n_resamples: int | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    margin: float = DEFAULT_MARGIN,
) -> RetentionResult:
    """Evaluate (resuming), compare, and write ``stats.json``; returns the rows, answer forms and timings.

    ``n_resamples`` None: chosen from the family; ``margin``: the retention margin in points (``compare``)."""
    check_planned_resamples(plan, n_resamples, alpha)  # before any model is loaded
    t0 = time.perf_counter()
    timings = evaluate_models(plan, loader=loader, progress=progress)
    t1 = time.perf_counter()
    rows, forms, aggregates = compare_models(plan, n_resamples=n_resamples, seed=seed, alpha=alpha, margin=margin)
    timings["stats_s"] = time.perf_counter() - t1
    timings["total_s"] = time.perf_counter() - t0
    stats = {
        "comparisons": {k: {"base": BASE_KEY, "tuned": k, "rows": r,
                            "family": [f"{x['task']}: {x['metric']} ({x['filter']})" for x in r]}
                        for k, r in rows.items()},
        "answer_form": forms,
        "aggregates": aggregates,
        "n_resamples": max((x["n_resamples"] for r in rows.values() for x in r), default=n_resamples),
        "seed": seed,
        "alpha": alpha,
        "margin": margin,
        "multiple_testing": "Holm across all rows of each comparison (every task, metric and filter): its family",
        "verdicts": "worse/better: Holm p < alpha; retained: not significant and the 95% CI of the difference within "
                    f"±{margin:g} points; inconclusive: otherwise",
        "timings": timings,
    }
    from nerprobe.provenance import finish_run, write_json

    write_json(plan.out_dir / "stats.json", stats)
    plan.manifest = finish_run(plan.out_dir, plan.manifest or _manifest(plan), RUN_PARTS)  # last: the run is complete
    return RetentionResult(plan.out_dir, rows, forms, timings, aggregates)
