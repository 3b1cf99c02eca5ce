"""Memorization probes on the real CoNLL-2003 with the lookup baseline, and the time to build all probe sets.

Prints the coverage strata, the unseen-entities set, the type swaps and pair-lookup numbers of the lookup baseline
(the pure memorizer), and the median time (over ``--repeats`` runs) to build every probe set from CoNLL-2003
train + test (goal: under 10 s). Usage: ``python benchmarks/bench_probes.py [--data DIR] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from nerprobe.analysis.memorization import score_probe
from nerprobe.data.conll import read_conll
from nerprobe.formats.labels import LABEL_SETS
from nerprobe.models.lookup import LookupPredictor
from nerprobe.probes.coverage import MentionIndex, build_coverage, strata_counts
from nerprobe.probes.pair_lookup import build_pair_lookup
from nerprobe.probes.swapped_labels import build_relabeled, build_type_swaps
from nerprobe.probes.unseen_entities import build_unseen_entities


def build_all(train, test, seed=0):
    """Every probe set of a default run (one mention index shared, as the run does)."""
    index = MentionIndex(train)
    sets = {
        "coverage": build_coverage(train, test, seed, index=index),
        "unseen-entities": build_unseen_entities(train, test, seed, index=index),
        "type-swaps": build_type_swaps(train, test, seed, index=index),
        "pair-lookup": build_pair_lookup(train, test, seed, n_train=500, n_heldout=500, index=index),
    }
    for mode in ("symbols-defs", "symbols", "permuted"):
        sets[f"swapped-labels-{mode}"] = build_relabeled(test, LABEL_SETS["conll2003"], mode, seed)
    return index, sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    d = args.data / "conll2003"
    train, test = read_conll(d / "train.txt").sentences, read_conll(d / "test.txt").sentences

    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        index, sets = build_all(train, test)
        times.append(time.perf_counter() - t)
    print(f"build all probe sets (CoNLL-2003 train {len(train)} + test {len(test)} sentences): "
          f"median {statistics.median(times):.2f} s over {args.repeats} runs (goal < 10 s)")
    for name, ps in sets.items():
        print(f"  {name:30s} {len(ps):6d} items  problems: {len(ps.problems)}")

    lookup = LookupPredictor.fit(train)
    t = time.perf_counter()
    preds = {name: [lookup.entities(s) for s in ps.sentences] for name, ps in sets.items()}
    print(f"lookup baseline tagging of all sets: {time.perf_counter() - t:.2f} s")
    labels = list(LABEL_SETS["conll2003"].names)

    cov = score_probe(sets["coverage"], preds["coverage"], labels, index, n_resamples=1000)
    print("\ncoverage strata of the 5648 test mentions:", strata_counts(sets["coverage"]))
    print(f"lookup F1 on the original test: {100 * cov['f1']:.1f} "
          f"[{100 * cov['f1_ci']['low']:.1f}, {100 * cov['f1_ci']['high']:.1f}]")
    for k, st in cov["strata"].items():
        print(f"  {k:10s} gold {st['gold']:5d}  recall {100 * st['recall']['estimate']:5.1f}  "
              f"predicted {st['predicted']:5d}  precision {100 * st['precision']:5.1f}")
    print("  recall by label consistency:",
          {k: round(100 * v["estimate"], 1) for k, v in cov["recall_by_consistency"].items()})

    uns = sets["unseen-entities"]
    sc = score_probe(uns, preds["unseen-entities"], labels, index, n_resamples=1000)
    replaced = sum(it.meta["replaced"] for it in uns)
    hows = {}
    for it in uns:
        for ch in it.changes:
            hows[ch.how] = hows.get(ch.how, 0) + 1
    print(f"\nunseen-entities: {replaced} spans replaced ({hows}); pool sizes {uns.params['pool_sizes']}")
    print(f"  lookup F1 {100 * sc['f1']:.1f}, recall {100 * sc['recall']:.1f}")
    for it in uns.items[:3]:
        print(f"  e.g. {it.sentence.text[:100]}")

    ts = score_probe(sets["type-swaps"], preds["type-swaps"], labels, index, n_resamples=1000)
    print(f"\ntype swaps: {ts['n']} items; lookup outcomes {ts['counts']}")

    pl = score_probe(sets["pair-lookup"], preds["pair-lookup"], labels, index, n_resamples=1000)
    print("\npair lookup (lookup baseline): " + ", ".join(
        f"{k} {100 * pl[k]['estimate']:.1f}" for k in ("train_alone", "train_in_context", "heldout_alone",
                                                        "heldout_in_context")))


if __name__ == "__main__":
    main()
