"""Time of a retention run on a tiny model with the local MMLU and GSM8K subsets, and the harness's share of it.

A run evaluates base and base + LoRA adapter on ``--limit`` items of ``local_mmlu`` and ``local_gsm8k`` (generative,
``--max-gen-toks`` tokens), pairs the items and tests them. Each repetition uses a fresh run directory (no response
cache, no resume). Prints the median over ``--repeats`` of: total time, time inside lm-eval's ``simple_evaluate``,
model loading, planning (task loading, subset) and statistics. The model is the demo model (``tiny`` alias) when it
is built, else a tiny random Qwen2 with a random LoRA adapter (``--random``), said in the output.

    python benchmarks/bench_retention.py [--data ../shared/data] [--limit 20] [--repeats 3] [--random]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _random_model(root: Path) -> tuple[str, str]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    sys.path.insert(0, str(REPO / "tests"))
    from model_fixtures import make_random_tiny_model

    base = make_random_tiny_model(root / "base")
    torch.manual_seed(1)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    model.save_pretrained(root / "adapter")
    return str(base), str(root / "adapter")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--max-gen-toks", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--random", action="store_true", help="use a tiny random Qwen2 instead of the demo model")
    args = ap.parse_args()

    from nerprobe.retention.harness import EvalSettings
    from nerprobe.retention.run import plan_retention, run_retention

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.random:
            model, adapters, label = *(lambda b, a: (b, [a]))(*_random_model(root)), "tiny random Qwen2 + random LoRA"
        else:
            model, adapters, label = "tiny", [], "demo model (alias tiny) + its xml adapter"
        settings = EvalSettings(limit=args.limit, max_gen_toks=args.max_gen_toks, batch_size=8)
        figures: dict[str, list[float]] = {k: [] for k in ("total_s", "plan_s", "load_s", "harness_s", "stats_s")}
        for k in range(args.repeats):
            t0 = time.perf_counter()
            plan = plan_retention(model, adapters, ["local_mmlu", "local_gsm8k"], settings, root / f"run{k}",
                                  data_dir=args.data)
            plan_s = time.perf_counter() - t0
            result = run_retention(plan, progress=False, n_resamples=10000)
            figures["total_s"].append(time.perf_counter() - t0)
            figures["plan_s"].append(plan_s)
            for key in ("load_s", "harness_s", "stats_s"):
                figures[key].append(result.timings[key])
        med = {k: statistics.median(v) for k, v in figures.items()}
        print(f"retention run: {label}; local_mmlu + local_gsm8k, {args.limit} items each, 2 models, "
              f"max_gen_toks {args.max_gen_toks}; median of {args.repeats} fresh runs")
        for key, name in (("total_s", "total"), ("plan_s", "plan (tasks, data, subsets)"), ("load_s", "model loading"),
                          ("harness_s", "lm-eval simple_evaluate"), ("stats_s", "pairing + tests + writing")):
            print(f"  {name:30s} {med[key]:8.2f} s  ({100 * med[key] / med['total_s']:5.1f} %)")
        items = 2 * 2 * args.limit
        print(f"  throughput                     {items / med['harness_s']:8.1f} items/s inside the harness")


if __name__ == "__main__":
    main()
