"""Scoring throughput (``models.likelihood``, one forward pass per batch) against generation throughput
(``HFPredictor``, the xml prompts of the memorization runs) on the tiny demo model, in one run, as a ratio.

Run: ``python benchmarks/bench_likelihood.py [--n 200] [--batch-size 32] [--repeats 3]``. Both sides read the same
``n`` demo test sentences with no cache (each repeat is a fresh scorer/predictor, so nothing is reused), on CPU in
float32. Scoring reads each sentence's whole text (what Min-K% needs); generation writes each sentence's xml answer
(greedy, the per-request budget of the runs). Prints medians, sentences/s and the ratio, with ``uptime`` before and
after: the machine is shared, and load slows both sides (the ratio less so).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "uptime unavailable"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--base", help="a tiny base folder (default: ensure_tiny_base())")
    ap.add_argument("--adapter", help="its xml adapter (default: ensure_tiny_adapter('xml'))")
    args = ap.parse_args(argv)

    import torch

    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.likelihood import LikelihoodScorer
    from nerprobe.models.loading import load_model
    from nerprobe.models.predictors import Request
    from nerprobe.models.registry import ModelSpec
    from nerprobe.models.tiny import demo_labelset, ensure_tiny_adapter, ensure_tiny_base

    torch.set_num_threads(2)
    before = uptime()
    base = args.base or str(ensure_tiny_base(progress=False))
    adapter = args.adapter or str(ensure_tiny_adapter("xml", progress=False))
    loaded = load_model(ModelSpec(base, adapter), device="cpu", dtype="fp32")
    test = list(make_demo_corpus(seed=0).test)
    sentences = [test[i % len(test)] for i in range(args.n)]
    texts = [f"{s.text} " * (1 + i // len(test)) for i, s in enumerate(sentences)]  # distinct texts when n > 200
    labels = demo_labelset()
    requests = [Request.build(s, "xml", labels) for s in sentences]

    def score():
        scorer = LikelihoodScorer(loaded, cache=None, batch_size=args.batch_size)
        scorer.score_texts(texts)
        return scorer.forward_passes

    def generate():
        pred = HFPredictor(loaded, cache=None, batch_size=args.batch_size)
        pred.predict(requests, progress=False)
        return pred.generated

    score(), generate()  # warm up (weights, kernels)
    times = {"score": [], "generate": []}
    for _ in range(args.repeats):
        for name, fn in (("score", score), ("generate", generate)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"n": args.n, "batch_size": args.batch_size, "repeats": args.repeats,
           "score_s": round(med["score"], 3), "generate_s": round(med["generate"], 3),
           "score_sentences_per_s": round(args.n / med["score"], 1),
           "generate_sentences_per_s": round(args.n / med["generate"], 1),
           "ratio": round(med["generate"] / med["score"], 1),
           "uptime_before": before, "uptime_after": uptime()}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
