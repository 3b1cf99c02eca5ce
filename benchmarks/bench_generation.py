"""Generation benchmarks: batched vs one-at-a-time, cached rerun vs first run, peak memory, 7B estimate.

Run: ``python benchmarks/bench_generation.py [--n 48] [--cache-n 500] [--repeats 3]``. Prints medians.
Uses the demo model (``nerprobe.models.tiny.ensure_tiny_adapter``) when it can be built, else a tiny random model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

def model_spec(tmp: Path, use_random: bool):
    from nerprobe.models.registry import ModelSpec

    if not use_random:
        try:
            from nerprobe.models.tiny import ensure_tiny_adapter, ensure_tiny_base

            return ModelSpec(base=str(ensure_tiny_base()), adapter=str(ensure_tiny_adapter())), "demo model (tiny + LoRA)"
        except Exception as err:  # noqa: BLE001 - report and fall back
            print(f"demo model unavailable ({type(err).__name__}: {err}); using the tiny random model")
    from model_fixtures import make_random_tiny_model

    return ModelSpec(base=str(make_random_tiny_model(tmp / "random"))), "tiny random Qwen2 (tests/model_fixtures.py)"


def requests(n: int, seed: int = 0):
    """``n`` requests over the demo corpus's 260 dev + test sentences (cycled: a repeated prompt is generated once),
    with the demo label set: the workload the demo model is built for (a ~30-token prompt, an answer ending in eos)."""
    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.data.model import Sentence
    from nerprobe.models.predictors import Request
    from nerprobe.models.tiny import demo_labelset

    corpus = make_demo_corpus(seed)
    pool = list(corpus.dev) + list(corpus.test)
    labels = demo_labelset()
    out = []
    for i in range(n):
        s = pool[i % len(pool)]
        out.append(Request.build(Sentence(f"b{i}", s.text, s.tokens), "xml", labels))
    return out


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def peak_rss_of_generation(spec, n: int, batch_size: int) -> float:
    """Peak resident memory (MiB) of a fresh process that loads the model and generates ``n`` items."""
    code = f"""
import resource, sys, json
sys.path.insert(0, {str(REPO / 'benchmarks')!r}); sys.path.insert(0, {str(REPO / 'tests')!r})
from bench_generation import requests
from nerprobe.models.loading import load_model
from nerprobe.models.hf_generate import HFPredictor
from nerprobe.models.registry import ModelSpec
import torch
spec = ModelSpec(**json.loads({json.dumps(spec.__dict__)!r}))
def peak_kib():
    # VmHWM belongs to this address space (reset by exec); ru_maxrss can carry the forking parent's peak
    try:
        return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
before = peak_kib()
p = HFPredictor(load_model(spec), batch_size={batch_size}, max_new_tokens=64)
p.predict(requests({n}), progress=False)
print(json.dumps({{"before": before, "after": peak_kib()}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    rss = json.loads(out.stdout.strip().splitlines()[-1])
    return rss["after"] / 1024, rss["before"] / 1024


def estimate_7b(batch: int = 16, prompt: int = 400, new: int = 200) -> None:
    """Print the bf16 memory estimate of a Qwen2.5-7B-like model: weights + KV cache of one batch."""
    params = 7.6e9
    layers, kv_heads, head_dim, bytes_ = 28, 4, 128, 2  # Qwen2.5-7B: 28 layers, GQA 4 KV heads of 128
    weights = params * bytes_
    seq = prompt + new
    kv = 2 * layers * kv_heads * head_dim * bytes_ * seq * batch
    print("\n7B estimate (bf16, Qwen2.5-7B shapes):")
    print(f"  weights = params × 2 B = {params:.2e} × 2 = {weights / 2**30:.1f} GiB")
    print("  KV cache = 2 (K,V) × layers × kv_heads × head_dim × 2 B × seq × batch")
    print(f"           = 2 × {layers} × {kv_heads} × {head_dim} × 2 × {seq} × {batch} = {kv / 2**30:.2f} GiB")
    print(f"  total ≈ {(weights + kv) / 2**30:.1f} GiB (+ activations and the CUDA context, ~1-2 GiB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=48, help="prompts for batched vs one-at-a-time")
    ap.add_argument("--cache-n", type=int, default=500, help="prompts for cached rerun vs first run")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cache-repeats", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--random", action="store_true", help="use the tiny random model even if the demo model exists")
    args = ap.parse_args()

    import torch

    from nerprobe.models.cache import GenerationCache
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec, which = model_spec(tmp, args.random)
        print(f"model: {which}; torch threads {torch.get_num_threads()}; device cpu fp32")
        loaded = load_model(spec, device="cpu")
        reqs = requests(args.n)
        mnt = args.max_new_tokens
        batched = lambda: HFPredictor(loaded, batch_size=args.batch_size, max_new_tokens=mnt).predict(reqs, progress=False)  # noqa: E731
        single = lambda: HFPredictor(loaded, batch_size=1, max_new_tokens=mnt).predict(reqs, progress=False)  # noqa: E731
        t_b, out_b = timed(batched, args.repeats)
        t_s, out_s = timed(single, args.repeats)
        print(f"\nbatched (batch {args.batch_size}) vs one-at-a-time, {args.n} prompts, max_new_tokens {mnt}, "
              f"median of {args.repeats}:")
        print(f"  batched        {args.n / t_b:8.1f} items/s")
        print(f"  one-at-a-time  {args.n / t_s:8.1f} items/s")
        print(f"  ratio          {t_s / t_b:8.1f}x (goal >= 5x); same outputs: {out_b == out_s}")

        big = requests(args.cache_n, seed=1)
        firsts, reruns = [], []
        for k in range(args.cache_repeats):
            cache_dir = tmp / f"cache{k}"
            t_first, first = timed(lambda: HFPredictor(loaded, cache=GenerationCache(cache_dir), batch_size=args.batch_size,
                                                       max_new_tokens=mnt).predict(big, progress=False), 1)
            t_rerun, rerun = timed(lambda: HFPredictor(loaded, cache=GenerationCache(cache_dir), batch_size=args.batch_size,
                                                       max_new_tokens=mnt).predict(big, progress=False), 1)
            assert rerun == first
            firsts.append(t_first)
            reruns.append(t_rerun)
        t_first, t_rerun = statistics.median(firsts), statistics.median(reruns)
        print(f"\ncached rerun vs first run, {args.cache_n} prompts, median of {args.cache_repeats}:")
        print(f"  first run      {t_first:8.2f} s ({args.cache_n / t_first:.1f} items/s)")
        print(f"  cached rerun   {t_rerun:8.3f} s ({args.cache_n / t_rerun:.0f} items/s)")
        print(f"  ratio          {t_first / t_rerun:8.0f}x (goal >= 50x)")

        after, before = peak_rss_of_generation(spec, 32, args.batch_size)
        print(f"\npeak RSS of a process that loads the model and generates 32 items (VmHWM): {after:.0f} MiB "
              f"({before:.0f} MiB with torch imported, before loading the model)")
    estimate_7b(batch=args.batch_size)


if __name__ == "__main__":
    main()
