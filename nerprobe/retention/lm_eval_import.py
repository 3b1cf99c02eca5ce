"""Retention from lm-eval output folders made anywhere (``lm_eval ... --log_samples --output_path DIR``, any backend:
hf, vllm, on any machine): read both, check that they evaluated the same thing, pair item by item, test.

An lm-eval output folder holds, per model, ``results_<time>.json`` (aggregates, task configs, versions, n-shot) and
``samples_<task>_<time>.jsonl`` (one record per document and filter). ``read_lm_eval_run`` finds them (a folder with
one results file at any depth below it, or the results file itself); ``check_same_evaluation`` refuses two runs
whose tasks, task versions, n-shot or documents differ, with one line naming the first difference;
``import_lm_eval_runs`` writes a retention run directory (the layout of ``probe retention``, models ``base`` and
``tuned``) and its statistics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from nerprobe.errors import InputError
from nerprobe.retention.pairing import item_records

FIELD = "from_lm_eval"
_RESULTS = re.compile(r"^results_(?P<stamp>.+)\.json$")


@dataclass
class LmEvalRun:
    """One lm-eval run: its results file and JSON, and the raw logged samples of each leaf task."""

    results_path: Path
    results: dict
    samples: dict[str, list[dict]] = field(default_factory=dict)
    sample_files: dict[str, Path] = field(default_factory=dict)

    @property
    def tasks(self) -> list[str]:
        """The leaf tasks evaluated (lm-eval's ``configs``), sorted."""
        return sorted(self.results.get("configs") or {})

    @property
    def model(self) -> str:
        """What the run says the model was: ``model_name``, else the ``model_args`` of its config."""
        cfg = self.results.get("config") or {}
        return str(self.results.get("model_name") or cfg.get("model_args") or self.results_path.parent.name)


def _results_file(source: Path) -> Path:
    if source.is_file():
        if not _RESULTS.match(source.name):
            raise InputError(str(source), None, "not an lm-eval results_<time>.json file", field=FIELD)
        return source
    if not source.is_dir():
        raise InputError(str(source), None, "does not exist", field=FIELD)
    found = sorted(p for p in source.rglob("results_*.json") if _RESULTS.match(p.name))
    if not found:
        raise InputError(str(source), None, "holds no lm-eval results_<time>.json (run lm_eval with --output_path "
                         "DIR --log_samples)", field=FIELD)
    if len(found) > 1:
        raise InputError(str(source), None, f"holds {len(found)} lm-eval runs ({found[0].name}, ...); pass the "
                         "results_<time>.json of the one to use", field=FIELD)
    return found[0]


def read_lm_eval_run(source) -> LmEvalRun:
    """The lm-eval run in ``source`` (a folder holding one ``results_<time>.json`` at any depth, or that file), with
    the samples of every task it evaluated. ``InputError`` (field ``from_lm_eval``) when there is no run, several, or
    a task without its samples file (the run was made without ``--log_samples``)."""
    from nerprobe.safe_io import read_json_object

    path = _results_file(Path(source).expanduser())
    results = read_json_object(path)
    stamp = _RESULTS.match(path.name).group("stamp")
    run = LmEvalRun(path, results)
    for task in run.tasks:
        sample_path = path.parent / f"samples_{task}_{stamp}.jsonl"
        if not sample_path.is_file():
            raise InputError(str(path.parent), None, f"no samples_{task}_{stamp}.jsonl: rerun lm_eval with "
                             "--log_samples (nerprobe pairs the runs item by item)", field=FIELD)
        rows = []
        with sample_path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise InputError(str(sample_path), n, f"not valid JSON: {err.msg}", field=FIELD) from None
        run.samples[task], run.sample_files[task] = rows, sample_path
    return run


def _docs(samples: list[dict]) -> dict[int, str | None]:
    return {int(s["doc_id"]): s.get("doc_hash") for s in samples if "doc_id" in s}


def check_same_evaluation(base: LmEvalRun, tuned: LmEvalRun) -> None:
    """Refuse (``InputError``, one line) two runs that differ in tasks, task versions, n-shot, or the documents of a
    task (ids or content hashes): their items would not pair."""
    where = f"{base.results_path} vs {tuned.results_path}"
    if base.tasks != tuned.tasks:
        only_b = sorted(set(base.tasks) - set(tuned.tasks))
        only_t = sorted(set(tuned.tasks) - set(base.tasks))
        raise InputError(None, None, f"the runs evaluated different tasks (only in base: {', '.join(only_b) or '-'}; "
                         f"only in tuned: {', '.join(only_t) or '-'}): {where}", field=FIELD)
    for key, what in (("versions", "version"), ("n-shot", "n-shot")):
        vb, vt = base.results.get(key) or {}, tuned.results.get(key) or {}
        for task in base.tasks:
            if vb.get(task) != vt.get(task):
                raise InputError(None, None, f"task {task}: {what} {vb.get(task)!r} in base, {vt.get(task)!r} in "
                                 f"tuned: {where}", field=FIELD)
    for task in base.tasks:
        db, dt = _docs(base.samples[task]), _docs(tuned.samples[task])
        if set(db) != set(dt):
            only_b, only_t = sorted(set(db) - set(dt)), sorted(set(dt) - set(db))
            first = (only_b or only_t)[0]
            raise InputError(None, None, f"task {task}: the runs evaluated different documents ({len(only_b)} only "
                             f"in base, {len(only_t)} only in tuned; first: doc {first}; same --limit and data?): "
                             f"{where}", field=FIELD)
        changed = sorted(d for d in db if db[d] != dt[d])
        if changed:
            raise InputError(None, None, f"task {task}: {len(changed)} documents differ in content (first: doc "
                             f"{changed[0]}; the task data changed between the runs): {where}", field=FIELD)


def _write_model(out_dir: Path, key: str, run: LmEvalRun) -> None:
    """``results/<key>/<task>.json`` and ``.items.jsonl`` as ``probe retention`` writes them, one per leaf task."""
    from nerprobe.provenance import write_json
    from nerprobe.retention.pairing import write_records
    from nerprobe.retention.run import _result_paths

    res = run.results
    for task in run.tasks:
        json_path, items_path = _result_paths(out_dir, key, task)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        output_type = (res.get("configs") or {}).get(task, {}).get("output_type")
        write_records(item_records(task, run.samples[task], output_type), items_path)
        write_json(json_path, {
            "model": key, "lm_eval_model": run.model, "task": task,
            "results": {task: (res.get("results") or {}).get(task, {})},
            "higher_is_better": {task: (res.get("higher_is_better") or {}).get(task, {})},
            "n-shot": {task: (res.get("n-shot") or {}).get(task)},
            "n-samples": {task: (res.get("n-samples") or {}).get(task)},
            "versions": {task: (res.get("versions") or {}).get(task)},
            "configs": {task: (res.get("configs") or {}).get(task)},
            "lm_eval_config": res.get("config", {}),
            "source": str(run.results_path),
        })


@dataclass
class _ImportedPlan:
    """What ``retention.run.compare_models`` reads of a plan: the folder, the model keys and the tasks."""

    out_dir: Path
    tasks: list
    adapter_specs: dict

    def model_specs(self) -> dict:
        return {"base": None, **self.adapter_specs}


@dataclass(frozen=True)
class _Task:
    name: str


def import_lm_eval_runs(base_source, tuned_source, out_dir, *, n_resamples: int | None = None, seed: int = 0,
                        alpha: float = 0.05, margin: float | None = None, command: str | None = None):
    """Read two lm-eval runs, check them (``check_same_evaluation``), write a retention run directory in ``out_dir``
    and test base vs tuned item by item exactly as ``probe retention`` does; returns a ``RetentionResult``
    (the tuned model's key is ``tuned``)."""
    import time

    from nerprobe.provenance import begin_run, file_sha256, finish_run, write_json
    from nerprobe.retention.compare import DEFAULT_MARGIN
    from nerprobe.retention.run import RUN_PARTS, RetentionResult, compare_models

    margin = DEFAULT_MARGIN if margin is None else margin
    base, tuned = read_lm_eval_run(base_source), read_lm_eval_run(tuned_source)
    check_same_evaluation(base, tuned)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = {k: {"results": str(r.results_path), "sha256": file_sha256(r.results_path), "model": r.model,
                   "samples": {t: file_sha256(p) for t, p in r.sample_files.items()}}
               for k, r in (("base", base), ("tuned", tuned))}
    manifest = {"kind": "retention", "imported_from_lm_eval": sources,
                "identity": {"models": {k: {"lm_eval": v["model"]} for k, v in sources.items()},
                             "tasks": base.tasks, "settings": {"lm_eval_config": base.results.get("config", {})},
                             "samples": "as evaluated by lm-eval"},
                "fingerprints": {k: "lm-eval:" + v["sha256"] for k, v in sources.items()}}
    manifest = begin_run(out, manifest, RUN_PARTS, command=command)
    t0 = time.perf_counter()
    _write_model(out, "base", base)
    _write_model(out, "tuned", tuned)
    plan = _ImportedPlan(out, [_Task(t) for t in base.tasks], {"tuned": None})
    rows, forms, aggregates = compare_models(plan, n_resamples=n_resamples, seed=seed, alpha=alpha, margin=margin)
    timings = {"stats_s": time.perf_counter() - t0}
    write_json(out / "stats.json", {
        "comparisons": {k: {"base": "base", "tuned": k, "rows": r,
                            "family": [f"{x['task']}: {x['metric']} ({x['filter']})" for x in r]}
                        for k, r in rows.items()},
        "answer_form": forms, "aggregates": aggregates,
        "n_resamples": max((x["n_resamples"] for r in rows.values() for x in r), default=n_resamples),
        "seed": seed, "alpha": alpha, "margin": margin,
        "multiple_testing": "Holm across all rows of each comparison (every task, metric and filter): its family",
        "timings": timings,
    })
    finish_run(out, manifest, RUN_PARTS, command=command)
    return RetentionResult(out, rows, forms, timings, aggregates)
