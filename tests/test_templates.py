"""Chat templates: the built-ins write exactly what LLaMA-Factory's templates of those names write for one turn;
Jinja files; `probe generate --template/--system`; an adapter's recorded template and system prompt are reused."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.cli import app
from nerprobe.errors import InputError
from nerprobe.models.prompting import Trained, choose_prompting
from nerprobe.templates import render_request, resolve_template

runner = CliRunner()
P = "Tag this.\nJohn lives in Paris ."


@pytest.mark.parametrize("name, system, expected", [
    ("llama3", None, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" + P +
     "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
    ("llama3", "S", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
     "<|start_header_id|>user<|end_header_id|>\n\n" + P +
     "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
    ("qwen", None, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant."
     "<|im_end|>\n<|im_start|>user\n" + P + "<|im_end|>\n<|im_start|>assistant\n"),
    ("qwen", "S", "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n" + P + "<|im_end|>\n<|im_start|>assistant\n"),
    ("alpaca", None, "Below is an instruction that describes a task. Write a response that appropriately completes "
     "the request.\n\n### Instruction:\n" + P + "\n\n### Response:\n"),
    ("default", "S", "System: S</s>\nHuman: " + P + "</s>\nAssistant:"),
])
def test_builtins_write_what_llamafactory_writes(name, system, expected):
    assert render_request(resolve_template(name), P, system) == expected


def test_jinja_file_and_errors(tmp_path):
    f = tmp_path / "mine.jinja"
    f.write_text("{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}[assistant] {% endif %}")
    t = resolve_template(str(f))
    assert t.name == "mine.jinja" and t.manifest()["sha256"].startswith("sha256:")
    assert render_request(t, "hi", "S") == "[system] S\n[user] hi\n[assistant] "
    bad = tmp_path / "bad.jinja"
    bad.write_text("line one\n{% for x in %}")
    with pytest.raises(InputError) as err:
        resolve_template(str(bad))
    assert str(err.value).startswith(f"{bad}:2: not a Jinja template") and err.value.field == "template"
    with pytest.raises(InputError, match="unknown chat template 'llama9' \\(built-in: llama3, qwen, alpaca, default"):
        resolve_template("llama9")
    assert resolve_template(None, tokenizer=None) is None  # no tokenizer template: plain prompts


def test_adapter_template_and_system_are_reused_and_other_choices_warned():
    trained = Trained("ad", "xml", None, None, template="llama3", system="S")
    p = choose_prompting(trained, labels="PER,LOC")
    assert (p.template, p.system, p.sources["template"], p.sources["system"]) == ("llama3", "S", "adapter", "adapter")
    assert p.manifest()["template"] == "llama3" and p.manifest()["system"] == "S"
    q = choose_prompting(trained, labels="PER,LOC", template="qwen", system="T")
    assert q.template == "qwen" and q.system == "T" and len([w for w in q.warnings if "trained with" in w]) == 2
    r = choose_prompting(None, labels="PER,LOC")
    assert r.template is None and r.system is None and r.manifest()["template"] == "model"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_random_tiny_model(tmp_path_factory.mktemp("tpl") / "tiny")


def test_generate_with_template_and_system(model, tmp_path):
    corpus = tmp_path / "c.conll"
    corpus.write_text("John B-PER\nlives O\nin O\nParis B-LOC\n\nMary B-PER\n")
    out = tmp_path / "p.jsonl"
    res = runner.invoke(app, ["generate", "--model", str(model), "--input", str(corpus), "--format", "xml",
                              "--template", "llama3", "--system", "Be exact.", "--max-new-tokens", "3",
                              "--out-style", "llamafactory", "--out", str(out), "--cache-dir", str(tmp_path / "c"),
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    first = json.loads(out.read_text().splitlines()[0])
    # the tiny tokenizer has no BOS token: the template's own is written, as LLaMA-Factory's llama3 template does
    assert first["prompt"].startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe exact."
                                      "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n")
    manifest = json.loads((tmp_path / "p.jsonl.manifest.json").read_text())
    assert manifest["template"]["name"] == "llama3" and manifest["system"] == "Be exact."
    assert "prompt style template:llama3" in res.output
    bad = runner.invoke(app, ["generate", "--model", str(model), "--input", str(corpus), "--template", "nope",
                              "--out", str(tmp_path / "q.jsonl")])
    assert bad.exit_code == 2 and bad.output.strip().startswith("error: --template: unknown chat template 'nope'")


@pytest.mark.parametrize("name, tail", [("llama3", "<|eot_id|>"), ("qwen", "<|im_end|>\n"), ("alpaca", "</s>\n\n"),
                                        ("default", "</s>\n")])
def test_training_texts_close_the_answer_as_llamafactory(name, tail):
    from nerprobe.templates import training_texts

    head, full = training_texts(resolve_template(name), P, "<PER>John</PER>", "S")
    assert head == render_request(resolve_template(name), P, "S") and full == head + "<PER>John</PER>" + tail


def test_adapter_trained_elsewhere_gets_one_warning(tmp_path):
    from nerprobe.models.prompting import foreign_adapter_warning

    ad = tmp_path / "lf-adapter"
    ad.mkdir()
    (ad / "adapter_config.json").write_text("{}")
    msg = foreign_adapter_warning(ad)
    assert "no nerprobe manifest" in msg and "--template" in msg and "\n" not in msg
    (ad / "nerprobe_adapter.json").write_text(json.dumps({"format": "xml"}))
    assert foreign_adapter_warning(ad) is None and foreign_adapter_warning(None) is None


def test_models_json():
    res = runner.invoke(app, ["models", "--json"])
    assert res.exit_code == 0 and "tiny" in json.loads(res.output)["aliases"]
