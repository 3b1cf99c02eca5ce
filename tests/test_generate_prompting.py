"""``probe generate`` prompts an adapter as it was trained (format, label set with definitions, instruction, all from
its manifest), warns when told otherwise, and reads ``--labels`` with the one resolver every command uses."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.cli import app
from nerprobe.data.demo import make_demo_corpus
from nerprobe.data.jsonl import write_jsonl
from nerprobe.errors import InputError
from nerprobe.formats.labels import LABEL_SETS, LabelSet, resolve_label_set
from nerprobe.formats.prompts import instruction
from nerprobe.models.prompting import choose_prompting, trained_prompting
from nerprobe.models.tiny import demo_labelset
from nerprobe.models.training import MANIFEST_NAME, TrainConfig, train_lora

runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("prompting")
    model = make_random_tiny_model(root / "model", seed=0)
    sentences = list(make_demo_corpus(0).train)[:8]
    config = TrainConfig(rank=4, alpha=8, max_steps=1, batch_size=4, warmup_ratio=0.0, logging_steps=1)
    adapter = train_lora(str(model), sentences, "bracketed", demo_labelset(), root / "adapter", config,
                         progress=False)
    corpus = root / "test.jsonl"
    write_jsonl(list(make_demo_corpus(0).test)[:3], corpus)
    return root, model, adapter, corpus


def generate(setup, out, *extra):
    root, model, adapter, corpus = setup
    args = ["generate", "--model", str(model), "--adapter", str(adapter), "--input", str(corpus),
            "--max-new-tokens", "4", "--cache-dir", str(root / "cache"), "--out", str(out), "--no-progress", *extra]
    return runner.invoke(app, args)


def prompts(out):
    return [json.loads(line)["prompt"] for line in out.read_text().splitlines()]


def test_the_manifest_records_how_the_adapter_was_prompted(setup):
    _, _, adapter, _ = setup
    m = json.loads((adapter / MANIFEST_NAME).read_text())
    assert m["format"] == "bracketed" and m["labelset"]["definitions"] == demo_labelset().definitions
    assert m["instruction"] == instruction("bracketed", demo_labelset())
    assert m["created"].endswith("Z") and m["versions"]["torch"] and m["data"]["sha256"].startswith("sha256:")
    t = trained_prompting(adapter)
    assert t.format_name == "bracketed" and t.prompt_labelset == demo_labelset() and t.instruction == m["instruction"]


def test_generate_defaults_to_the_adapters_format_labels_and_instruction(setup, tmp_path):
    out = tmp_path / "p.jsonl"
    r = generate(setup, out)
    assert r.exit_code == 0, r.output
    assert "warning" not in r.output
    want = instruction("bracketed", demo_labelset())
    assert all(p.startswith(want) for p in prompts(out)) and "PER(person): A named individual" in want
    m = json.loads((tmp_path / "p.jsonl.manifest.json").read_text())
    assert m["format"] == "bracketed" and m["prompting"]["sources"] == {"format": "adapter", "labels": "adapter",
                                                                    "template": "default", "system": "default"}
    assert m["command"].startswith("probe") and m["created"].endswith("Z")  # in-process: sys.argv is pytest's


def test_overriding_format_or_labels_warns(setup, tmp_path):
    r = generate(setup, tmp_path / "a.jsonl", "--labels", "PER,ORG,LOC")
    assert r.exit_code == 0, r.output
    assert "warning: labels: the adapter" in r.output and "without definitions" in r.output
    r = generate(setup, tmp_path / "b.jsonl", "--format", "xml")
    assert r.exit_code == 0 and "warning: format: the adapter" in r.output and "'bracketed'" in r.output


def test_labels_json_file_is_accepted_like_train(setup, tmp_path):
    spec = tmp_path / "labels.json"
    spec.write_text(json.dumps({"names": ["PER", "ORG", "LOC"], "definitions": {"PER": "a person"}}))
    out = tmp_path / "f.jsonl"
    r = generate(setup, out, "--labels", str(spec))
    assert r.exit_code == 0, r.output
    assert all("PER: a person" in p for p in prompts(out))
    r = generate(setup, tmp_path / "g.jsonl", "--labels", "PERSONS")
    assert r.exit_code == 2 and "PERSONS" in r.output and "--labels" in r.output and "Traceback" not in r.output
    r = generate(setup, tmp_path / "h.jsonl", "--labels", str(tmp_path / "missing.json"))
    assert r.exit_code == 2 and "missing.json" in r.output


def test_one_resolver_for_every_label_set_option(tmp_path):
    assert resolve_label_set("conll2003") is LABEL_SETS["conll2003"]
    assert resolve_label_set("PER,ORG,LOC,MISC") == LABEL_SETS["conll2003"]  # a known set keeps its definitions
    assert resolve_label_set("B,A").names == ("B", "A")  # the order given is the prompt order
    assert resolve_label_set(None, ["LOC", "PER"]).names == ("LOC", "PER")
    mine = LabelSet(("X", "Y"))
    assert resolve_label_set(None, ["LOC"], default=mine) is mine
    for bad in ("PER", "A,A", str(tmp_path)):
        with pytest.raises(InputError):
            resolve_label_set(bad)


def test_a_manifest_without_definitions_falls_back_to_the_known_set(tmp_path):
    legacy = {"format": "xml", "labels": {"names": ["PER", "ORG", "LOC"], "prompt_names": ["PER", "ORG", "LOC"],
                                          "symbolize": None, "symbol_map": None, "definitions_in_prompt": True}}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(legacy))
    p = choose_prompting(trained_prompting(tmp_path))
    assert p.labelset == demo_labelset() and p.format_name == "xml" and not p.warnings


def test_memorization_uses_the_corpus_names_of_a_symbolized_adapter(tmp_path):
    ls, sym = demo_labelset(), demo_labelset().symbolized(with_definitions=True)
    manifest = {"format": "xml", "labels": {"names": list(ls.names), "symbol_map": sym[1]},
                "labelset": {"names": list(ls.names), "definitions": ls.definitions},
                "prompt_labelset": {"names": list(sym[0].names), "definitions": sym[0].definitions}}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert choose_prompting(trained_prompting(tmp_path)).labelset.names == ("A", "B", "C")
    p = choose_prompting(trained_prompting(tmp_path), original_names=True)
    assert p.labelset.names == ls.names and any("renamed" in w for w in p.warnings)


def test_memorization_prompts_the_adapter_as_it_was_trained(setup, tmp_path):
    from nerprobe.memorization.config import MemorizationConfig
    from nerprobe.memorization.run import run_memorization

    root, model, adapter, _ = setup
    cfg = dict(model=str(model), adapter=str(adapter), baseline="none", limit=2, probes=("coverage",),
               max_new_tokens=4, cache_dir=root / "cache", progress=False)
    result = run_memorization(MemorizationConfig(out=tmp_path / "a", **cfg), log=lambda m: None)
    m = result["manifest"]
    assert m["format"] == "bracketed" and m["prompting"]["sources"] == {"format": "adapter", "labels": "adapter",
                                                                    "template": "default", "system": "default"}
    assert not [p for p in m["problems"] if p.startswith(("format:", "labels:"))]
    line = (tmp_path / "a" / "generations" / "model" / "coverage.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["prompt"].startswith(instruction("bracketed", demo_labelset()))
    told = run_memorization(MemorizationConfig(out=tmp_path / "b", format_name="xml", labels="PER,ORG,LOC", **cfg),
                            log=lambda m: None)["manifest"]
    assert told["format"] == "xml" and told["prompting"]["sources"] == {"format": "given", "labels": "given",
                                                                        "template": "default", "system": "default"}
    assert any(p.startswith("format: the adapter") for p in told["problems"])
    assert any(p.startswith("labels: the adapter") for p in told["problems"])


def test_memorization_says_when_the_adapter_was_trained_on_other_sentences(setup, tmp_path):
    from nerprobe.memorization.config import MemorizationConfig
    from nerprobe.memorization.run import run_memorization

    root, model, adapter, corpus = setup
    cfg = dict(model=str(model), adapter=str(adapter), baseline="none", limit=2, probes=("coverage",),
               max_new_tokens=4, cache_dir=root / "cache", progress=False)
    other = run_memorization(MemorizationConfig(out=tmp_path / "demo", **cfg), log=lambda m: None)["manifest"]
    assert any(p.startswith("train: the adapter") and "other sentences" in p for p in other["problems"])
    train = tmp_path / "train.jsonl"
    write_jsonl(list(make_demo_corpus(0).train)[:8], train)  # exactly the adapter's training sentences
    same = run_memorization(MemorizationConfig(out=tmp_path / "same", train=train, test=corpus, **cfg),
                            log=lambda m: None)["manifest"]
    assert not any(p.startswith("train:") for p in same["problems"])
    assert same["data"]["hashes"]["train"] == json.loads((adapter / MANIFEST_NAME).read_text())["data"]["sha256"]


def test_an_instruction_text_that_changed_since_training_is_warned_about(setup, tmp_path):
    _, _, adapter, _ = setup
    m = json.loads((adapter / MANIFEST_NAME).read_text())
    m["instruction"] = "Tag the entities."  # what an older nerprobe might have written
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(m))
    p = choose_prompting(trained_prompting(tmp_path))
    assert any(w.startswith("instruction:") for w in p.warnings)
    assert not choose_prompting(trained_prompting(adapter), format_name="bracketed").warnings  # same as trained
