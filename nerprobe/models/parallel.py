"""Data-parallel generation: several processes fill one generation cache, the results are merged by item.

Two ways in, one mechanism (shards by index: process ``k`` of ``n`` takes items ``k, k+n, k+2n, ...``, which also
balances prompt lengths):

- ``generate(..., num_processes=n)`` starts ``n`` worker processes (``python -m nerprobe.models.parallel JOB k n``)
  that each generate their shard into the shared sqlite cache (safe for concurrent writers); the parent then reads
  every output back from the cache (nothing left to generate, so it never loads the weights);
- under ``accelerate launch`` (``WORLD_SIZE`` > 1), ``accelerate.PartialState`` gives each process its index and
  device; each generates its shard, all wait for each other, and every process reads the merged outputs.

Either way the outputs equal a single-process run: they are the same greedy generations, keyed by prompt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

from nerprobe.errors import NerprobeError
from nerprobe.models.cache import GenerationCache
from nerprobe.models.predictors import Request
from nerprobe.models.registry import ModelSpec


def shard(items: Sequence, index: int, count: int) -> list:
    """Items ``index, index + count, ...``: the share of process ``index`` of ``count``."""
    return list(items[index::count])


def _predictor(spec: ModelSpec, cache_path, *, batch_size, max_new_tokens, stop_strings, device, dtype,
               template=None, system=None, engine="generate"):
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model

    loaded = load_model(spec, device=device, dtype=dtype, lazy=True)
    cache = GenerationCache(cache_path)
    return HFPredictor(loaded, cache=cache, max_new_tokens=max_new_tokens, batch_size=batch_size,
                       stop_strings=stop_strings, template=template, system=system, engine=engine)


def _distributed_world() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def generate(
    spec: ModelSpec,
    requests: Sequence[Request],
    cache_path,
    *,
    batch_size: int = 8,
    max_new_tokens: int | None = None,
    stop_strings: Sequence[str] = (),
    device: str | None = None,
    dtype=None,
    num_processes: int = 1,
    progress: bool = True,
    template=None,
    system: str | None = None,
    engine: str = "generate",
):
    """Outputs of ``spec`` for ``requests`` (in order) through the cache at ``cache_path``; returns ``(outputs, predictor)``.

    ``num_processes > 1`` generates the missing outputs in that many worker processes first. ``template`` (a
    ``nerprobe.templates.ChatTemplate``, None: the tokenizer's own) and ``system`` shape the prompts; ``engine`` is
    ``HFPredictor``'s (``generate`` or ``continuous``).
    """
    opts = dict(batch_size=batch_size, max_new_tokens=max_new_tokens, stop_strings=tuple(stop_strings), dtype=dtype,
                template=template, system=system, engine=engine)
    world = _distributed_world()
    if world > 1:  # launched by `accelerate launch`: this process is one of `world`
        from accelerate import PartialState

        state = PartialState()
        predictor = _predictor(spec, cache_path, device=device or str(state.device), **opts)
        predictor.predict(shard(requests, state.process_index, state.num_processes),
                          progress=progress and state.is_main_process)
        state.wait_for_everyone()
        return predictor.predict(requests, progress=False), predictor
    if num_processes > 1:
        run_workers(spec, requests, cache_path, num_processes=num_processes, device=device, progress=progress, **opts)
    predictor = _predictor(spec, cache_path, device=device, **opts)
    return predictor.predict(requests, progress=progress), predictor


def run_workers(spec, requests, cache_path, *, num_processes, batch_size, max_new_tokens, stop_strings, device, dtype,
                progress=True, template=None, system=None, engine="generate") -> None:
    """Generate ``requests`` into the cache in ``num_processes`` worker processes (CPU threads split between them)."""
    job = {
        "spec": asdict(spec),
        "cache": str(cache_path),
        "batch_size": batch_size,
        "max_new_tokens": max_new_tokens,
        "stop_strings": list(stop_strings),
        "device": device,
        "dtype": None if dtype is None else str(dtype).replace("torch.", ""),
        "progress": progress,
        "template": None if template is None else asdict(template),
        "system": system,
        "engine": engine,
        "items": [
            {"id": r.id, "instruction": r.instruction, "input": r.input, "format_name": r.format_name}
            for r in requests
        ],
    }
    with tempfile.TemporaryDirectory(prefix="nerprobe-job-") as tmp:
        job_path = Path(tmp) / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        threads = max(1, (os.cpu_count() or 1) // num_processes)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), NERPROBE_WORKER_THREADS=str(threads))
        procs = [
            subprocess.Popen([sys.executable, "-m", "nerprobe.models.parallel", str(job_path), str(k),
                              str(num_processes)], env=env)
            for k in range(num_processes)
        ]
        codes = [p.wait() for p in procs]
    bad = [k for k, c in enumerate(codes) if c != 0]
    if bad:
        raise NerprobeError(f"generation worker(s) {bad} of {num_processes} failed (exit codes "
                            f"{[codes[k] for k in bad]}); outputs they wrote are kept in the cache, rerun to resume")


def _worker(job_path: str, index: int, count: int) -> None:
    """Generate shard ``index`` of ``count`` of a job file into its cache."""
    import torch

    from nerprobe.data.model import Sentence

    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    torch.set_num_threads(int(os.environ.get("NERPROBE_WORKER_THREADS", "1")))
    device = job["device"]
    if device is None and torch.cuda.is_available() and torch.cuda.device_count() > 1:
        device = f"cuda:{index % torch.cuda.device_count()}"
    requests = [
        Request(it["id"], Sentence(it["id"], it["input"]), it["format_name"], None, it["instruction"], it["input"])
        for it in job["items"]
    ]
    from nerprobe.templates import ChatTemplate

    template = ChatTemplate(**job["template"]) if job.get("template") else None
    predictor = _predictor(
        ModelSpec(**job["spec"]), job["cache"], batch_size=job["batch_size"], max_new_tokens=job["max_new_tokens"],
        stop_strings=tuple(job["stop_strings"]), device=device, dtype=job["dtype"], template=template,
        system=job.get("system"), engine=job.get("engine", "generate"),
    )
    predictor.predict(shard(requests, index, count), progress=job["progress"] and index == 0,
                      description=f"generating (process {index + 1}/{count})")


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
