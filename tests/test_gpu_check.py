"""benchmarks/gpu_check.py at its tiny shape on CPU, so that the GPU check cannot rot between GPU sessions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_writes_every_figure(tmp_path):
    out = tmp_path / "gpu_check.json"
    report = load_script().main(["--tiny", "--out", str(out)])
    assert json.loads(out.read_text()) == report
    assert report["shape"] == "tiny" and report["device"] == "cpu"
    gen = {(r["engine"], r.get("workload")): r for r in report["generation"]}
    workloads = ("1 x 8", "4 x 8", "8 x 2-8")  # one batch of 1, one of 4, 8 prompts of 2-8 tokens in batches of 4
    for engine in ("nerprobe", "generate"):
        for w in workloads:
            row = gen[(engine, w)]
            assert row["tokens"] > 0 and row["tokens_per_s"] > 0
    assert gen[("generate", "4 x 8")]["tokens"] == 4 * report["generation_settings"]["new_tokens"]
    assert gen[("generate", "8 x 2-8")]["prompts"] == 8
    for engine in ("continuous", "nerprobe-continuous"):  # a GPU path: left out on CPU, with the reason
        assert "skipped" in gen[(engine, None)]
    assert set(report["ratios"]) == {f"nerprobe/generate on {w}" for w in workloads}
    assert report["training"]["steps_per_s"] > 0 and report["training"]["target_modules"] == "all-linear"
    # greedy float32 outputs in a batch of 16 (left-padded, lengths differ) equal one-at-a-time outputs
    assert report["equality"]["equal"] == 16


def test_7b_shape_is_qwen2_5_7b():
    gc = load_script()
    cfg = gc.qwen2_config("7b")
    assert (cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers, cfg.num_key_value_heads,
            cfg.vocab_size) == (3584, 18944, 28, 4, 152064)
