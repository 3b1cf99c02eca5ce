"""Retention end to end on a tiny random Qwen2 model and random LoRA adapters: numbers equal lm-eval's own,
identical seeded subsets, resume, shared base evaluation, and one-line errors before any model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.errors import InputError
from nerprobe.retention.harness import EvalSettings
from nerprobe.retention.run import plan_retention, run_retention

TASKS = ["local_mmlu", "local_gsm8k", "demo_completion"]
SETTINGS = EvalSettings(limit=10, max_gen_toks=8, batch_size=10)


def _adapter(base: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("retention_models")
    base = make_random_tiny_model(root / "base")
    other = make_random_tiny_model(root / "other-base", seed=5)
    return {
        "base": base,
        "a1": _adapter(base, root / "fmt_xml", 1),
        "a2": _adapter(base, root / "fmt_json", 2),
        "foreign": _adapter(other, root / "foreign", 3),
    }


class CountingLoader:
    """The real loader (nerprobe.models.loading.load_model), counting which specs it loads."""

    def __init__(self):
        self.loaded = []

    def __call__(self, spec):
        from nerprobe.models.loading import load_model

        self.loaded.append(spec.adapter)
        return load_model(spec, device="cpu")


@pytest.fixture(scope="module")
def run(models, tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("retention_run")
    plan = plan_retention(str(models["base"]), [str(models["a1"]), str(models["a2"])], TASKS, SETTINGS, out,
                          data_dir=data_dir)
    loader = CountingLoader()
    result = run_retention(plan, loader=loader, progress=False)
    return plan, result, loader


def test_base_is_evaluated_once_for_several_adapters(run):
    plan, result, loader = run
    assert loader.loaded == [None, str(plan.adapter_specs["fmt_xml"].adapter), str(plan.adapter_specs["fmt_json"].adapter)]
    assert set(result.rows) == {"fmt_xml", "fmt_json"}
    assert {p.name for p in (plan.out_dir / "results").iterdir()} == {"base", "fmt_xml", "fmt_json"}


def test_numbers_equal_what_lm_eval_reports_itself(run, models):
    """The per-item-derived base and tuned means equal simple_evaluate's own aggregates for the same settings."""
    from lm_eval import simple_evaluate

    plan, result, _ = run
    mmlu = next(t for t in plan.tasks if t.name == "local_mmlu")
    direct = {}
    for key, peft in (("base", None), ("fmt_xml", str(models["a1"]))):
        args = {"pretrained": str(models["base"]), "device": "cpu", "dtype": "float32"}
        if peft:
            args["peft"] = peft
        res = simple_evaluate(model="hf", model_args=args, tasks=["local_mmlu"], task_manager=plan.manager,
                              samples=mmlu.samples, batch_size=10, bootstrap_iters=0, log_samples=False)
        direct[key] = res["results"]["local_mmlu"]["acc,none"]
    row = next(r for r in result.rows["fmt_xml"] if r["task"] == "local_mmlu" and r["metric"] == "acc")
    assert row["n"] == 10
    assert row["value_a"] == pytest.approx(direct["base"], abs=1e-12)
    assert row["value_b"] == pytest.approx(direct["fmt_xml"], abs=1e-12)
    # and the stored lm-eval aggregates of the run agree with the per-item rows for every task and filter
    for key, rows in result.rows.items():
        for r in rows:
            agg = result.aggregates[key][r["task"]][f"{r['metric']},{r['filter']}"]
            assert r["value_b"] == pytest.approx(agg)
            assert r["value_a"] == pytest.approx(result.aggregates["base"][r["task"]][f"{r['metric']},{r['filter']}"])


def test_results_carry_lm_evals_standard_errors(run):
    """Every metric of every task in the results JSON has its ``<metric>_stderr,<filter>`` as lm-eval computes it for
    a mean: the sample standard deviation of the per-item values over sqrt(n), recomputed here from the item logs."""
    import math
    import statistics

    plan, result, _ = run
    checked = 0
    for key in ("base", "fmt_xml"):
        for task in plan.tasks:
            summary = json.loads((plan.out_dir / "results" / key / f"{task.name}.json").read_text())
            items = [json.loads(x) for x in
                     (plan.out_dir / "results" / key / f"{task.name}.items.jsonl").read_text().splitlines()]
            for name, value in summary["results"][task.name].items():
                if "_stderr" in name or "," not in name:
                    continue
                metric, flt = name.split(",")
                values = [r["metrics"][metric] for r in items if r["filter"] == flt and metric in r["metrics"]]
                stderr = summary["results"][task.name][f"{metric}_stderr,{flt}"]
                assert isinstance(stderr, float), (key, task.name, name, stderr)
                assert stderr == pytest.approx(statistics.stdev(values) / math.sqrt(len(values)), abs=1e-12)
                assert result.aggregates[key][task.name][f"{metric}_stderr,{flt}"] == stderr  # also in stats.json
                checked += 1
    assert checked >= 2 * (1 + 2 + 2)  # mmlu acc; gsm8k exact_match × 2 filters; completion exact_match and f1


def test_both_models_see_the_same_seeded_subset(run):
    plan, _, _ = run
    for task in plan.tasks:
        (leaf, ids), = task.samples.items()
        assert len(ids) == 10 and ids != list(range(10))
        for key in ("base", "fmt_xml", "fmt_json"):
            lines = (plan.out_dir / "results" / key / f"{task.name}.items.jsonl").read_text().splitlines()
            assert sorted({json.loads(x)["doc_id"] for x in lines}) == ids
    pairs = (plan.out_dir / "pairs" / "fmt_xml" / "local_gsm8k.jsonl").read_text().splitlines()
    assert len(pairs) == 20  # 10 documents × 2 filters (strict-match, flexible-extract)


