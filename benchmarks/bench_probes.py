"""Memorization probes on the real CoNLL-2003 with the lookup memorizer, and the time to build all probe sets.

Prints the time to build every probe set of a default run from CoNLL-2003 train + test through the probe registry
(median over ``--repeats`` runs; goal: under 10 s), what each builder dropped and why, and the lookup memorizer's
indicators with their CIs. Usage: ``python benchmarks/bench_probes.py [--data DIR] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from nerprobe.data.conll import read_conll
from nerprobe.formats.labels import LABEL_SETS
from nerprobe.models.lookup import LookupPredictor
from nerprobe.probes import registry
from nerprobe.probes.coverage import MentionIndex, strata_counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    d = args.data / "conll2003"
    train, test = read_conll(d / "train.txt").sentences, read_conll(d / "test.txt").sentences
    names = registry.expand(list(registry.PROBES))
    labelset = LABEL_SETS["conll2003"]

    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        index = MentionIndex(train)
        sets = registry.build_sets(names, registry.BuildContext(train, test, index, labelset, 0))
        times.append(time.perf_counter() - t)
    print(f"load average {os.getloadavg()[0]:.2f}; build all probe sets (CoNLL-2003 train {len(train)} + test "
          f"{len(test)} sentences): median {statistics.median(times):.2f} s over {args.repeats} runs (goal < 10 s)")
    for name, ps in sets.items():
        dropped = ps.params.get("dropped", {})
        print(f"  {name:30s} {len(ps):6d} items  dropped {dropped}  problems: {len(ps.problems)}")
    print("coverage strata of the test mentions:", strata_counts(sets["coverage"]))

    lookup = LookupPredictor.fit(train)
    t = time.perf_counter()
    preds = {name: [lookup.entities(s) for s in ps.sentences] for name, ps in sets.items()}
    print(f"lookup memorizer tagging of all sets: {time.perf_counter() - t:.2f} s")
    from nerprobe.memorization.scoring import set_labels

    ctx = registry.ScoreContext(set_labels(sets, {"lookup": preds}, labelset), index, 1000, 0)
    t = time.perf_counter()
    estimates = registry.estimates(registry.units(names, sets, preds, ctx), 1000, 0)
    print(f"indicators (1000 resamples) in {time.perf_counter() - t:.2f} s:")
    for k, e in estimates.items():
        shown = "n/a: " + e.reason if e.value is None else f"{100 * e.value:.1f} [{100 * e.low:.1f}, {100 * e.high:.1f}]"
        print(f"  {k:28s} {shown}  (n={e.n} {e.conditioned_on})")


if __name__ == "__main__":
    main()
