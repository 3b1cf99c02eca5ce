"""`probe retention` takes lm-eval's own flags where they mean the same, and refuses what it cannot honour."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app
from nerprobe.errors import InputError
from nerprobe.retention import harness
from nerprobe.retention.lm_eval_args import max_gen_toks_from, model_from_args, parse_limit

runner = CliRunner()


class Captured(Exception):
    pass


@pytest.fixture
def captured(monkeypatch):
    """Stop `probe retention` where it would plan the run, keeping what it was asked."""
    seen = {}

    def plan(model, adapters, tasks, settings, out, **kw):
        seen.update(model=model, adapters=adapters, tasks=tasks, settings=settings, out=out, **kw)
        raise Captured

    monkeypatch.setattr("nerprobe.retention.run.plan_retention", plan)
    return seen


def invoke(*args):
    return runner.invoke(app, ["retention", *args])


def test_lm_eval_command_line_maps_onto_the_same_settings(captured, tmp_path):
    res = invoke("--model", "hf", "--model_args", "pretrained=tiny,peft=/ad", "--tasks", "demo_completion",
                 "--num_fewshot", "2", "--batch_size", "4", "--limit", "0.25", "--gen_kwargs",
                 "max_gen_toks=16,do_sample=false,temperature=0", "--log_samples", "--apply_chat_template",
                 "--system_instruction", "Be brief.", "--device", "cpu", "--output_path", str(tmp_path / "r"))
    assert isinstance(res.exception, Captured), res.output
    s = captured["settings"]
    assert captured["model"] == "tiny" and captured["adapters"] == ["/ad"] and captured["device"] == "cpu"
    assert (s.num_fewshot, s.batch_size, s.limit, s.max_gen_toks) == (2, 4, 0.25, 16)
    assert s.apply_chat_template is True and s.system_instruction == "Be brief."
    assert captured["out"] == tmp_path / "r"


@pytest.mark.parametrize("args, flag, words", [
    (["--model_args", "pretrained=tiny,dtype=bfloat16"], "--model_args", "'dtype' is not supported"),
    (["--model", "tiny", "--gen_kwargs", "do_sample=true"], "--gen_kwargs", "retention pairs greedy answers only"),
    (["--model", "tiny", "--limit", "1.5"], "--limit", "fraction between 0 and 1"),
    (["--model", "hf"], "--model", "--model_args pretrained=NAME"),
])
def test_what_cannot_mean_the_same_is_refused_in_one_line(captured, tmp_path, args, flag, words):
    res = invoke(*args, "--out", str(tmp_path / "r"))
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and line.startswith(f"error: {flag}:") and words in line


def test_limit_is_an_integer_or_a_fraction_of_each_task():
    assert parse_limit("50") == 50 and parse_limit("0.1") == 0.1 and parse_limit(None) is None
    for bad in ("0", "-3", "1.0", "x"):
        with pytest.raises(InputError):
            parse_limit(bad)
    assert harness.seeded_subset(100, 0.1, 0) == harness.seeded_subset(100, 10, 0)
    assert len(harness.seeded_subset(95, 0.1, 0)) == 10  # ceil, as lm-eval rounds


def test_model_args_and_gen_kwargs_parse_as_lm_eval_writes_them():
    assert model_from_args("hf", "pretrained=org/m") == ("org/m", [])
    assert model_from_args(None, "pretrained=org/m, peft=./a") == ("org/m", ["./a"])
    assert model_from_args("tiny", None) == ("tiny", [])
    with pytest.raises(InputError, match="--model says"):
        model_from_args("other/m", "pretrained=org/m")
    assert max_gen_toks_from("max_gen_toks=32") == 32 and max_gen_toks_from(None) is None


def test_no_progress_hides_lm_eval_bars_and_then_shows_them_again():
    from tqdm import tqdm
    from tqdm.auto import tqdm as auto_tqdm

    with harness.lm_eval_progress(False):
        assert tqdm(range(3)).disable is True and auto_tqdm(range(3)).disable is True
    assert tqdm(range(3), file=open(os.devnull, "w")).disable is False
    with harness.lm_eval_progress(True):
        assert tqdm(range(3), file=open(os.devnull, "w")).disable is False
