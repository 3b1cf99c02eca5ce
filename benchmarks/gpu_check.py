"""The GPU path, measured with nothing downloaded: generation tokens/s and LoRA training steps/s on a Qwen2 model of
the 7B shape (Qwen2.5-7B's config, random weights, bf16), and peak GPU memory of each.

Generation, at 1, 16 and 64 concurrent prompts of the same length, a fixed number of new tokens each:

- ``nerprobe``: ``nerprobe.models.hf_generate.HFPredictor`` (length-sorted left-padded batches, greedy), no cache;
- ``nerprobe-continuous``: the same predictor with ``engine="continuous"`` (transformers' continuous batching);
- ``generate``: a plain ``model.generate`` loop over the same batches (``min_new_tokens`` = ``max_new_tokens``);
- ``continuous``: transformers' continuous batching (``model.generate_batch``), when the installed version has it.

and a workload like a probe set's: 128 prompts of 32 to 128 tokens in random order, batches of 64 (the predictor
sorts by length, the plain loop takes them as they come, continuous batching schedules them itself).

Training: LoRA at the ``llms4ner`` preset (rank 256, alpha 512, all linear layers, dropout 0.05), batch 8 of 256
tokens, AdamW, a plain loop (forward, backward, step): steps/s after warm-up steps.

Also: whether greedy outputs of the predictor equal one-at-a-time outputs (batch 16 vs batch 1, prompts of different
lengths) on a 2-layer model of the same width, in float32 and in bf16, and the continuous engine's against them.

Each workload runs once untimed, then once timed (see ``bench_generation``). Writes one JSON (``--out``, default ``gpu_check.json``), rewritten after each phase so that a run cut short keeps
what it measured; a phase that fails records its error and the others still run. ``--tiny`` runs a tiny shape on CPU in seconds (the test
suite runs it so that the script cannot rot).

    python benchmarks/gpu_check.py --out gpu_check.json          # one GPU: under 8 minutes on an H200
    python benchmarks/gpu_check.py --tiny --out /tmp/gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

SHAPES = {
    # Qwen2.5-7B (config.json of the hub model, weights not needed)
    "7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
               num_key_value_heads=4, vocab_size=152064, max_position_embeddings=32768, rope_theta=1000000.0,
               rms_norm_eps=1e-6, tie_word_embeddings=False),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=512, max_position_embeddings=1024, rope_theta=10000.0,
                 rms_norm_eps=1e-6, tie_word_embeddings=False),
}
PAD, EOS = 0, 1


def qwen2_config(shape: str, **overrides):
    """The Qwen2 config of ``shape`` (``7b`` or ``tiny``), with ``overrides``."""
    from transformers import Qwen2Config

    cfg = Qwen2Config(**{**SHAPES[shape], **overrides})
    cfg.pad_token_id, cfg.eos_token_id, cfg.bos_token_id = PAD, EOS, None
    return cfg


def make_tokenizer(vocab_size: int):
    """A word-level tokenizer over ``w2 .. w<vocab-1>`` (one token per word), with pad and eos: no download."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": PAD, "<eos>": EOS, **{f"w{i}": i for i in range(2, vocab_size)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    fast.padding_side = "left"
    return fast


def make_model(cfg, dtype, device: str, seed: int = 0):
    """A random-weight Qwen2ForCausalLM built directly on ``device`` in ``dtype``, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    with torch.device(device):
        try:
            model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
        except TypeError:  # transformers 4.x
            model = AutoModelForCausalLM.from_config(cfg, torch_dtype=dtype)
    model.generation_config.eos_token_id = EOS
    model.generation_config.pad_token_id = PAD
    return model.eval()


def prompts(n: int, length: int, vocab_size: int, seed: int, vary: bool = False, low: int | None = None) -> list[str]:
    """``n`` prompts of ``length`` random words (``vary``: lengths from ``low``, default length/2, to length)."""
    rng = random.Random(seed)
    low = max(1, length // 2) if low is None else low
    sizes = [rng.randint(low, length) if vary else length for _ in range(n)]
    return [" ".join(f"w{rng.randrange(2, vocab_size)}" for _ in range(k)) for k in sizes]


# -- timing ----------------------------------------------------------------------------------------------------------
class Meter:
    """Wall time and peak GPU memory of a block (memory None on CPU)."""

    def __init__(self, device: str):
        self.cuda = device.startswith("cuda")

    def __enter__(self):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        import torch

        if self.cuda:
            torch.cuda.synchronize()
        self.seconds = time.perf_counter() - self.t0
        self.peak_gb = torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None
        return False


def _requests(texts: list[str]):
    from nerprobe.data.model import Sentence
    from nerprobe.models.predictors import Request

    return [Request(f"p{i}", Sentence(f"p{i}", t), "xml", None, "", t) for i, t in enumerate(texts)]


def nerprobe_predictor(model, tok, device: str, dtype, batch_size: int, new_tokens: int, engine: str = "generate"):
    """``HFPredictor`` over an already built model (no cache), as ``probe generate`` runs it."""
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import LoadedModel
    from nerprobe.models.registry import ModelSpec

    loaded = LoadedModel(tokenizer=tok, spec=ModelSpec("random-qwen2"), fingerprint="random", device=device,
                         dtype=dtype, _model=model)
    return HFPredictor(loaded, cache=None, max_new_tokens=new_tokens, batch_size=batch_size, engine=engine)


def run_nerprobe(model, tok, texts, device, dtype, batch_size, new_tokens,
                 engine: str = "generate") -> tuple[int, list[str]]:
    """Tokens generated and the outputs of the predictor on ``texts``."""
    outs = nerprobe_predictor(model, tok, device, dtype, batch_size, new_tokens, engine).predict(_requests(texts),
                                                                                                progress=False)
    return sum(len(o.split()) for o in outs), outs


def run_generate(model, tok, texts, device, batch_size, new_tokens) -> int:
    """Tokens generated by a plain ``model.generate`` loop over batches of ``texts``."""
    import torch

    total = 0
    for start in range(0, len(texts), batch_size):
        enc = tok(texts[start:start + batch_size], return_tensors="pt", padding=True).to(device)
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                 pad_token_id=PAD, eos_token_id=EOS)
        total += (out.shape[1] - enc["input_ids"].shape[1]) * out.shape[0]
    return total


def run_continuous(model, tok, texts, new_tokens) -> int:
    """Tokens generated by transformers' continuous batching (``generate_batch``) on ``texts``."""
    from transformers import GenerationConfig

    ids = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    cfg = GenerationConfig(max_new_tokens=new_tokens, do_sample=False, eos_token_id=EOS, pad_token_id=PAD)
    results = model.generate_batch(inputs=ids, generation_config=cfg, progress_bar=False)
    return sum(len(r.generated_tokens) for r in results.values())


def engines_for(model, tok, device, dtype, new_tokens, continuous: bool) -> tuple[dict, list[dict]]:
    """The engines to time, ``name -> fn(texts, batch_size) -> tokens``, and rows for those left out."""
    engines = {
        "nerprobe": lambda texts, b: run_nerprobe(model, tok, texts, device, dtype, b, new_tokens)[0],
        "generate": lambda texts, b: run_generate(model, tok, texts, device, b, new_tokens),
    }
    skipped = []
    if not hasattr(model, "generate_batch"):
        skipped = [{"engine": e, "skipped": "this transformers has no generate_batch"}
                   for e in ("nerprobe-continuous", "continuous")]
    elif not continuous:
        skipped = [{"engine": e, "skipped": "CPU: continuous batching is a GPU path (--continuous runs it anyway, "
                                            "tens of seconds)"} for e in ("nerprobe-continuous", "continuous")]
    else:
        engines["nerprobe-continuous"] = lambda texts, b: run_nerprobe(model, tok, texts, device, dtype, b, new_tokens,
                                                                       engine="continuous")[0]
        engines["continuous"] = lambda texts, b: run_continuous(model, tok, texts, new_tokens)
    return engines, skipped


def bench_generation(model, tok, device, dtype, vocab, batch_sizes, prompt_len, new_tokens, log,
                     continuous: bool = True, varied: int = 0, on_row=None, only=None, rows=None,
                     warm_each: bool = True) -> list[dict]:
    """One row per (engine, workload): tokens, seconds, tokens/s, peak memory; an engine that fails gets its error
    instead of figures, one left out says why. Workloads: ``b`` prompts of ``prompt_len`` tokens in one batch of
    ``b``, for each ``b`` in ``batch_sizes``; and, when ``varied``, ``varied`` prompts of ``prompt_len``/4 to
    ``prompt_len`` tokens in random order in batches of ``max(batch_sizes)``. ``on_row(rows)`` after each row;
    ``only``: the engines to run (default all); ``rows``: earlier rows to append to; ``warm_each``: run each
    workload once untimed before timing it."""
    engines, skipped = engines_for(model, tok, device, dtype, new_tokens, continuous)
    rows = list(rows or [])
    if only is not None:
        engines = {k: v for k, v in engines.items() if k in only}
        skipped = [r for r in skipped if r["engine"] in only]
    rows.extend(skipped)
    workloads = [(f"{b} x {prompt_len}", prompts(b, prompt_len, vocab, seed=b), b) for b in batch_sizes]
    if varied:
        big = max(batch_sizes)
        texts = prompts(varied, prompt_len, vocab, seed=12345, vary=True, low=max(1, prompt_len // 4))
        workloads.append((f"{varied} x {prompt_len // 4}-{prompt_len}", texts, big))
    for name, fn in engines.items():
        try:
            fn(prompts(2, prompt_len, vocab, seed=99), 2)  # warm-up: kernels, CUDA graphs
        except Exception as err:  # noqa: BLE001 - recorded, the other engines still run
            rows.append({"engine": name, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"})
            log(f"{name}: {rows[-1]['error']}")
            continue
        for label, texts, b in workloads:
            try:
                if warm_each:
                    # an untimed pass of the same workload first: the caching allocator then holds blocks of every
                    # size it needs (the KV cache grows each step), whichever engine ran before. In the first H200
                    # run (no such pass) the engine timed first on an emptied allocator was 2.5-3x slower.
                    fn(texts, b)
                with Meter(device) as m:
                    n_tokens = fn(texts, b)
            except Exception as err:  # noqa: BLE001 - recorded, the next workload still runs
                rows.append({"engine": name, "workload": label, "batch_size": b,
                             "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"})
                log(f"{name} {label}: {rows[-1]['error']}")
                continue
            rows.append({"engine": name, "workload": label, "batch_size": b, "prompts": len(texts),
                         "prompt_tokens": prompt_len if "-" not in label else label.split(" x ")[1],
                         "new_tokens": new_tokens, "tokens": n_tokens, "seconds": round(m.seconds, 4),
                         "tokens_per_s": round(n_tokens / m.seconds, 2), "peak_gb": m.peak_gb})
            log(f"{name:>19} {label:>14} (batch {b:>3}): {rows[-1]['tokens_per_s']:>10.1f} tokens/s"
                + (f", peak {m.peak_gb:.1f} GiB" if m.peak_gb is not None else ""))
            if on_row:
                on_row(rows)
    return rows


def bench_training(model, device, rank, batch, seq_len, vocab, steps, warmup, log):
    """LoRA (all linear layers, ``rank``, alpha 2 × rank, dropout 0.05) training steps/s and peak memory; returns
    the figures and the model with the LoRA layers taken out again (in eval mode)."""
    import torch
    from peft import LoraConfig, get_peft_model

    peft_model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05,
                                                  target_modules="all-linear", task_type="CAUSAL_LM"))
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-5)
    gen = torch.Generator(device="cpu").manual_seed(0)
    ids = torch.randint(2, vocab, (batch, seq_len), generator=gen).to(device)

    def step():
        loss = peft_model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss.detach())

    for _ in range(warmup):
        step()
    with Meter(device) as m:
        for _ in range(steps):
            loss = step()
    out = {"rank": rank, "alpha": 2 * rank, "target_modules": "all-linear", "batch": batch, "seq_len": seq_len,
           "trainable_params": sum(p.numel() for p in params), "steps": steps, "seconds": round(m.seconds, 4),
           "steps_per_s": round(steps / m.seconds, 4), "tokens_per_s": round(steps * batch * seq_len / m.seconds, 1),
           "peak_gb": m.peak_gb, "last_loss": round(loss, 4)}
    log(f"LoRA r={rank}: {out['steps_per_s']:.3f} steps/s ({out['tokens_per_s']:.0f} tokens/s)"
        + (f", peak {m.peak_gb:.1f} GiB" if m.peak_gb is not None else ""))
    del opt, params
    return out, peft_model.unload().eval()


def check_equality(shape: str, device: str, prompt_len: int, new_tokens: int, log, dtype=None,
                   continuous: bool = False) -> dict:
    """Greedy outputs of the predictor: batch 16 (prompts of different lengths, left-padded) against one at a time,
    on a 2-layer model of ``shape``'s width in ``dtype`` (float32 by default); with ``continuous``, the continuous
    engine's outputs against one at a time too."""
    import torch

    dtype = dtype or torch.float32
    cfg = qwen2_config(shape, num_hidden_layers=2)
    model = make_model(cfg, dtype, device, seed=1)
    tok = make_tokenizer(cfg.vocab_size)
    texts = prompts(16, prompt_len, cfg.vocab_size, seed=7, vary=True)
    _, batched = run_nerprobe(model, tok, texts, device, dtype, 16, new_tokens)
    _, single = run_nerprobe(model, tok, texts, device, dtype, 1, new_tokens)
    differ = [i for i, (a, b) in enumerate(zip(batched, single)) if a != b]
    name = str(dtype).split(".")[-1]
    log(f"{name} greedy, batch 16 vs one at a time: {16 - len(differ)}/16 equal")
    out = {"dtype": name, "layers": 2, "prompts": 16, "new_tokens": new_tokens, "equal": 16 - len(differ),
           "differ": differ}
    if continuous:
        try:
            _, cont = run_nerprobe(model, tok, texts, device, dtype, 16, new_tokens, engine="continuous")
            cdiff = [i for i, (a, b) in enumerate(zip(cont, single)) if a != b]
            out.update(continuous_equal=16 - len(cdiff), continuous_differ=cdiff)
            log(f"{name} greedy, continuous engine vs one at a time: {16 - len(cdiff)}/16 equal")
        except Exception as err:  # noqa: BLE001 - recorded
            out["continuous_error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
            log(f"continuous equality: {out['continuous_error']}")
    del model
    return out


def free_memory(device: str) -> None:
    """Release cached GPU blocks between phases, so that each phase's peak is its own."""
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def main(argv=None) -> dict:
    """Run the checks and write the JSON; returns what it wrote."""
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny shape on CPU, seconds (the test suite runs this)")
    ap.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    ap.add_argument("--device", default=None, help="default: cuda when present (cpu with --tiny)")
    ap.add_argument("--batch-sizes", default=None, help="comma-separated (default 1,16,64; --tiny 1,4)")
    ap.add_argument("--prompt-tokens", type=int, default=None, help="default 128 (--tiny 8)")
    ap.add_argument("--new-tokens", type=int, default=None, help="fixed output length (default 128; --tiny 4)")
    ap.add_argument("--rank", type=int, default=None, help="LoRA rank (default 256, the llms4ner preset; --tiny 8)")
    ap.add_argument("--train-steps", type=int, default=None, help="timed steps (default 10; --tiny 2)")
    ap.add_argument("--skip-training", action="store_true")
    ap.add_argument("--continuous", action="store_true", help="run continuous batching on CPU too")
    ap.add_argument("--varied", type=int, default=None,
                    help="prompts of the varied-length workload (default 128; --tiny 8; 0: none)")
    args = ap.parse_args(argv)

    tiny = args.tiny
    device = args.device or ("cpu" if tiny or not torch.cuda.is_available() else "cuda")
    shape = "tiny" if tiny else "7b"
    batch_sizes = [int(b) for b in (args.batch_sizes or ("1,4" if tiny else "1,16,64")).split(",")]
    prompt_len = args.prompt_tokens or (8 if tiny else 128)
    new_tokens = args.new_tokens or (4 if tiny else 128)
    rank = args.rank or (8 if tiny else 256)
    steps = args.train_steps or (2 if tiny else 10)
    varied = args.varied if args.varied is not None else (8 if tiny else 128)
    dtype = torch.float32 if device == "cpu" else torch.bfloat16

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    report: dict = {"shape": shape, "config": SHAPES[shape], "device": device, "dtype": str(dtype).split(".")[-1],
                    "gpu": torch.cuda.get_device_name(0) if device.startswith("cuda") else None,
                    "versions": {"python": platform.python_version(), "torch": torch.__version__,
                                 "transformers": __import__("transformers").__version__,
                                 "peft": __import__("peft").__version__},
                    "generation_settings": {"batch_sizes": batch_sizes, "prompt_tokens": prompt_len,
                                            "new_tokens": new_tokens, "varied_prompts": varied, "greedy": True}}
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        report["total_seconds"] = round(time.perf_counter() - t_start, 1)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    def phase(key: str, fn) -> None:
        """``report[key] = fn()``; an error is recorded under ``key`` and the run goes on; saved either way."""
        try:
            report[key] = fn()
        except Exception as err:  # noqa: BLE001 - one failed phase must not lose the others
            report[key] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}"}
            log(f"{key}: {report[key]['error']}")
        free_memory(device)
        save()

    run_continuous_too = args.continuous or device.startswith("cuda")
    phase("equality", lambda: check_equality(shape, device, prompt_len, min(new_tokens, 16), log,
                                             continuous=run_continuous_too))
    if device.startswith("cuda"):
        phase("equality_bf16", lambda: check_equality(shape, device, prompt_len, min(new_tokens, 16), log,
                                                      dtype=torch.bfloat16, continuous=True))
    cfg = qwen2_config(shape)
    with Meter(device) as m:
        model = make_model(cfg, dtype, device)
    report["model"] = {"parameters": sum(p.numel() for p in model.parameters()), "build_seconds": round(m.seconds, 2),
                       "weights_gb": m.peak_gb}
    tok = make_tokenizer(cfg.vocab_size)
    save()

    def on_row(rows):
        report["generation"] = rows
        save()

    # The padded engines first, then training (LoRA layers added, then unloaded again), then continuous batching,
    # whose first calls capture CUDA graphs and can take longest: a run cut short keeps the other figures.
    padded = ("nerprobe", "generate")
    phase("generation", lambda: bench_generation(model, tok, device, dtype, cfg.vocab_size, batch_sizes, prompt_len,
                                                 new_tokens, log, continuous=run_continuous_too, varied=varied,
                                                 on_row=on_row, only=padded))
    if not args.skip_training:
        def train():
            nonlocal model
            out, model = bench_training(model, device, rank, 8, 256 if not tiny else 16, cfg.vocab_size, steps,
                                        1 if tiny else 2, log)
            return out

        phase("training", train)
    earlier = report["generation"] if isinstance(report["generation"], list) else []
    phase("generation", lambda: bench_generation(model, tok, device, dtype, cfg.vocab_size, batch_sizes, prompt_len,
                                                 new_tokens, log, continuous=run_continuous_too, varied=varied,
                                                 on_row=on_row, only=("nerprobe-continuous", "continuous"),
                                                 rows=earlier))
    rows = report["generation"] if isinstance(report["generation"], list) else []
    by = {(r["engine"], r["workload"]): r.get("tokens_per_s") for r in rows if "tokens_per_s" in r}
    report["ratios"] = {f"nerprobe/{other} on {w}": round(by[("nerprobe", w)] / by[(other, w)], 3)
                        for other in ("generate", "continuous", "nerprobe-continuous")
                        for (engine, w) in list(by) if engine == "nerprobe" and by.get((other, w))}
    save()
    log(f"wrote {args.out} ({report['total_seconds']} s)")
    return report

if __name__ == "__main__":
    main()
