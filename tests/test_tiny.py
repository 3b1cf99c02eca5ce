"""The embedded tiny demo model: built once per session (cached), it learns the demo task through LoRA.

The build takes a few minutes on 2 CPU cores: every test here shares one build through a session-scoped cache.
"""

from __future__ import annotations

import json
import os

import pytest

from nerprobe.models import tiny

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def tiny_model():
    return tiny.ensure_tiny_base(progress=False), tiny.ensure_tiny_adapter("xml", progress=False)


def _evaluate(base, adapter, sentences):
    from nerprobe.analysis.spans import prf, span_stats
    from nerprobe.formats import get_format
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model
    from nerprobe.models.predictors import Request
    from nerprobe.models.registry import ModelSpec

    labelset = tiny.demo_labelset()
    loaded = load_model(ModelSpec(base=str(base), adapter=str(adapter), revision=None, trust_remote_code=False,
                                  alias=None))
    outputs = HFPredictor(loaded, batch_size=16).predict(
        [Request.build(s, "xml", labelset) for s in sentences], progress=False
    )
    fmt = get_format("xml")
    preds = [fmt.parse(o, s, list(labelset.names)).entities for o, s in zip(outputs, sentences)]
    return prf(span_stats(sentences, preds, list(labelset.names)), list(labelset.names)), outputs


def test_build_is_cached_under_the_recipe_hash(tiny_model):
    base, adapter = tiny_model
    assert base.parent == adapter.parent == tiny.tiny_dir()
    assert str(base).startswith(os.environ["NERPROBE_CACHE"]) and base.parent.name == tiny.recipe_hash()
    assert (base / "config.json").is_file() and (base / "tokenizer.json").is_file()
    assert not any(p.name.endswith(".partial") or ".tmp-" in p.name for p in base.parent.iterdir())
    # a second call returns the cached directories without rebuilding them
    mtime = (adapter / "adapter_model.safetensors").stat().st_mtime_ns
    assert tiny.ensure_tiny_adapter("xml") == adapter
    assert (adapter / "adapter_model.safetensors").stat().st_mtime_ns == mtime


def test_tokenizer_has_the_chat_template_and_the_adapter_its_manifest(tiny_model):
    from transformers import AutoTokenizer

    base, adapter = tiny_model
    tok = AutoTokenizer.from_pretrained(base)
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    m = json.loads((adapter / "nerprobe_adapter.json").read_text())
    assert m["format"] == "xml" and m["labels"]["names"] == ["PER", "ORG", "LOC"]
    losses = [e["loss"] for e in m["training"]["loss_history"]]
    assert losses[-1] < losses[0] / 3


def test_registry_resolves_the_tiny_alias_to_the_cached_build(tiny_model):
    from nerprobe.models.registry import resolve

    base, adapter = tiny_model
    spec = resolve("tiny")
    assert (spec.base, spec.adapter) == (str(base), str(adapter))
    assert resolve("tiny-base").adapter is None


def test_tuned_tiny_model_tags_seen_test_sentences_with_f1_at_least_0_7(tiny_model):
    from nerprobe.data.demo import make_demo_corpus

    base, adapter = tiny_model
    corpus = make_demo_corpus(tiny.RECIPE["corpus_seed"])
    scores, outputs = _evaluate(base, adapter, corpus.test_seen())
    assert scores["micro"]["f1"] >= 0.7, (scores["micro"], outputs[:5])


def test_recipe_hash_changes_with_the_recipe(monkeypatch):
    before = tiny.recipe_hash()
    monkeypatch.setitem(tiny.RECIPE, "vocab_size", tiny.RECIPE["vocab_size"] + 1)
    assert tiny.recipe_hash() != before


def test_copy_pretraining_holds_no_demo_name_where_the_tokenizer_learns_and_marks_random_spans():
    """Recipe v2 (issue 14): the BPE merges are learned on texts without a demo name (so seen and unseen names are
    cut into pieces alike), the pseudo names are never demo name words, and a marked echo is the input sentence
    again with some spans in the markup of an inline format."""
    from nerprobe.formats import get_format

    docs, echoes = tiny.pretraining_documents()
    names = {w for n in tiny.demo_name_words() for w in n.split()}
    texts = tiny.tokenizer_texts(docs, echoes)
    assert len(texts) > 1000 and not any(names & set(t.replace("<", " ").replace(">", " ").split()) for t in texts)
    pseudo = tiny.pseudo_sentences(50, 0)
    assert not any(names & set(s.text.split()) - set(tiny.demo.ORG_SUFFIXES) for s in pseudo)
    for i, s in enumerate(pseudo[:10]):
        user, response = tiny.marked_echo(s, tiny.MARKED_FORMATS, i)
        assert user.endswith("\n" + s.text) and response != s.text
        parsed = get_format(tiny.MARKED_FORMATS[i % 2]).parse(response, s, list(tiny.demo.LABELS))
        assert parsed.entities  # the marks parse back as spans of the input sentence


def test_echo_loss_is_on_the_response_only():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny.ensure_tiny_base(progress=False))
    ex = tiny._pretrain_examples(tok, ["Police in Oslo arrested two men ."], [("Repeat\nab cd", "ab cd")])
    doc, echo = ex
    assert doc["labels"] == doc["input_ids"]  # plain documents: every token
    masked = [x for x in echo["labels"] if x == -100]
    assert masked and echo["labels"][-3:] == echo["input_ids"][-3:] and echo["labels"][0] == -100
