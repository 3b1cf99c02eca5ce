"""`probe memorization --model lookup` on full CoNLL-2003 train/test, and the parts users wait on, with their anchors.

Timed in one run (medians): the whole command as a process (goal <= 3 s; ``--skip-process`` leaves it out); the
lookup tagger over CoNLL-2003 test against the window algorithm it replaced (every window of up to max_words tokens
joined, normalized as the coverage index does and looked up, written below), with identical entities checked first;
the probe builders; and the heavy imports on the command's path (``python -X importtime``:
statsmodels, scipy, torch, transformers, with their cumulative import seconds; none is needed by a lookup run).

    python benchmarks/bench_memorization_lookup.py [--data ../shared/data] [--repeats 3] [--skip-process]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("statsmodels", "scipy", "torch", "transformers", "peft", "lm_eval", "matplotlib", "pandas")


def window_tagger(table: dict[str, str], max_words: int, tokens, normalize) -> list[tuple[int, int, str]]:
    """The anchor: the old lookup algorithm, every window of up to ``max_words`` tokens from each token, longest
    first, its words joined and normalized as the coverage index does."""
    found, i = [], 0
    while i < len(tokens):
        hit = None
        for j in range(min(len(tokens), i + max_words), i, -1):
            label = table.get(normalize(" ".join(t.text for t in tokens[i:j])))
            if label is not None:
                hit = (j, (tokens[i].start, tokens[j - 1].end, label))
                break
        if hit:
            i = hit[0]
            found.append(hit[1])
        else:
            i += 1
    return found


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def process_cpu(fn) -> float:
    """CPU seconds (user + system) the child processes started by ``fn()`` took."""
    before = os.times()
    fn()
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def time_process(train: Path, test: Path, repeats: int, dev: Path | None = None) -> tuple[float, float, dict]:
    """Median wall and CPU seconds of the whole command (``--dev`` added when given), and the heavy modules it
    imports with their cumulative seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(100))
        cmd = [sys.executable, "-m", "nerprobe", "memorization", "--model", "lookup", "--train", str(train),
               "--test", str(test), "--no-progress"] + (["--dev", str(dev)] if dev else [])
        walls, cpus = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            cpus.append(process_cpu(lambda: subprocess.run(cmd + ["--out", f"{tmp}/run{next(runs)}"], check=True,
                                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
            walls.append(time.perf_counter() - t)
        whole, cpu = statistics.median(walls), statistics.median(cpus)
        imp = subprocess.run([sys.executable, "-X", "importtime"] + cmd[1:] + ["--out", f"{tmp}/imports"],
                             capture_output=True, text=True, check=True).stderr
    heavy = {}
    for line in imp.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and m.group(3).split(".")[0] in HEAVY and m.group(3) not in heavy:
            heavy[m.group(3)] = int(m.group(1)) / 1e6
    return whole, cpu, heavy


def time_builders(train, test, repeats: int) -> dict[str, float]:
    """Median seconds of each probe builder on the corpora (the training facts built once, as a run does)."""
    from nerprobe.probes.coverage import MentionIndex
    from nerprobe.probes.pair_lookup import build_pair_lookup
    from nerprobe.probes.swapped_labels import build_type_swaps
    from nerprobe.probes.unseen_entities import TrainFacts, build_replacement_sets

    index = MentionIndex(train)
    out = {"index": median_time(lambda: MentionIndex(train), repeats),
           "train facts": median_time(lambda: TrainFacts.of(train, index=index), repeats)}
    facts = TrainFacts.of(train, index=index)
    out["replacement sets"] = median_time(lambda: build_replacement_sets(train, test, 0, facts=facts), repeats)
    out["type swaps"] = median_time(lambda: build_type_swaps(train, test, 0, index=index), repeats)
    out["pair lookup"] = median_time(lambda: build_pair_lookup(train, test, 0, index=index), repeats)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-process", action="store_true",
                    help="do not time the whole command (tagger and builders only)")
    ap.add_argument("--dev", action="store_true", help="also time the command with --dev valid.txt (the controls "
                    "learn from it: slow)")
    args = ap.parse_args()
    from nerprobe.data.conll import read_conll
    from nerprobe.models.lookup import LookupPredictor

    load_before = os.getloadavg()[0]
    print(f"load average {load_before:.2f} (1 min) on {os.cpu_count()} CPUs; medians of {args.repeats}")
    train, test = (args.data / "conll2003" / n for n in ("train.txt", "test.txt"))
    whole, heavy, with_dev = None, {}, None
    if not args.skip_process:
        whole, cpu, heavy = time_process(train, test, args.repeats)
        if args.dev:
            with_dev = time_process(train, test, 1, args.data / "conll2003" / "valid.txt")
    tr, te = read_conll(train).sentences, read_conll(test).sentences
    model = LookupPredictor.fit(tr)
    table, max_words = model.table, model.max_words
    norm = model.normalize
    ours = [[(e.start, e.end, e.label) for e in model.entities(s)] for s in te]
    assert ours == [window_tagger(table, max_words, s.tokens, norm) for s in te]
    new = median_time(lambda: [model.entities(s) for s in te], max(args.repeats, 5))
    old = median_time(lambda: [window_tagger(table, max_words, s.tokens, norm) for s in te], max(args.repeats, 5))
    builders = time_builders(tr, te, args.repeats)
    load_after = os.getloadavg()[0]

    if whole is not None:
        print(f"probe memorization --model lookup, CoNLL-2003 train/test, whole process: {whole:.2f} s wall, "
              f"{cpu:.2f} s CPU (goal <= 3 s)")
    if with_dev is not None:
        print(f"  the same with --dev valid.txt (controls learned), one run: {with_dev[0]:.2f} s wall, "
              f"{with_dev[1]:.2f} s CPU")
    print(f"lookup tagger over CoNLL-2003 test: {new:.4f} s; window algorithm {old:.4f} s; ratio {new / old:.2f}")
    print("probe builders on CoNLL-2003: " + ", ".join(f"{k} {v:.2f} s" for k, v in builders.items()))
    if whole is not None and heavy:
        top = sorted(heavy.items(), key=lambda kv: -kv[1])[:6]
        print("heavy imports on the path: " + ", ".join(f"{k} {v:.2f} s" for k, v in top))
    elif whole is not None:
        print("heavy imports on the path: none of " + ", ".join(HEAVY))
    flag = "" if max(load_before, load_after) < 1.5 else "  (UNDER LOAD: figures slower than on an idle machine)"
    print(f"load average before {load_before:.2f}, after {load_after:.2f}{flag}")


if __name__ == "__main__":
    main()
