"""``--template``/``--system`` on ``probe train`` and ``probe memorization`` (issue 12 §2): training renders its
examples through the chosen template exactly as generation will prompt, the adapter's manifest records the template
and the system prompt, and later commands (generate, memorization) reuse them by default; memorization prompts every
language model, and its export, with them."""

from __future__ import annotations

import json
import sqlite3

import pytest
from transformers import AutoTokenizer
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.cli import app
from nerprobe.data.demo import make_demo_corpus
from nerprobe.data.jsonl import write_jsonl
from nerprobe.errors import InputError
from nerprobe.exchange.export import MANIFEST, alpaca_name, prompts_name
from nerprobe.models.hf_generate import render_prompt
from nerprobe.models.sft_data import prompt_text
from nerprobe.models.training import MANIFEST_NAME
from nerprobe.templates import BUILTIN_TEMPLATES, resolve_template, tokenizer_chat_template, training_texts

runner = CliRunner()
P = 'Tag the "persons" in:\nJohn — Zürich {{ x }}'
SYSTEM = 'Be exact.\nAnswer in "XML".'
LLAMA3_HEAD = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" + SYSTEM + "<|eot_id|>"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_random_tiny_model(tmp_path_factory.mktemp("ttpl") / "tiny")


@pytest.mark.parametrize("name", [*BUILTIN_TEMPLATES, None])
@pytest.mark.parametrize("system", [None, SYSTEM, ""])
def test_the_training_tokenizer_writes_what_generation_prompts(model, name, system):
    """The SFT encoder's prompt (``sft_data.prompt_text``) and whole exchange, through the tokenizer given by
    ``tokenizer_chat_template``, equal generation's prompt (``hf_generate.render_prompt``) and ``training_texts``."""
    tok, fresh = AutoTokenizer.from_pretrained(model), AutoTokenizer.from_pretrained(model)
    template = resolve_template(name) if name else None
    tok.chat_template = tokenizer_chat_template(template, system, tok.chat_template)
    assert prompt_text(tok, P) == render_prompt(fresh, P, template, system)
    full = tok.apply_chat_template([{"role": "user", "content": P}, {"role": "assistant", "content": "<x>R</x>"}],
                                   tokenize=False)
    if template is not None:
        assert full == training_texts(template, P, "<x>R</x>", system, fresh)[1]
    else:
        assert full.startswith(render_prompt(fresh, P, None, system)) and "<x>R</x>" in full


def test_a_system_prompt_on_a_model_without_chat_template_asks_for_one(tmp_path):
    plain = make_random_tiny_model(tmp_path / "plain", chat_template=False)
    tok = AutoTokenizer.from_pretrained(plain)
    with pytest.raises(InputError, match="--system needs a chat template") as err:
        tokenizer_chat_template(None, SYSTEM, tok.chat_template)
    assert err.value.field == "template"


