"""Parse and score the 3453 CoNLL-2003 test sentences in each output format.

For each format the gold test set is rendered (the outputs a perfect model would write), then timed: parse every
output back against its sentence and score the parses (span statistics + micro/macro/per-type P/R/F1). Prints
seconds and sentences/s (median of --repeats runs) and prints the F1 of the round trip (100 in every format: the
category-grouped json, which cannot say which occurrence of a text is meant, is scored as (text, label) multisets).

    python benchmarks/bench_parse_score.py [--data ../shared/data] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from nerprobe.analysis.spans import prf, span_stats
from nerprobe.data.conll import read_conll
from nerprobe.formats import FORMAT_NAMES, get_format
from nerprobe.formats.labels import LABEL_SETS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    corpus = read_conll(args.data / "conll2003" / "test.txt")
    sentences = corpus.sentences
    labels = list(LABEL_SETS["conll2003"].names)
    print(f"{len(sentences)} sentences, {corpus.n_entities()} entities; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'format':<18}{'seconds':>10}{'sentences/s':>14}{'micro F1':>10}")
    for name in FORMAT_NAMES:
        fmt = get_format(name)
        outputs = [fmt.render(s, labels) for s in sentences]
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            parses = [fmt.parse(o, s, labels) for o, s in zip(outputs, sentences)]
            match = "text" if fmt.position_free else "exact"  # grouped json: (text, label) multisets
            scores = prf(span_stats(sentences, [p.entities for p in parses], labels, match), labels)
            times.append(time.perf_counter() - t)
        sec = statistics.median(times)
        f1 = 100 * scores["micro"]["f1"]
        print(f"{name:<18}{sec:>10.3f}{len(sentences) / sec:>14.0f}{f1:>10.2f}")
    print(f"(median of {args.repeats} repeats: parse + score; rendering not timed)")


if __name__ == "__main__":
    main()
