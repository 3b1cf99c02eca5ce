"""Before/after, as whole processes, run alternately: `probe score --json` (with the LLMs4NER script as its anchor)
and `probe memorization --model lookup` on full CoNLL-2003 train/test, for two copies of the code.

The "before" copy is a tree exported from git (``git archive <commit> | tar -x -C DIR``); each command runs with
``PYTHONPATH`` set to one tree, the two trees taking turns (the order flips every round), so that a change of the
machine's load falls on both. Reports medians of wall and CPU seconds (the child processes' user + system), each
``probe score`` figure also as a ratio to the LLMs4NER script's process timed in the same round, and the 1-minute
load average before and after.

    git archive 508ff4d | tar -x -C /tmp/before
    python benchmarks/ab_process.py --before /tmp/before --llms4ner-script /tmp/eval_bracketed_ner.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_score_llms4ner import make_predictions  # noqa: E402


def _children_cpu() -> float:
    """User + system seconds of the finished children, to the microsecond (``os.times`` counts 10 ms ticks: too
    coarse for a 0.1 s process)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of one run of ``cmd`` in ``cwd``: a folder without a
    ``nerprobe`` package, as ``python -m`` puts the working directory before ``PYTHONPATH`` on ``sys.path``."""
    before = _children_cpu()
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    wall = time.perf_counter() - t
    return wall, _children_cpu() - before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="a tree of the code before (git archive)")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--llms4ner-script", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=5, help="rounds of probe score (memorization: --mem-rounds)")
    ap.add_argument("--mem-rounds", type=int, default=3)
    args = ap.parse_args()

    gold, train = args.data / "conll2003" / "test.txt", args.data / "conll2003" / "train.txt"
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    envs = {name: {**os.environ, "PYTHONPATH": str(tree)} for name, tree in trees.items()}
    loads = [os.getloadavg()[0]]
    print(f"load average {loads[0]:.2f} (1 min) on {os.cpu_count()} CPUs; before = {trees['before']}, "
          f"after = {trees['after']}")
    score: dict[str, list[tuple[float, float]]] = {"before": [], "after": [], "script": []}
    mem: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pred = tmp / "generated_predictions.jsonl"
        make_predictions(args.data / "llms4ner" / "data" / "conll03_bracketed_test_alpaca.json", pred)
        score_cmd = [sys.executable, "-m", "nerprobe", "score", "--gold", str(gold), "--pred", str(pred), "--json"]
        script_cmd = ([sys.executable, str(args.llms4ner_script), "--file", str(pred), "--preset", "conll2003",
                       "--output_dir", str(tmp / "l4")] if args.llms4ner_script else None)
        for name in ("before", "after"):  # one untimed run each: file caches warm for both; the right tree used
            timed(score_cmd, envs[name], tmp)
            where = subprocess.run([sys.executable, "-c", "import nerprobe; print(nerprobe.__file__)"], env=envs[name],
                                   cwd=tmp, capture_output=True, text=True, check=True).stdout.strip()
            assert Path(where).resolve().is_relative_to(trees[name]), (name, where)
        for r in range(args.rounds):
            for name in (("before", "after") if r % 2 == 0 else ("after", "before")):
                score[name].append(timed(score_cmd, envs[name], tmp))
                if script_cmd:
                    score["script"].append(timed(script_cmd, os.environ.copy(), tmp))
        loads.append(os.getloadavg()[0])
        k = 0
        for r in range(args.mem_rounds):
            for name in (("before", "after") if r % 2 == 0 else ("after", "before")):
                cmd = [sys.executable, "-m", "nerprobe", "memorization", "--model", "lookup", "--train", str(train),
                       "--test", str(gold), "--no-progress", "--out", str(tmp / f"run{k}")]
                k += 1
                mem[name].append(timed(cmd, envs[name], tmp))
        loads.append(os.getloadavg()[0])

    def med(runs):
        return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)

    print(f"\nprobe score --json, LLaMA-Factory file of CoNLL-2003 test, medians of {args.rounds} "
          f"(load {loads[0]:.2f} -> {loads[1]:.2f})")
    sw, sc = med(score["script"]) if score["script"] else (None, None)
    for name in ("before", "after"):
        w, c = med(score[name])
        ratio = f"; / script process {w / sw:.2f}x wall, {c / sc:.2f}x CPU" if sw else ""
        print(f"  {name:<7} {w:.3f} s wall, {c:.3f} s CPU{ratio}")
    if sw:
        print(f"  script  {sw:.3f} s wall, {sc:.3f} s CPU (LLMs4NER eval_bracketed_ner.py)")
    print(f"probe memorization --model lookup, CoNLL-2003 train/test, medians of {args.mem_rounds} "
          f"(load {loads[1]:.2f} -> {loads[2]:.2f})")
    for name in ("before", "after"):
        w, c = med(mem[name])
        print(f"  {name:<7} {w:.2f} s wall, {c:.2f} s CPU")
    bw, bc = med(mem["before"])
    aw, ac = med(mem["after"])
    print(f"  after / before: {aw / bw:.2f}x wall, {ac / bc:.2f}x CPU")
    flag = "" if max(loads) <= 1.2 else "  (UNDER LOAD: 1-min load above 1.2)"
    print(f"load average {', '.join(f'{x:.2f}' for x in loads)}{flag}")


if __name__ == "__main__":
    main()
