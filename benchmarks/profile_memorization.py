"""Where `probe memorization --model lookup` spends its time, phase by phase (issue 15 §3).

Runs the command in process on full CoNLL-2003 train/test (``--dev`` adds valid.txt as the controls' held-out
corpus), with a wall and CPU clock wrapped around the functions named in ``PHASES`` (nested phases are counted in
their parents too), and prints one row per phase: calls, wall seconds, CPU seconds, share of the run's wall time.
``--cprofile N`` also prints the N functions of largest own time from cProfile (slower: profile overhead).
The whole process (``python -m nerprobe memorization ...``) is timed first, for the anchor of the breakdown.

    python benchmarks/profile_memorization.py [--data ../shared/data] [--dev] [--cprofile 25]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: (label, module, attribute path): the phases timed. Modules are imported before the run, so imports inside the
#: command still count where they happen (the regression's statsmodels import lands in "regression").
PHASES = (
    ("build probe sets (all)", "nerprobe.probes.registry", "build_sets"),
    ("  unseen-entities replacements", "nerprobe.probes.registry", "_build_replacements"),
    ("  pair lookup", "nerprobe.probes.registry", "_build_pair_lookup"),
    ("  type swaps", "nerprobe.probes.registry", "_build_type_swaps"),
    ("  coverage", "nerprobe.probes.registry", "_build_coverage"),
    ("read corpora (load_corpora)", "nerprobe.memorization.config", "load_corpora"),
    ("fit predictors and controls", "nerprobe.memorization.predictors", "make_predictors"),
    ("  form-only control fit", "nerprobe.models.form_only", "FormOnlyPredictor.fit"),
    ("  context-window control fit", "nerprobe.models.context_window", "ContextWindowPredictor.fit"),
    ("    logistic regressions (SpanClassifier.fit)", "nerprobe.models.span_control", "SpanClassifier.fit"),
    ("generate + parse (all predictors, sets)", "nerprobe.memorization.run", "generate_and_parse"),
    ("score run (all statistics)", "nerprobe.memorization.scoring", "score_run"),
    ("  descriptive scores (registry.describe)", "nerprobe.probes.registry", "describe"),
    ("    f1 CI per set (f1_estimate)", "nerprobe.probes.registry", "f1_estimate"),
    ("    rate CIs per stratum/bin (_rate)", "nerprobe.probes.registry", "_rate"),
    ("  indicator estimates (registry.estimates)", "nerprobe.probes.registry", "estimates"),
    ("  paired comparisons (indicators.compare)", "nerprobe.memorization.scoring", "compare"),
    ("  regression (entity_logit, import incl.)", "nerprobe.memorization.scoring", "regressions"),
    ("    entity_logit", "nerprobe.analysis.regression", "entity_logit"),
    ("bootstrap CIs (bootstrap_ci, all callers)", "nerprobe.analysis.significance", "bootstrap_ci"),
    ("paired bootstraps (paired_bootstrap)", "nerprobe.analysis.significance", "paired_bootstrap"),
    ("  draw resample indices (keys not kept yet)", "nerprobe.analysis.significance", "resample_indices"),
    ("write probe sets (ProbeSet.save)", "nerprobe.probes.base", "ProbeSet.save"),
)


class Clock:
    """Accumulated calls, wall and CPU seconds of one phase (outermost calls only, so recursion counts once)."""

    def __init__(self):
        self.calls, self.wall, self.cpu, self.depth = 0, 0.0, 0.0, 0

    def wrap(self, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self.calls += 1
            self.depth += 1
            w, c = time.perf_counter(), time.process_time()
            try:
                result = fn(*args, **kwargs)
                if hasattr(result, "__next__"):  # a generator: time its iteration too
                    result = list(result)
                    return iter(result)
                return result
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.wall += time.perf_counter() - w
                    self.cpu += time.process_time() - c
        return timed


def install(phases) -> list[tuple[str, Clock]]:
    """Wrap every phase's function where it is defined and where the modules imported it by name."""
    clocks = []
    for label, module, attr in phases:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        owner, name = mod, attr
        if "." in attr:
            cls, name = attr.split(".")
            owner = getattr(mod, cls, None)
        if owner is None or not hasattr(owner, name):
            continue
        original = getattr(owner, name)
        clock = Clock()
        timed = clock.wrap(original)
        if isinstance(getattr(owner, "__dict__", {}).get(name), classmethod):
            setattr(owner, name, classmethod(clock.wrap(original.__func__)))
        else:
            setattr(owner, name, timed)
        for other in list(sys.modules.values()):  # from-imports of the same function
            if other is not None and other is not mod and getattr(other, name, None) is original:
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(other, name, timed)
        _repoint_probes(original, timed)
        clocks.append((label, clock))
    return clocks


def _repoint_probes(original, timed) -> None:
    """The registry's probes hold their builder functions: point those at the timed wrapper too."""
    from nerprobe.probes import registry

    for probe in registry.PROBES.values():
        for field in ("build_fn", "units_fn", "extra_fn"):
            if getattr(probe, field, None) is original:
                setattr(probe, field, timed)


def command(data: Path, out: Path, dev: bool) -> list[str]:
    d = data / "conll2003"
    args = ["memorization", "--model", "lookup", "--train", str(d / "train.txt"), "--test", str(d / "test.txt"),
            "--no-progress", "--out", str(out)]
    return args + (["--dev", str(d / "valid.txt")] if dev else [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--dev", action="store_true", help="add --dev valid.txt (the controls learn from it)")
    ap.add_argument("--cprofile", type=int, default=0, help="print this many functions of largest own time")
    ap.add_argument("--skip-process", action="store_true")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_process:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nerprobe", *command(args.data, tmp / "p", args.dev)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print(f"whole process: {time.perf_counter() - t:.2f} s wall")
        import nerprobe.memorization.predictors  # noqa: F401  (the phases' modules, before wrapping)
        import nerprobe.memorization.scoring  # noqa: F401
        from nerprobe.cli import app

        clocks = install(PHASES)
        profiler = None
        if args.cprofile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        w, c = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            app(command(args.data, tmp / "r", args.dev))
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        if profiler is not None:
            profiler.disable()
    load1 = os.getloadavg()[0]
    print(f"in process: {wall:.2f} s wall, {cpu:.2f} s CPU; load {load0:.2f} -> {load1:.2f} on {os.cpu_count()} CPUs"
          + ("  (UNDER LOAD)" if max(load0, load1) >= 1.5 else ""))
    width = max(len(label) for label, _ in clocks) + 2
    print(f"{'phase':<{width}}{'calls':>7}{'wall s':>9}{'cpu s':>9}{'share':>8}")
    for label, clock in clocks:
        if clock.calls:
            print(f"{label:<{width}}{clock.calls:>7}{clock.wall:>9.2f}{clock.cpu:>9.2f}{clock.wall / wall:>8.0%}")
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    main()