@pytest.fixture(scope="module")
def trained(model, tmp_path_factory):
    """An adapter trained by ``probe train --template llama3 --system ...`` (one step on eight demo sentences)."""
    root = tmp_path_factory.mktemp("ttrain")
    data = root / "train.jsonl"
    write_jsonl(list(make_demo_corpus(0).train)[:8], data)
    out = root / "adapter"
    res = runner.invoke(app, ["train", "--model", str(model), "--train", str(data), "--format", "xml", "--out",
                              str(out), "--template", "llama3", "--system", SYSTEM, "--max-steps", "1", "--rank", "4",
                              "--batch-size", "4", "--warmup", "0", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "chat template llama3" in res.output
    return root, out


def test_train_records_the_template_and_trains_through_it(trained):
    root, adapter = trained
    m = json.loads((adapter / MANIFEST_NAME).read_text())
    assert m["template"]["name"] == "llama3" and m["template"]["source"] == "builtin" and m["system"] == SYSTEM
    assert m["template"]["sha256"] == resolve_template("llama3").sha256
    # the tokenizer training encoded with (saved with the adapter) writes the llama3 prompt with the system prompt
    tok = AutoTokenizer.from_pretrained(adapter)
    assert prompt_text(tok, P) == resolve_template("llama3").render(
        [{"role": "system", "content": SYSTEM}, {"role": "user", "content": P}], tokenizer=tok)
    assert prompt_text(tok, P).startswith(LLAMA3_HEAD)


def test_generate_reuses_the_trained_template_and_system(model, trained, tmp_path):
    root, adapter = trained
    corpus = tmp_path / "c.jsonl"
    write_jsonl(list(make_demo_corpus(0).test)[:2], corpus)
    out = tmp_path / "p.jsonl"
    res = runner.invoke(app, ["generate", "--model", str(model), "--adapter", str(adapter), "--input", str(corpus),
                              "--max-new-tokens", "3", "--out-style", "llamafactory", "--out", str(out),
                              "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert all(json.loads(line)["prompt"].startswith(LLAMA3_HEAD) for line in out.read_text().splitlines())
    manifest = json.loads((tmp_path / "p.jsonl.manifest.json").read_text())
    assert manifest["template"]["name"] == "llama3" and manifest["system"] == SYSTEM
    assert manifest["prompting"]["sources"]["template"] == "adapter"


def _cached_prompts(cache_dir):
    with sqlite3.connect(cache_dir / "generations.sqlite") as con:
        return [p for (p,) in con.execute("SELECT prompt FROM generations")]


def test_memorization_reuses_the_trained_template_for_subject_and_base(model, trained, tmp_path):
    root, adapter = trained
    cache = tmp_path / "cache"
    res = runner.invoke(app, ["memorization", "--model", str(model), "--adapter", str(adapter), "--limit", "2",
                              "--probes", "coverage", "--max-new-tokens", "3", "--cache-dir", str(cache),
                              "--no-progress", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["prompting"]["template"] == "llama3" and m["prompting"]["system"] == SYSTEM
    assert m["prompting"]["sources"]["template"] == "adapter" and m["prompting"]["sources"]["system"] == "adapter"
    prompts = _cached_prompts(cache)
    assert prompts and all(p.startswith(LLAMA3_HEAD) for p in prompts)  # the adapter and its base alike


def test_memorization_template_and_system_reach_the_prompts_and_the_export(model, tmp_path):
    cache = tmp_path / "cache"
    args = ["memorization", "--model", str(model), "--limit", "2", "--probes", "coverage", "--baseline", "none",
            "--format", "xml", "--template", "qwen", "--system", SYSTEM, "--no-progress"]
    res = runner.invoke(app, [*args, "--max-new-tokens", "3", "--cache-dir", str(cache), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    head = "<|im_start|>system\n" + SYSTEM + "<|im_end|>\n<|im_start|>user\n"
    prompts = _cached_prompts(cache)
    assert prompts and all(p.startswith(head) and p.endswith("<|im_end|>\n<|im_start|>assistant\n") for p in prompts)
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert m["prompting"]["template"] == "qwen" and m["prompting"]["sources"]["template"] == "given"
    line = json.loads((tmp_path / "r" / "generations" / "model" / "coverage.jsonl").read_text().splitlines()[0])
    assert head + line["prompt"] + "<|im_end|>\n<|im_start|>assistant\n" in prompts

    exp = tmp_path / "exp"
    res = runner.invoke(app, [*args, "--export", str(exp)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((exp / MANIFEST).read_text())
    assert manifest["template"]["name"] == "qwen" and manifest["system"] == SYSTEM
    rows = [json.loads(x) for x in (exp / prompts_name("coverage")).read_text().splitlines()]
    assert rows and all(r["text"].startswith(head + r["prompt"]) and r["messages"][0]["content"] == SYSTEM
                        for r in rows)
    assert {r["system"] for r in json.loads((exp / alpaca_name("coverage")).read_text())} == {SYSTEM}
    # the exported texts are exactly those the run generated from
    assert {r["text"] for r in rows} <= set(prompts)


def test_memorization_unknown_template_is_one_line_error(model, tmp_path):
    res = runner.invoke(app, ["memorization", "--model", str(model), "--template", "llama9", "--out",
                              str(tmp_path / "r")])
    assert res.exit_code == 2 and res.output.strip().startswith("error: --template: unknown chat template 'llama9'")
