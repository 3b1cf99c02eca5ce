"""``probe generate``: predictions JSONL through the cache, 2 processes equal 1, one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from model_fixtures import make_random_tiny_model
from nerprobe.cli import app
from nerprobe.formats.predictions import read_predictions

CONLL = """-DOCSTART- -X- -X- O

EU B-ORG
rejects O
German B-MISC
call O

Peter B-PER
Blackburn I-PER

BRUSSELS B-LOC
1996-08-22 O

Japan B-LOC
began O
the O
defence O

China B-LOC
says O
Taiwan B-LOC
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    model = make_random_tiny_model(root / "tiny")
    corpus = root / "mini.conll"
    corpus.write_text(CONLL)
    return root, model, corpus


def generate(model, corpus, out, cache, *extra):
    args = ["generate", "--model", str(model), "--input", str(corpus), "--format", "bracketed",
            "--max-new-tokens", "16", "--cache-dir", str(cache), "--out", str(out), "--no-progress", *extra]
    return runner.invoke(app, args)


def test_generate_writes_predictions_and_reruns_from_cache(setup):
    root, model, corpus = setup
    out = root / "one.jsonl"
    r = generate(model, corpus, out, root / "cache1")
    assert r.exit_code == 0, r.output
    assert "generated here 5" in r.output
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["id"] for x in recs] == [f"mini-{i}" for i in range(5)]
    assert recs[0]["prompt"].endswith("\nEU rejects German call")
    assert {x.id for x in read_predictions(out)} == {x["id"] for x in recs}  # FORMATS' reader reads it
    manifest = json.loads((root / "one.jsonl.manifest.json").read_text())
    assert manifest["model"]["prompt_style"] == "chat_template" and len(manifest["model"]["fingerprint"]) == 24
    again = generate(model, corpus, root / "again.jsonl", root / "cache1")
    assert "generated here 0" in again.output
    assert (root / "again.jsonl").read_text() == out.read_text()


def test_two_processes_give_the_same_outputs_as_one(setup):
    root, model, corpus = setup
    one, two = root / "p1.jsonl", root / "p2.jsonl"
    assert generate(model, corpus, one, root / "c-one").exit_code == 0
    r = generate(model, corpus, two, root / "c-two", "--num-processes", "2")
    assert r.exit_code == 0, r.output
    assert two.read_text() == one.read_text()
    from nerprobe.models.cache import GenerationCache

    assert len(GenerationCache(root / "c-two")) == 5  # both shards landed in the one cache


def test_continuous_engine_writes_the_same_predictions(setup):
    """``--engine continuous`` (transformers' continuous batching) gives the padded batches' outputs in float32, and
    the manifest says which engine ran."""
    root, model, corpus = setup
    padded, continuous = root / "e-pad.jsonl", root / "e-cont.jsonl"
    assert generate(model, corpus, padded, root / "c-pad").exit_code == 0
    r = generate(model, corpus, continuous, root / "c-cont", "--engine", "continuous")
    assert r.exit_code == 0, r.output
    assert continuous.read_text() == padded.read_text()
    manifest = json.loads((root / "e-cont.jsonl.manifest.json").read_text())
    assert manifest["decoding"]["engine"] == "continuous"


def test_errors_are_one_line(setup, tmp_path):
    root, model, corpus = setup
    r = generate(tmp_path / "missing-model", corpus, tmp_path / "o.jsonl", tmp_path / "c")
    assert r.exit_code == 2 and "does not exist" in r.output and "Traceback" not in r.output
    r = generate(model, corpus, tmp_path / "o.jsonl", tmp_path / "c", "--adapter", str(tmp_path / "nope"))
    assert r.exit_code == 2 and "--adapter" in r.output
    r = runner.invoke(app, ["generate", "--model", str(model), "--input", str(corpus), "--format", "yaml",
                            "--out", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 2 and "--format" in r.output
    r = generate(model, corpus, tmp_path / "o.jsonl", tmp_path / "c", "--engine", "vllm")
    assert r.exit_code == 2 and "--engine: 'vllm' is not one of generate, continuous" in r.output
