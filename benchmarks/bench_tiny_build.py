"""Build the embedded tiny model from nothing and print the build times and F1 on seen/unseen test sentences.

Usage: python benchmarks/bench_tiny_build.py [--repeats N] [--threads T] [--kinds memorizer,reader,symbols]
Each repeat builds the base and the xml adapter of each kind (``nerprobe.models.tiny.ADAPTER_KINDS``) in a fresh
temporary cache ($NERPROBE_CACHE), so nothing is reused; medians over the repeats are printed, with the F1 of the
memorizer and the reader (the symbols adapter writes A/B/C: timed only). ``--threads 2`` pins torch to two threads
(the 2-core target machine). Print ``uptime`` beside the numbers: on a shared machine the load decides the times.
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
    ap.add_argument("--kinds", default="memorizer", help="comma-separated adapter kinds to build (memorizer first)")
    a = ap.parse_args()
    kinds = [k.strip() for k in a.kinds.split(",") if k.strip()]
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.models import tiny

    rows = []
    for _ in range(a.repeats):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["NERPROBE_CACHE"] = cache
            row = {}
            t0 = time.perf_counter()
            base = tiny.ensure_tiny_base(progress=False)
            row["base build (tokenizer + pretraining), s"] = time.perf_counter() - t0
            corpus = make_demo_corpus(tiny.RECIPE["corpus_seed"])
            for kind in kinds:
                t = time.perf_counter()
                adapter = tiny.ensure_tiny_adapter("xml", kind=kind, progress=False)
                row[f"xml {kind} adapter (LoRA), s"] = time.perf_counter() - t
                if kind != "symbols":
                    row[f"{kind} micro-F1 seen-entity test sentences"] = evaluate(base, adapter, corpus.test_seen())
                    row[f"{kind} micro-F1 unseen-entity test sentences"] = evaluate(base, adapter,
                                                                                   corpus.test_unseen())
            row["total, s"] = time.perf_counter() - t0
            rows.append(row)
    print(f"torch threads: {torch.get_num_threads()}, repeats: {a.repeats} (medians)")
    for key in rows[0]:
        print(f"{key + ':':52s} {statistics.median(r[key] for r in rows):.3f}")


if __name__ == "__main__":
    main()
