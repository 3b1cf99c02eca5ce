"""`probe retention --from-lm-eval BASE TUNED`: two output folders written by lm-eval itself (`lm_eval ...
--log_samples --output_path`) on the tiny model, paired and tested; folders that evaluated different things are
refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.cli import app
from nerprobe.errors import InputError
from nerprobe.retention.lm_eval_import import check_same_evaluation, read_lm_eval_run

runner = CliRunner()
TASKS = "demo_entity_type,demo_completion"


def _adapter(base: Path, out: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(base)
    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)) \
        .save_pretrained(out)
    return out


def lm_eval(model_args: str, include: Path, out: Path, *extra: str) -> Path:
    """Run lm-eval's own command line, as a user would on any machine."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", model_args, "--tasks", TASKS,
           "--include_path", str(include), "--limit", "8", "--batch_size", "8", "--device", "cpu",
           "--gen_kwargs", "max_gen_toks=6", "--log_samples", "--output_path", str(out), *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from nerprobe.retention.demo_tasks import write_demo_task_data
    from nerprobe.retention.suite import write_task_dir

    root = tmp_path_factory.mktemp("from_lm_eval")
    base = make_random_tiny_model(root / "base")
    adapter = _adapter(base, root / "adapter")
    write_demo_task_data(root / "data")
    tasks = write_task_dir(TASKS.split(","), root / "tasks", root / "data", root / "data")
    return {
        "root": root,
        "base": lm_eval(f"pretrained={base}", tasks, root / "lm_base"),
        "tuned": lm_eval(f"pretrained={base},peft={adapter}", tasks, root / "lm_tuned"),
        "tuned_1shot": lm_eval(f"pretrained={base},peft={adapter}", tasks, root / "lm_tuned_1shot",
                               "--num_fewshot", "1"),
    }


def test_pairs_and_tests_two_lm_eval_folders(runs, tmp_path):
    out = tmp_path / "run"
    res = runner.invoke(app, ["retention", "--from-lm-eval", str(runs["base"]), str(runs["tuned"]), "--out", str(out),
                              "--n-resamples", "2000"])
    assert res.exit_code == 0, res.output
    assert "retention: base vs tuned (from lm-eval runs" in res.output
    stats = json.loads((out / "stats.json").read_text())
    rows = stats["comparisons"]["tuned"]["rows"]
    assert {r["task"] for r in rows} == {"demo_entity_type", "demo_completion"} and all(r["n"] == 8 for r in rows)
    # the per-model means are lm-eval's own aggregates
    base_run, tuned_run = read_lm_eval_run(runs["base"]), read_lm_eval_run(runs["tuned"])
    for r in rows:
        key = f"{r['metric']},{r['filter']}"
        for run, side in ((base_run, "value_a"), (tuned_run, "value_b")):
            assert r[side] == pytest.approx(run.results["results"][r["task"]][key], abs=1e-9)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "retention" and manifest["run"]["state"] == "complete"
    assert set(manifest["imported_from_lm_eval"]) == {"base", "tuned"}


def test_different_n_shot_is_refused_in_one_line(runs, tmp_path):
    res = runner.invoke(app, ["retention", "--from-lm-eval", str(runs["base"]), str(runs["tuned_1shot"]),
                              "--out", str(tmp_path / "run")])
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and line.startswith("error: --from-lm-eval:") and "n-shot 0 in base, 1 in tuned" in line


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_different_documents_versions_or_tasks_are_refused(runs, tmp_path):
    base = read_lm_eval_run(runs["base"])
    # one document fewer in the tuned run
    fewer = _copy(runs["tuned"], tmp_path / "fewer")
    samples = next(fewer.rglob("samples_demo_completion_*.jsonl"))
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(InputError, match=r"task demo_completion: the runs evaluated different documents \(1 only in "
                                         r"base, 0 only in tuned; first: doc"):
        check_same_evaluation(base, read_lm_eval_run(fewer))
    # another task version
    other = _copy(runs["tuned"], tmp_path / "version")
    results = next(other.rglob("results_*.json"))
    data = json.loads(results.read_text())
    data["versions"]["demo_completion"] = 99
    results.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"task demo_completion: version .* in base, 99 in tuned"):
        check_same_evaluation(base, read_lm_eval_run(other))
    # a folder without samples: lm-eval ran without --log_samples
    bare = _copy(runs["tuned"], tmp_path / "bare")
    for p in bare.rglob("samples_*.jsonl"):
        p.unlink()
    with pytest.raises(InputError, match="rerun lm_eval with --log_samples"):
        read_lm_eval_run(bare)


def test_json_prints_one_object(runs, tmp_path):
    res = runner.invoke(app, ["retention", "--from-lm-eval", str(runs["base"]), str(runs["tuned"]), "--out",
                              str(tmp_path / "run"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert set(data) == {"comparisons", "answer_form", "aggregates", "run_directory"}
    assert len(data["comparisons"]["tuned"]) == 3
    # lm-eval's own aggregates of each folder, each metric with the standard error lm-eval computed for it
    for model in ("base", "tuned"):
        for task, metrics in data["aggregates"][model].items():
            values = [k for k in metrics if "," in k and "_stderr" not in k]
            assert values and all(isinstance(metrics[k.replace(",", "_stderr,", 1)], float) for k in values), task
