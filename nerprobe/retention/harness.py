"""The thin layer over lm-evaluation-harness: find and load tasks, pick the seeded item subset, run one model on one
task with recorded settings, and keep lm-eval's per-item logs.

Everything that can fail on the user's input (unknown task, data not available offline) fails in ``load_tasks``,
which runs before any model is loaded.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nerprobe.errors import InputError, NerprobeError
from nerprobe.retention.suite import LOCAL_TASKS


@dataclass(frozen=True)
class EvalSettings:
    """Everything that must be identical for the base and the tuned runs; recorded in the manifest.

    ``limit``: evaluate a seeded random subset of ``limit`` items per task (``subset_seed``), the same items for
    every model (lm-eval's own ``limit`` would take the first N); a float in (0, 1) is that fraction of each task.
    ``max_gen_toks`` overrides generative tasks' generation length when set. Seeds are lm-eval's four seeds.
    """

    num_fewshot: int | None = None
    limit: int | float | None = None
    subset_seed: int = 0
    apply_chat_template: bool = False
    system_instruction: str | None = None
    batch_size: int = 8
    max_gen_toks: int | None = None
    random_seed: int = 0
    numpy_random_seed: int = 1234
    torch_random_seed: int = 1234
    fewshot_random_seed: int = 1234
    # lm-eval's own default: the results carry its ``<metric>_stderr,<filter>``, the closed-form standard error of the
    # mean (sample std / sqrt(n)) for mean-aggregated metrics (every task nerprobe ships), a bootstrap for the few
    # corpus metrics lm-eval bootstraps (f1_score, bleu, ...), pooled over the subtasks of a group. The paired tests
    # and CIs of a comparison are nerprobe's own, from the per-item records.
    bootstrap_iters: int = 100000

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return asdict(self)

    def gen_kwargs(self) -> dict[str, Any] | None:
        """The generation overrides passed to lm-eval (None when the tasks' own settings apply)."""
        return {"max_gen_toks": self.max_gen_toks} if self.max_gen_toks is not None else None


@dataclass
class TaskPlan:
    """A requested task name, the leaf tasks lm-eval expands it into, and each leaf's item count and subset."""

    name: str
    leaves: dict[str, int] = field(default_factory=dict)  # leaf task name -> number of eval docs
    samples: dict[str, list[int]] | None = None  # leaf -> sorted doc indices, or None for all
    metrics: dict[str, list[str]] = field(default_factory=dict)  # leaf -> per-item metrics lm-eval will log
    filters: dict[str, list[str]] = field(default_factory=dict)  # leaf -> its filters ("none" when it has none)

    def n_tests(self) -> int:
        """The paired tests this task will add to a comparison: one per (leaf, filter, metric)."""
        return sum(len(self.metrics.get(leaf, [])) * max(1, len(self.filters.get(leaf, []))) for leaf in self.leaves)

    def n_items(self) -> int:
        """Items that will be evaluated (the subset's size when a limit is set)."""
        if self.samples is None:
            return sum(self.leaves.values())
        return sum(len(v) for v in self.samples.values())


def quiet_lm_eval() -> None:
    """Lower lm-eval's and datasets' log level to errors (their INFO and advisory WARNING lines, e.g. "passed an
    already-initialized model", drown the progress output; the settings they echo are in the manifest)."""
    for name in ("lm-eval", "lm_eval", "datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextlib.contextmanager
def lm_eval_progress(enabled: bool):
    """While inside: lm-eval's (tqdm) progress bars shown only when ``enabled``. tqdm reads ``TQDM_DISABLE`` once,
    at import, so the bars are switched off by giving every bar created inside ``disable=True``; restored after."""
    if enabled:
        yield
        return
    import tqdm.std

    original = tqdm.std.tqdm.__init__

    def quiet_init(self, *args, **kwargs):
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    tqdm.std.tqdm.__init__ = quiet_init
    try:
        yield
    finally:
        tqdm.std.tqdm.__init__ = original


def task_manager(task_dir: Path | None, include_defaults: bool):
    """An lm-eval ``TaskManager`` that knows the run's local task YAMLs (and lm-eval's own tasks if asked)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(task_dir) if task_dir else None, include_defaults=include_defaults)


def needs_default_tasks(tasks: list[str]) -> bool:
    """True when some requested task is not bundled with nerprobe (lm-eval's task index is then needed)."""
    return any(t not in LOCAL_TASKS for t in tasks)


def seeded_subset(n_docs: int, limit: int | float | None, seed: int) -> list[int] | None:
    """Sorted doc indices of a seeded random subset of ``limit`` of ``n_docs`` items (None: take all); a float
    ``limit`` is a fraction of ``n_docs`` (``lm_eval_args.limit_count``).

    Sorted because lm-eval maps the k-th evaluated doc back to ``samples[k]`` while iterating in data order.
    """
    from nerprobe.retention.lm_eval_args import limit_count

    limit = limit_count(limit, n_docs)
    if limit is None or limit >= n_docs:
        return None
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(n_docs, size=limit, replace=False))


def load_tasks(tasks: list[str], manager, settings: EvalSettings) -> list[TaskPlan]:
    """Check every task name, load its data (offline data must be there), and plan the item subsets.

    Raises ``InputError`` (``field="tasks"``) for an unknown task and ``NerprobeError`` for a task whose data cannot
    be loaded; both one line, before any model is loaded.
    """
    known = set(manager.all_tasks)
    for name in tasks:
        if name not in known:
            local = ", ".join(LOCAL_TASKS)
            raise InputError(None, None, f"unknown task {name!r} (bundled: {local}; or any task of "
                             "`lm-eval ls tasks`)", field="tasks")
    plans = []
    for name in tasks:
        try:
            loaded = manager.load([name])
        except Exception as err:  # datasets/hub errors come in many types; the user needs one line, not a trace
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise NerprobeError(f"task {name}: its data cannot be loaded ({type(err).__name__}: {first})") from err
        plan = TaskPlan(name=name)
        for leaf, task in loaded["tasks"].items():
            plan.leaves[leaf] = len(task.eval_docs)
            plan.metrics[leaf] = list(getattr(task, "_metric_fn_list", None) or {})
            plan.filters[leaf] = [f.name for f in getattr(task, "_filters", None) or []]
        if settings.limit is not None:
            plan.samples = {}
            for k, (leaf, n) in enumerate(sorted(plan.leaves.items())):
                subset = seeded_subset(n, settings.limit, settings.subset_seed + k)
                plan.samples[leaf] = subset if subset is not None else list(range(n))
        plans.append(plan)
    return plans


def evaluate_task(lm, plan: TaskPlan, manager, settings: EvalSettings, cache_path: Path | None) -> dict[str, Any]:
    """Run lm-eval's ``simple_evaluate`` for one model (an lm-eval ``LM``) on one planned task.

    Returns lm-eval's result dict (aggregates in ``results``, per-item logs in ``samples``, task ``configs``).
    """
    import lm_eval.evaluator as lm_evaluator
    from lm_eval import simple_evaluate

    original = lm_evaluator.get_git_commit_hash
    lm_evaluator.get_git_commit_hash = _quiet_git_hash  # lm-eval's own printed "fatal: not a git repository"
    try:
        return _simple_evaluate(simple_evaluate, lm, plan, manager, settings, cache_path)
    finally:
        lm_evaluator.get_git_commit_hash = original


def _quiet_git_hash() -> str | None:
    """lm-eval's ``get_git_commit_hash`` (the commit of the current folder, recorded in its results) without git's
    error line on stderr when the folder is not a repository."""
    import subprocess

    try:
        out = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _simple_evaluate(simple_evaluate, lm, plan: TaskPlan, manager, settings: EvalSettings, cache_path: Path | None):
    return simple_evaluate(
        model=lm,
        tasks=[plan.name],
        task_manager=manager,
        num_fewshot=settings.num_fewshot,
        batch_size=settings.batch_size,
        use_cache=str(cache_path) if cache_path else None,
        samples=plan.samples,
        log_samples=True,
        bootstrap_iters=settings.bootstrap_iters,
        system_instruction=settings.system_instruction,
        apply_chat_template=settings.apply_chat_template,
        gen_kwargs=settings.gen_kwargs(),
        random_seed=settings.random_seed,
        numpy_random_seed=settings.numpy_random_seed,
        torch_random_seed=settings.torch_random_seed,
        fewshot_random_seed=settings.fewshot_random_seed,
    )


def hf_lm(model, tokenizer, settings: EvalSettings):
    """Wrap a loaded transformers (or peft) model and its tokenizer as lm-eval's ``HFLM``."""
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=model, tokenizer=tokenizer, batch_size=settings.batch_size)
