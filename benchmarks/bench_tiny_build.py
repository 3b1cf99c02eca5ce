"""Build the embedded tiny model from nothing and print the build times and its F1 on seen/unseen test sentences.

Usage: python benchmarks/bench_tiny_build.py [--repeats N] [--threads T]
Each repeat builds base + xml adapter in a fresh temporary cache ($NERPROBE_CACHE), so nothing is reused;
medians over the repeats are printed. ``--threads 2`` pins torch to two threads (the 2-core target machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def evaluate(base, adapter, sentences):
    from nerprobe.analysis.spans import prf, span_stats
    from nerprobe.formats import get_format
    from nerprobe.models import tiny
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model
    from nerprobe.models.predictors import Request
    from nerprobe.models.registry import ModelSpec

    labelset = tiny.demo_labelset()
    loaded = load_model(ModelSpec(base=str(base), adapter=str(adapter), revision=None, trust_remote_code=False,
                                  alias=None))
    outs = HFPredictor(loaded, batch_size=16).predict([Request.build(s, "xml", labelset) for s in sentences],
                                                      progress=False)
    fmt = get_format("xml")
    preds = [fmt.parse(o, s, list(labelset.names)).entities for o, s in zip(outs, sentences)]
    return prf(span_stats(sentences, preds, list(labelset.names)), list(labelset.names))["micro"]["f1"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.models import tiny

    rows = []
    for _ in range(a.repeats):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["NERPROBE_CACHE"] = cache
            t0 = time.perf_counter()
            base = tiny.ensure_tiny_base(progress=False)
            t1 = time.perf_counter()
            adapter = tiny.ensure_tiny_adapter("xml", progress=False)
            t2 = time.perf_counter()
            corpus = make_demo_corpus(tiny.RECIPE["corpus_seed"])
            t3 = time.perf_counter()
            f_seen = evaluate(base, adapter, corpus.test_seen())
            f_unseen = evaluate(base, adapter, corpus.test_unseen())
            t4 = time.perf_counter()
            rows.append((t1 - t0, t2 - t1, t2 - t0, t4 - t3, f_seen, f_unseen))
    med = [statistics.median(col) for col in zip(*rows)]
    print(f"torch threads: {torch.get_num_threads()}, repeats: {a.repeats} (medians)")
    print(f"base build (tokenizer + pretraining): {med[0]:.1f} s")
    print(f"xml adapter (LoRA):                   {med[1]:.1f} s")
    print(f"base + adapter:                       {med[2]:.1f} s")
    print(f"evaluation (200 test sentences):      {med[3]:.1f} s")
    print(f"micro-F1 seen-entity test sentences:   {med[4]:.3f}")
    print(f"micro-F1 unseen-entity test sentences: {med[5]:.3f}")


if __name__ == "__main__":
    main()
