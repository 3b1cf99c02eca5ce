"""Paired bootstrap, 10,000 resamples over the 3453 CoNLL-2003 test sentences: vectorized vs a plain Python loop.

Two systems are built from the gold test set with seeded perturbations (drop / relabel entities). Prints the median
of 5 runs of ``nerprobe.analysis.significance.paired_bootstrap`` and the per-resample loop's time, measured on 200
resamples and scaled linearly to 10,000 (said in the output). Checks first that the vectorized summed statistics
equal the loop's on the same indices.

    python benchmarks/bench_bootstrap.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import numpy as np

from nerprobe.analysis.significance import paired_bootstrap, resample_indices, resampled_totals
from nerprobe.analysis.spans import micro_f1, span_stats
from nerprobe.data.conll import read_conll
from nerprobe.data.model import Entity

N_RESAMPLES = 10_000
LOOP_RESAMPLES = 200


def perturbed(corpus, seed, p_drop, p_relabel):
    rng = random.Random(seed)
    labels = corpus.labels
    out = []
    for s in corpus:
        ents = []
        for e in s.entities:
            u = rng.random()
            if u < p_drop:
                continue
            ents.append(Entity(e.start, e.end, rng.choice(labels)) if u < p_drop + p_relabel else e)
        out.append(ents)
    return out


def loop_bootstrap(stats_a, stats_b, indices):
    """The plain version: for each resample, sum each system's rows and compute both F1s and their difference."""
    fa, fb = [], []
    for idx in indices:
        ta = np.zeros(stats_a.shape[1:], dtype=np.int64)
        tb = np.zeros(stats_b.shape[1:], dtype=np.int64)
        for i in idx:
            ta += stats_a[i]
            tb += stats_b[i]
        fa.append(float(micro_f1(ta)))
        fb.append(float(micro_f1(tb)))
    return np.array(fa), np.array(fb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    corpus = read_conll(args.data / "conll2003" / "test.txt")
    labels = corpus.labels
    a = span_stats(corpus.sentences, perturbed(corpus, 0, 0.10, 0.05), labels)
    b = span_stats(corpus.sentences, perturbed(corpus, 1, 0.08, 0.05), labels)
    n = len(a)

    # same numbers for the same indices
    idx = np.concatenate(list(resample_indices(n, LOOP_RESAMPLES, seed=0)))
    tot_a, tot_b = resampled_totals([a, b], LOOP_RESAMPLES, seed=0)
    la, lb = loop_bootstrap(a, b, idx)
    assert np.array_equal(micro_f1(tot_a), la) and np.array_equal(micro_f1(tot_b), lb), "vectorized != loop"
    print(f"check: vectorized and loop F1s identical on the same {LOOP_RESAMPLES} resamples of {n} sentences")

    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        res = paired_bootstrap(a, b, n_resamples=N_RESAMPLES, seed=0)
        times.append(time.perf_counter() - t)
    vec = statistics.median(times)

    loop_times = []
    for _ in range(3):
        t = time.perf_counter()
        loop_bootstrap(a, b, idx)
        loop_times.append(time.perf_counter() - t)
    loop = statistics.median(loop_times) * N_RESAMPLES / LOOP_RESAMPLES

    print(f"sentences: {n}, labels: {len(labels)}, resamples: {N_RESAMPLES}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"vectorized paired bootstrap: {vec:.3f} s (median of {args.repeats}; goal < 0.5 s)")
    print(f"python loop: {loop:.1f} s for {N_RESAMPLES} (median of 3 runs of {LOOP_RESAMPLES} resamples, scaled x"
          f"{N_RESAMPLES // LOOP_RESAMPLES})")
    print(f"speed-up: {loop / vec:.0f}x (goal >= 100x)")
    print(f"result: F1 a={100 * res.score_a:.2f} b={100 * res.score_b:.2f} diff={100 * res.difference:+.2f} "
          f"CI [{100 * res.ci_difference[0]:+.2f}, {100 * res.ci_difference[1]:+.2f}] p={res.p_value:.4f}")
    print(f"signature: {res.signature}")


if __name__ == "__main__":
    main()