def test_run_directory_and_answer_form(run):
    plan, result, _ = run
    manifest = json.loads((plan.out_dir / "manifest.json").read_text())
    assert manifest["identity"]["settings"]["limit"] == 10 and manifest["versions"]["lm_eval"]
    assert set(manifest["fingerprints"]) == {"base", "fmt_xml", "fmt_json"}
    stats = json.loads((plan.out_dir / "stats.json").read_text())
    assert {r["task"] for r in stats["comparisons"]["fmt_xml"]["rows"]} == set(TASKS)
    form = result.answer_form["base"]["local_gsm8k"]
    assert form["n"] == 10 and form["mean_words"] > 0
    assert set(form["filters"]) == {"strict-match", "flexible-extract"}
    assert all(f["n"] == 10 and 0 <= f["chance"] <= 1 for f in form["filters"].values())
    assert stats["margin"] == 2.0 and all(r["verdict"] in ("worse", "better", "retained", "inconclusive")
                                          for r in stats["comparisons"]["fmt_xml"]["rows"])
    assert stats["comparisons"]["fmt_xml"]["family"] and stats["n_resamples"] >= 20 * len(
        stats["comparisons"]["fmt_xml"]["rows"]) / 0.05
    assert "local_mmlu" not in result.answer_form["base"]  # multiple choice: no generated answers


def test_rerun_skips_finished_pairs_and_resumes_missing_ones(run, data_dir):
    plan, result, _ = run
    again = plan_retention(str(plan.base_spec.base), [a.adapter for a in plan.adapter_specs.values()], TASKS,
                           SETTINGS, plan.out_dir, data_dir=data_dir)

    def no_loading(spec):
        raise AssertionError("a finished run must not load a model")

    rerun = run_retention(again, loader=no_loading, progress=False)
    assert rerun.rows == result.rows
    (plan.out_dir / "results" / "fmt_json" / "local_gsm8k.json").unlink()
    loader = CountingLoader()
    resumed = run_retention(again, loader=loader, progress=False)
    assert loader.loaded == [str(plan.adapter_specs["fmt_json"].adapter)]
    assert resumed.rows == result.rows  # the response cache and greedy decoding give the same items back
    with pytest.raises(InputError, match="holds a retention run with other settings"):
        plan_retention(str(plan.base_spec.base), [plan.adapter_specs["fmt_xml"].adapter], TASKS,
                       EvalSettings(limit=5), plan.out_dir, data_dir=data_dir)


def _cli(args):
    from nerprobe.cli import app

    return CliRunner().invoke(app, ["retention", *args])


def test_bad_input_gives_one_line_errors_before_loading(models, tmp_path, data_dir):
    base, a1 = str(models["base"]), str(models["a1"])
    cases = {
        "unknown task": (["--tasks", "no_such_task"], "unknown task 'no_such_task'"),
        "missing data": (["--tasks", "local_gsm8k", "--data-dir", str(tmp_path / "none")], "gsm8k/test.jsonl"),
        "foreign adapter": (["--tasks", "local_gsm8k", "--adapter", str(models["foreign"])], "--adapter"),
    }
    for name, (extra, message) in cases.items():
        args = ["--model", base, "--out", str(tmp_path / name.replace(" ", "_")), "--data-dir", str(data_dir)]
        if "--adapter" not in extra:
            args += ["--adapter", a1]
        result = _cli(args + extra)
        assert result.exit_code == 2, (name, result.output)
        lines = [ln for ln in result.output.splitlines() if ln.strip()]
        assert any(message in ln for ln in lines), (name, result.output)
        assert "Traceback" not in result.output
        assert not (tmp_path / name.replace(" ", "_") / "results").exists()


def test_cli_prints_the_table(models, tmp_path, data_dir):
    result = _cli(["--model", str(models["base"]), "--adapter", str(models["a1"]), "--tasks", "local_mmlu",
                   "--limit", "6", "--data-dir", str(data_dir), "--out", str(tmp_path / "r"), "--no-progress",
                   "--n-resamples", "500"])
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index("retention: base vs"):]
    print(table)
    assert "local_mmlu" in table and "p Holm" in table and "McNemar" in table, table
    # six items cannot rule out a change of 2 points: never "retained"; the legend says what verdicts mean
    assert "inconclusive" in table and "retained" not in table.split("verdicts:")[0], table
    assert "verdicts: worse/better = Holm p < 0.05; retained = not significant and the CI of Δ within ±2 points" in table
    assert (tmp_path / "r" / "stats.json").is_file()


def test_too_few_resamples_and_a_bad_margin_are_refused_before_loading(models, tmp_path, data_dir):
    common = ["--model", str(models["base"]), "--adapter", str(models["a1"]), "--data-dir", str(data_dir),
              "--tasks", "local_gsm8k,demo_completion", "--limit", "4", "--no-progress"]
    # 2 filters x exact_match + exact_match and the graded f1: 4 tests, 1600 resamples at least
    result = _cli(common + ["--out", str(tmp_path / "r"), "--n-resamples", "1000"])
    assert result.exit_code == 2, result.output
    assert "--n-resamples: 1000 is too few for a family of 4 test(s) at alpha 0.05: the minimum is 1600" in (
        " ".join(result.output.split())), result.output
    assert not (tmp_path / "r" / "results").exists()
    result = _cli(common + ["--out", str(tmp_path / "m"), "--margin", "0"])
    assert result.exit_code == 2 and "--margin: must be above 0" in result.output, result.output
