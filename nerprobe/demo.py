"""``probe demo``: the whole pipeline offline on the embedded default, ending in a report.

Steps: the demo corpus; the tiny base model and one LoRA adapter per demo format (built and cached by
``nerprobe.models.tiny`` the first time); the reader and symbols adapters of the first format (``demo_adapters``:
with the memorizer, the three adapters of one base that the memorization probes are to tell apart, issue 14 and
issue 10 §5; their folders are in ``DemoResult.adapters``); ``probe memorization`` of each adapter against its base
and the controls, in the first format with the memorizer (``model``) and the reader as two subjects side by side;
``probe retention`` of the adapters on the local demo suite; ``probe report`` over the runs.

Output directory::

    runs/memorization-<format>/   memorization run directories
    runs/retention/               the retention run directory
    report/index.html             the report (with figures/ and tables/)

A second run reuses the model cache, the generation cache and the finished retention results.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nerprobe.errors import InputError

DEFAULT_SIZE = 60
"""Test sentences (and pairs) per memorization run and items per retention task of the full demo."""
QUICK_SIZE = 12
"""The same for ``--quick`` (tests, a first look)."""
DEMO_FORMATS = ("xml", "bracketed")

def _note() -> str:
    """The report's opening caveat, with the demo model's real size."""
    from nerprobe.models.tiny import RECIPE

    m = RECIPE["model"]
    return (f"The numbers are real measurements of nerprobe's tiny demo model (a {m['num_hidden_layers']}-layer Qwen2, "
            f"hidden size {m['hidden_size']}, built on this machine and LoRA-tuned on the synthetic demo corpus), not of "
            "any published model; they show what the probes measure.")


@dataclass
class DemoConfig:
    """Options of ``probe demo``: output folder, size (test sentences / items per task), formats, resamples."""

    out: Path = Path("nerprobe-demo")
    size: int = DEFAULT_SIZE
    formats: tuple[str, ...] = DEMO_FORMATS
    n_resamples: int | None = None  # None: each run chooses from its declared family of tests
    progress: bool = True


@dataclass
class DemoResult:
    """Where the demo wrote its runs and report, how long each step took (seconds), and the three adapters of
    ``demo_adapters`` (``{"memorizer", "reader", "symbols"}`` → folder, in the first format of the demo)."""

    out: Path
    runs: list[Path]
    report: Path
    timings: dict[str, float]
    adapters: dict[str, Path] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """What ``probe demo --json`` prints: the folders and the report written, the adapters, the timings."""
        return {"out": str(self.out), "runs": [str(r) for r in self.runs], "report": str(self.report),
                "adapters": {k: str(v) for k, v in self.adapters.items()}, "timings": dict(self.timings)}


def _memorization(cfg: DemoConfig, fmt: str, adapter: Path, log, reader: Path | None = None) -> Path:
    """One ``probe memorization`` run of ``adapter`` in ``fmt``; with ``reader``, the memorizer (as ``model``) and
    the reader adapter are two subjects of the run, side by side, with their declared between-subjects tests."""
    from nerprobe.memorization.config import MemorizationConfig
    from nerprobe.memorization.run import run_memorization

    out = cfg.out / "runs" / f"memorization-{fmt}"
    named = (("model", str(adapter)), ("reader", str(reader))) if reader is not None else ()
    given = " ".join(f"--adapter {n}={a}" for n, a in named) if named else f"--adapter {adapter}"
    mcfg = MemorizationConfig(model="tiny", adapter=None if named else str(adapter), adapters=named,
                              baseline="base", format_name=fmt, limit=cfg.size,
                              n_resamples=cfg.n_resamples, out=out, progress=cfg.progress,
                              command=f"probe memorization --model tiny {given} --format {fmt} "
                                      f"--limit {cfg.size}"
                                      + (f" --n-resamples {cfg.n_resamples}" if cfg.n_resamples else "")
                                      + f" --out {out}")
    run_memorization(mcfg, log=log)
    return out


def _retention(cfg: DemoConfig, adapters: list[Path], log) -> Path:
    from nerprobe.retention.harness import EvalSettings
    from nerprobe.retention.run import plan_retention, run_retention

    out = cfg.out / "runs" / "retention"
    settings = EvalSettings(limit=cfg.size)
    paths = [str(a) for a in adapters]
    try:
        plan = plan_retention("tiny", paths, [], settings, out)
    except InputError as err:
        if err.field != "out":
            raise
        log(f"  {out} holds a retention run of other settings (an earlier demo size): starting it afresh")
        shutil.rmtree(out)  # the demo's own run directory, never a user's
        plan = plan_retention("tiny", paths, [], settings, out)
    run_retention(plan, progress=cfg.progress, n_resamples=cfg.n_resamples)
    return out


# ---- the three demo adapters of one base (issue 14, issue 10 §5) --------------------------------------------------

#: The kinds ``demo_adapters`` builds: the memorizer (the train split as it is), the reader (fresh names in every
#: epoch) and the symbols adapter (labels A=ORG, B=PER, C=LOC); see ``nerprobe.models.tiny.ADAPTER_KINDS``.
ADAPTER_KINDS = ("memorizer", "reader", "symbols")


def demo_adapters(progress: bool = True, format_name: str = "xml") -> dict[str, Path]:
    """``{"memorizer": dir, "reader": dir, "symbols": dir}``: the three LoRA adapters of the tiny base in
    ``format_name``, each trained once and then cached (a second call takes seconds)."""
    from nerprobe.models.tiny import ensure_tiny_adapter

    return {kind: ensure_tiny_adapter(format_name, kind=kind, progress=progress) for kind in ADAPTER_KINDS}


def run_demo(cfg: DemoConfig, log: Callable[[str], None] = print) -> DemoResult:
    """Run every step (see the module docstring) and write ``cfg.out``; returns the paths and timings."""
    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.formats import get_format
    from nerprobe.models.tiny import ensure_tiny_adapter, ensure_tiny_base
    from nerprobe.reports.build import build_report

    if cfg.size < 2:
        raise InputError(None, None, "the demo size must be at least 2", field="size")
    if not cfg.formats:
        raise InputError(None, None, "give at least one format", field="formats")
    for fmt in cfg.formats:
        get_format(fmt)  # an unknown format fails here, before any work
    cfg.out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    n = 5 + len(cfg.formats) * 2

    def step(i: int, what: str) -> float:
        log(f"[{i}/{n}] {what}")
        return time.perf_counter()

    t = step(1, "demo corpus")
    corpus = make_demo_corpus(seed=0)
    log(f"  {len(corpus.train)} train / {len(corpus.dev)} dev / {len(corpus.test)} test sentences (PER, ORG, LOC)")
    timings["corpus"] = time.perf_counter() - t

    t = step(2, "tiny base model (built once, then cached)")
    base = ensure_tiny_base(progress=cfg.progress)
    log(f"  {base}")
    timings["base"] = time.perf_counter() - t

    adapters: dict[str, Path] = {}
    i = 3
    for fmt in cfg.formats:
        t = step(i, f"LoRA adapter for the {fmt} format (tuned once, then cached)")
        adapters[fmt] = ensure_tiny_adapter(fmt, progress=cfg.progress)
        log(f"  {adapters[fmt]}")
        timings[f"adapter-{fmt}"] = time.perf_counter() - t
        i += 1

    t = step(i, f"reader and symbols adapters for the {cfg.formats[0]} format (tuned once, then cached)")
    kinds = demo_adapters(cfg.progress, cfg.formats[0])
    for kind in ("reader", "symbols"):
        log(f"  {kind}: {kinds[kind]}")
    timings["adapters-reader-symbols"] = time.perf_counter() - t
    i += 1

    runs = []
    for fmt, adapter in adapters.items():
        first = fmt == cfg.formats[0]  # the memorizer (``model``) and the reader side by side
        t = step(i, f"probe memorization, {fmt}: tuned {'memorizer and reader ' if first else ''}vs base vs lookup "
                    f"baseline, {cfg.size} test sentences")
        runs.append(_memorization(cfg, fmt, adapter, lambda m: log(f"  {m}"), kinds["reader"] if first else None))
        timings[f"memorization-{fmt}"] = time.perf_counter() - t
        i += 1

    t = step(i, f"probe retention on the local demo suite, {cfg.size} items per task")
    runs.append(_retention(cfg, list(adapters.values()), lambda m: log(f"  {m}")))
    timings["retention"] = time.perf_counter() - t
    i += 1

    t = step(i, "probe report")
    rep = build_report([cfg.out / "runs"], cfg.out / "report", title="nerprobe demo report", note=_note())
    timings["report"] = time.perf_counter() - t
    for line in rep.findings:
        log(f"  • {line}")
    return DemoResult(cfg.out, runs, rep.html, timings, kinds)
