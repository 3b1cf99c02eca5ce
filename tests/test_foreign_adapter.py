"""An adapter trained elsewhere (a PEFT folder without nerprobe's manifest, issue 12 §2): it loads with one warning,
its format, labels and chat template are inferred from LLaMA-Factory's files beside it when they are there, and
``--format`` is asked for in one line only when nothing says it.

The LLaMA-Factory layout is the LLMs4NER study's own: its real ``dataset_info.json`` (``../shared/data/llms4ner``)
names the training files; the snapshot lacks the train files, so the format comes from the file name there, and
from the data itself (format and labels) when a dataset's file is present (the dev file)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.cli import app
from nerprobe.data.demo import make_demo_corpus
from nerprobe.data.jsonl import write_jsonl
from nerprobe.formats.labels import LABEL_SETS, label_set_for
from nerprobe.formats.prompts import instruction
from nerprobe.models.foreign import infer_foreign
from nerprobe.models.prompting import trained_prompting

runner = CliRunner()


def _peft_adapter(base, out):
    """A LoRA adapter saved by peft itself: adapter_config.json and weights, no nerprobe manifest."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base)
    get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(out)
    assert (out / "adapter_config.json").is_file() and not (out / "nerprobe_adapter.json").exists()
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("foreign")
    base = make_random_tiny_model(root / "base")
    corpus = root / "test.jsonl"
    write_jsonl(list(make_demo_corpus(0).test)[:2], corpus)
    return root, base, corpus


def _llamafactory_adapter(setup, name, dataset, data_dir):
    root, base, _ = setup
    out = _peft_adapter(base, root / name)
    (out / "training_args.yaml").write_text(yaml.safe_dump({
        "model_name_or_path": str(base), "stage": "sft", "finetuning_type": "lora", "template": "llama3",
        "dataset": dataset, "dataset_dir": str(data_dir), "output_dir": str(out)}))
    return out


def _generate(setup, adapter, out, *extra):
    root, base, corpus = setup
    return runner.invoke(app, ["generate", "--model", str(base), "--adapter", str(adapter), "--input", str(corpus),
                               "--max-new-tokens", "2", "--cache-dir", str(root / "cache"), "--out", str(out),
                               "--out-style", "llamafactory", "--no-progress", *extra])


def test_bare_peft_folder_asks_for_format_in_one_line(setup, tmp_path):
    root, _, _ = setup
    adapter = _peft_adapter(setup[1], tmp_path / "bare")
    res = _generate(setup, adapter, tmp_path / "p.jsonl")
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --format: {adapter} has no nerprobe manifest and nothing "
                                                   "beside it") and "pass --format" in lines[0]
    ok = _generate(setup, adapter, tmp_path / "q.jsonl", "--format", "xml")
    assert ok.exit_code == 0, ok.output
    assert ok.stderr.count("no nerprobe manifest") == 1  # one warning
    assert "nothing beside it says how it was prompted" in ok.stderr


def test_llamafactory_train_file_absent_format_from_its_name(setup, data_dir, tmp_path):
    """LLMs4NER's own dataset_info.json names conll03_bracketed_train_alpaca.json, which the snapshot lacks: the
    format comes from the file name, the template from training_args.yaml, the labels from the corpus."""
    llms4ner = data_dir / "llms4ner" / "data"
    adapter = _llamafactory_adapter(setup, "lf-train", "conll03_bracketed_train_alpaca", llms4ner)
    found = infer_foreign(adapter)
    assert found.format_name == "bracketed" and found.template == "llama3" and found.labels is None
    assert found.sources["format"] == "conll03_bracketed_train_alpaca.json (dataset conll03_bracketed_train_alpaca)"
    out = tmp_path / "p.jsonl"
    res = _generate(setup, adapter, out)
    assert res.exit_code == 0, res.output
    assert res.stderr.count("no nerprobe manifest") == 1
    assert "format bracketed from conll03_bracketed_train_alpaca.json" in res.stderr
    assert "template llama3 from" in res.stderr
    manifest = json.loads((tmp_path / "p.jsonl.manifest.json").read_text())
    assert manifest["format"] == "bracketed" and manifest["template"]["name"] == "llama3"
    assert manifest["prompting"]["sources"]["format"] == "inferred"
    assert manifest["prompting"]["sources"]["template"] == "inferred"
    first = json.loads(out.read_text().splitlines()[0])["prompt"]
    assert first.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n")
    assert instruction("bracketed", label_set_for(manifest["labels"])) in first  # the corpus's labels


def test_llamafactory_data_present_gives_format_and_labels(setup, data_dir, tmp_path):
    llms4ner = data_dir / "llms4ner" / "data"
    adapter = _llamafactory_adapter(setup, "lf-dev", "conll03_bracketed_dev_alpaca", llms4ner)
    t = trained_prompting(adapter)
    assert t.foreign and t.format_name == "bracketed" and t.template == "llama3"
    assert t.labelset == LABEL_SETS["conll2003"]  # PER, ORG, LOC, MISC read from the gold outputs
    assert t.inferred["labels"] == str(llms4ner / "conll03_bracketed_dev_alpaca.json")
    root, base, corpus = setup
    res = runner.invoke(app, ["memorization", "--model", str(base), "--adapter", str(adapter), "--limit", "2",
                              "--probes", "coverage", "--baseline", "none", "--max-new-tokens", "2", "--cache-dir",
                              str(root / "cache"), "--no-progress", "--json", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert m["format"] == "bracketed" and m["prompting"]["labels"] == list(LABEL_SETS["conll2003"].names)
    assert m["prompting"]["sources"] == {"format": "inferred", "labels": "inferred", "template": "inferred",
                                         "system": "default"}
    assert sum("no nerprobe manifest" in p for p in m["problems"]) == 1
    gen = json.loads((tmp_path / "run" / "generations" / "model" / "coverage.jsonl").read_text().splitlines()[0])
    assert gen["prompt"].startswith(instruction("bracketed", LABEL_SETS["conll2003"]))


def test_given_options_win_over_what_is_inferred(setup, data_dir, tmp_path):
    adapter = _llamafactory_adapter(setup, "lf-given", "conll03_bracketed_dev_alpaca", data_dir / "llms4ner" / "data")
    res = _generate(setup, adapter, tmp_path / "p.jsonl", "--format", "xml", "--labels", "PER,LOC", "--template",
                    "qwen")
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "p.jsonl.manifest.json").read_text())
    assert manifest["format"] == "xml" and manifest["labels"] == ["PER", "LOC"] and manifest["template"]["name"] == "qwen"
    assert "trained on the 'bracketed' format" in res.stderr and "llama3" in res.stderr


def test_unreadable_files_beside_it_are_passed_over(setup, tmp_path):
    adapter = _peft_adapter(setup[1], tmp_path / "junk")
    (adapter / "training_args.yaml").write_text("template: [unclosed\n")
    (adapter / "dataset_info.json").write_text("{not json")
    assert infer_foreign(adapter).format_name is None
    res = _generate(setup, adapter, tmp_path / "p.jsonl")
    assert res.exit_code == 2 and "pass --format" in res.stderr
