"""LoRA SFT: response-only loss masking, symbolization, the adapter manifest, training on a tiny random model, CLI."""

from __future__ import annotations

import json

import pytest

from model_fixtures import make_random_tiny_model
from nerprobe.data.demo import make_demo_corpus
from nerprobe.errors import InputError, NerprobeError
from nerprobe.models.sft_data import IGNORE_INDEX, build_sft_examples, encode_example
from nerprobe.models.training import (
    MANIFEST_NAME, TrainConfig, data_hash, prepare_labels, render_records, symbolize_sentences, train_lora,
)


@pytest.fixture(scope="module")
def random_model(tmp_path_factory):
    return make_random_tiny_model(tmp_path_factory.mktemp("random-tiny") / "model", seed=0)


@pytest.fixture(scope="module")
def tokenizer(random_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(random_model)


@pytest.fixture(scope="module")
def demo_labelset():
    from nerprobe.models.tiny import demo_labelset

    return demo_labelset()


def _prompt_ids(tok, user):
    text = tok.apply_chat_template([{"role": "user", "content": user}], add_generation_prompt=True, tokenize=False)
    return tok(text, add_special_tokens=False)["input_ids"]


# ---- masking -----------------------------------------------------------------------------------------------------


def test_labels_are_minus_100_exactly_on_the_prompt_tokens(tokenizer):
    user, response = "Tag the entities.\nAlice met Bob in Paris .", "<PER>Alice</PER> met <PER>Bob</PER> in Paris ."
    ids, labels, mode = encode_example(tokenizer, user, response)
    n_prompt = len(_prompt_ids(tokenizer, user))
    assert mode == "prefix"
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert labels[n_prompt:] == ids[n_prompt:] and IGNORE_INDEX not in labels[n_prompt:]
    # what is learned is the response and the end of the turn, nothing of the prompt
    assert tokenizer.decode(ids[n_prompt:]) == response + "<|im_end|>\n"
    assert tokenizer.decode(ids[:n_prompt]).endswith("<|im_start|>assistant\n")


def test_template_that_breaks_the_prefix_property_still_masks_the_inference_prompt(random_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(random_model)
    # like Qwen3: the history is rendered differently once an assistant turn follows (here: a system line appears)
    tok.chat_template = (
        "{% if messages[-1]['role'] == 'assistant' %}<|im_start|>system\nok<|im_end|>\n{% endif %}"
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    ids, labels, mode = encode_example(tok, "Tag: Alice", "<PER>Alice</PER>")
    n_prompt = len(_prompt_ids(tok, "Tag: Alice"))
    assert mode == "appended"
    assert ids[:n_prompt] == _prompt_ids(tok, "Tag: Alice")
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert tok.decode(ids[n_prompt:]) == "<PER>Alice</PER><|im_end|>"


def test_plain_tokenizer_without_chat_template(tmp_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(make_random_tiny_model(tmp_path / "m", chat_template=False))
    ids, labels, mode = encode_example(tok, "Tag: Alice", "<PER>Alice</PER>")
    n_prompt = len(tok("Tag: Alice\n")["input_ids"])
    assert mode == "plain"
    assert labels[:n_prompt] == [IGNORE_INDEX] * n_prompt and tok.decode(ids[n_prompt:]) == "<PER>Alice</PER><|im_end|>"


def test_records_longer_than_max_length_are_skipped_and_counted(tokenizer):
    recs = [{"instruction": "Tag.", "input": "Alice", "output": "A"}, {"instruction": "Tag.", "input": "x " * 300,
                                                                      "output": "B"}]
    examples, stats = build_sft_examples(tokenizer, recs, max_length=64)
    assert len(examples) == 1 and stats.kept == 1 and stats.too_long == 1
    assert len(examples[0]["input_ids"]) == len(examples[0]["labels"]) == len(examples[0]["attention_mask"])


# ---- symbolization -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["with-definitions", "symbols-only"])
def test_symbolized_records_use_letters_in_prompt_and_target(mode, demo_labelset):
    sentences = list(make_demo_corpus(0).train)[:20]
    labels, mapping = prepare_labels(demo_labelset, mode)
    assert mapping == {"ORG": "A", "PER": "B", "LOC": "C"}  # LLMs4NER RQ3's letters, whatever the label-set order
    assert labels.names == ("A", "B", "C")
    records = render_records(symbolize_sentences(sentences, mapping), "xml", labels)
    outputs = " ".join(r["output"] for r in records)
    assert "<A>" in outputs and "<PER>" not in outputs and "<ORG>" not in outputs
    some_definition = demo_labelset.definitions["PER"]
    assert (some_definition in records[0]["instruction"]) == (mode == "with-definitions")
    # entity spans are unchanged, only the labels are renamed
    sym = symbolize_sentences(sentences, mapping)
    assert [[(e.start, e.end) for e in s.entities] for s in sym] == [[(e.start, e.end) for e in s.entities]
                                                                     for s in sentences]


def test_unknown_label_is_refused(demo_labelset):
    s = make_demo_corpus(0).train[0]
    from nerprobe.data.model import Entity

    bad = s.with_entities([Entity(0, 3, "MISC")])
    with pytest.raises(NerprobeError, match="MISC"):
        render_records([bad], "xml", demo_labelset)


def test_llms4ner_preset_and_bad_values():
    p = TrainConfig.llms4ner()
    assert (p.rank, p.alpha, p.target_modules, p.learning_rate, p.epochs, p.lr_scheduler, p.warmup_ratio) == (
        256, 512, "all-linear", 2e-5, 2.0, "cosine", 0.1)
    with pytest.raises(InputError, match="rank 0 must be a positive integer") as err:
        TrainConfig(rank=0).validate()
    assert err.value.field == "rank"  # the CLI names --rank
    with pytest.raises(InputError, match="symbolize 'letters' must be one of") as err:
        TrainConfig(symbolize="letters").validate()
    assert err.value.field == "symbolize"
    with pytest.raises(InputError, match="name_refresh 'faker' must be one of") as err:
        TrainConfig(name_refresh="faker").validate()
    assert err.value.field == "name_refresh"


def test_llms4ner_letters_for_conll_labels_then_the_others_in_order():
    from nerprobe.formats.labels import LABEL_SETS, LabelSet

    _, conll = prepare_labels(LABEL_SETS["conll2003"], "symbols-only")
    assert conll == {"ORG": "A", "PER": "B", "LOC": "C", "MISC": "D"}
    _, other = prepare_labels(LabelSet(("DATE", "PER", "GPE")), "symbols-only")
    assert other == {"PER": "A", "DATE": "B", "GPE": "C"}


# ---- name refresh ------------------------------------------------------------------------------------------------


def test_refreshed_names_keep_type_shape_and_context_and_never_repeat():
    import random

    from nerprobe.data.demo import make_demo_corpus as corpus_of
    from nerprobe.models.tiny import demo_name_words
    from nerprobe.models.training import refresh_names

    train = list(corpus_of(0).train)
    avoid = frozenset(w.casefold() for w in demo_name_words())
    rng, used, seen = random.Random(0), set(), []
    for _ in range(3):  # three epochs
        fresh = refresh_names(train, rng, used, avoid)
        for old, new in zip(train, fresh):
            assert [e.label for e in new.entities] == [e.label for e in old.entities]
            names = [new.surface(e) for e in new.entities]
            assert [len(n.split()) for n in names] == [len(old.surface(e).split()) for e in old.entities]
            assert all(w[0].isupper() and w.casefold() not in avoid for n in names for w in n.split())
            # the context is untouched: the text outside the entities is the same
            strip = lambda s: [t.text for t in s.tokens if not any(e.start <= t.start < e.end for e in s.entities)]
            assert strip(new) == strip(old)
            seen += names
    assert len(seen) == len(set(seen)) == len(used)  # no name twice, in an epoch or across epochs


def test_a_nested_or_token_cutting_sentence_is_kept_or_refreshed_consistently():
    import random

    from nerprobe.data.model import Entity, Sentence
    from nerprobe.models.training import refresh_sentence

    nested = Sentence.from_tokens("n", "the Bank of Lisbon fell".split(), [(1, 4, "ORG"), (3, 4, "LOC")])
    new = refresh_sentence(nested, random.Random(0), set())
    org, loc = sorted(new.entities, key=lambda e: e.start)
    assert new.surface(org).split()[1] == "of" and new.surface(org).endswith(new.surface(loc))
    assert "Lisbon" not in new.text and "Bank" not in new.text
    cut = Sentence("c", "Lisbonians", entities=(Entity(0, 6, "LOC"),))
    assert refresh_sentence(cut, random.Random(0), set()) is None


# ---- training ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(random_model, demo_labelset, tmp_path_factory):
    sentences = list(make_demo_corpus(0).train)[:16]
    out = tmp_path_factory.mktemp("adapters") / "sym"
    config = TrainConfig(rank=8, alpha=16, learning_rate=1e-2, max_steps=8, batch_size=4, logging_steps=1,
                         warmup_ratio=0.0, symbolize="symbols-only", seed=7)
    path = train_lora(str(random_model), sentences, "xml", demo_labelset, out, config, progress=False)
    return path, sentences, config


def test_training_a_few_steps_decreases_loss(trained):
    path, _, _ = trained
    losses = [e["loss"] for e in json.loads((path / MANIFEST_NAME).read_text())["training"]["loss_history"]]
    assert len(losses) >= 8
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5, losses


def test_manifest_records_base_data_format_labels_hyperparameters(trained, random_model, demo_labelset):
    from nerprobe.models.fingerprint import base_fingerprint

    path, sentences, config = trained
    m = json.loads((path / MANIFEST_NAME).read_text())
    assert m["base_fingerprint"] == base_fingerprint(str(random_model)) == m["base"]["fingerprint"]
    assert m["data"]["sha256"] == data_hash(sentences) and m["data"]["n_sentences"] == 16
    assert m["format"] == "xml" and m["seed"] == 7
    assert m["labels"]["names"] == list(demo_labelset.names)
    assert m["labels"]["symbol_map"] == {"ORG": "A", "PER": "B", "LOC": "C"}
    assert m["labels"]["prompt_names"] == ["A", "B", "C"] and m["labels"]["definitions_in_prompt"] is False
    assert m["hyperparameters"]["rank"] == 8 and m["hyperparameters"]["learning_rate"] == config.learning_rate
    assert {"torch", "transformers", "peft"} <= set(m["versions"])
    assert (path / "adapter_model.safetensors").is_file()
    assert not path.with_name(path.name + ".partial").exists()


def test_adapter_loads_on_its_base_and_is_refused_when_out_exists(trained, random_model, demo_labelset):
    from nerprobe.models.loading import load_model
    from nerprobe.models.registry import ModelSpec

    path, sentences, config = trained
    loaded = load_model(ModelSpec(base=str(random_model), adapter=str(path), revision=None,
                                  trust_remote_code=False, alias=None))
    assert loaded.fingerprint
    with pytest.raises(NerprobeError, match="already exists"):
        train_lora(str(random_model), sentences, "xml", demo_labelset, path, config, progress=False)


def test_name_refresh_run_sees_new_names_each_epoch_and_records_it(random_model, demo_labelset, tmp_path):
    from nerprobe.models.training import refreshed_examples

    sentences = list(make_demo_corpus(0).train)[:8]
    config = TrainConfig(rank=4, alpha=8, max_steps=6, batch_size=4, logging_steps=1, warmup_ratio=0.0,
                         name_refresh="shape", symbolize="symbols-only")
    path = train_lora(str(random_model), sentences, "xml", demo_labelset, tmp_path / "reader", config,
                      progress=False, avoid_words=["Lisbon"])
    m = json.loads((path / MANIFEST_NAME).read_text())
    assert m["name_refresh"]["mode"] == "shape" and m["name_refresh"]["epochs_rendered"] == 3
    assert m["name_refresh"]["fresh_names"] == 3 * sum(len(s.entities) for s in sentences)
    assert m["hyperparameters"]["name_refresh"] == "shape" and m["training"]["steps"] == 6
    assert m["data"]["sha256"] == data_hash(sentences)  # the data it was given, before the refresh

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(random_model)
    labels, mapping = prepare_labels(demo_labelset, "symbols-only")
    data, _, _ = refreshed_examples(tok, sentences, config, "xml", labels, mapping, frozenset())
    first = data[0]["input_ids"]
    data.set_epoch(1)
    assert len(data) == 8 and data[0]["input_ids"] != first  # the same sentence, other names


def test_progress_is_plain_lines_on_stderr_when_it_is_not_a_terminal(random_model, demo_labelset, tmp_path, capfd):
    sentences = list(make_demo_corpus(0).train)[:8]
    config = TrainConfig(rank=4, alpha=8, max_steps=4, batch_size=4, logging_steps=1, warmup_ratio=0.0)
    train_lora(str(random_model), sentences, "xml", demo_labelset, tmp_path / "a", config, progress=True)
    err = capfd.readouterr().err
    assert "train: 4 steps" in err and "train step 4/4 (epoch 2.0) loss" in err and "train: done, 4 steps" in err
    train_lora(str(random_model), sentences, "xml", demo_labelset, tmp_path / "b", config, progress=False)
    assert "train" not in capfd.readouterr().err


def test_data_hash_depends_on_entities():
    sents = list(make_demo_corpus(0).train)[:5]
    assert data_hash(sents) == data_hash(list(sents))
    assert data_hash(sents) != data_hash([sents[0].with_entities([])] + sents[1:])


# ---- CLI ---------------------------------------------------------------------------------------------------------


def test_cli_train_writes_an_adapter_and_rejects_bad_options(random_model, tmp_path):
    from typer.testing import CliRunner

    from nerprobe.cli import app
    from nerprobe.data.jsonl import write_jsonl

    data = tmp_path / "train.jsonl"
    write_jsonl(list(make_demo_corpus(0).train)[:8], data)
    runner = CliRunner()
    out = tmp_path / "adapter"
    args = ["train", "--model", str(random_model), "--train", str(data), "--format", "xml", "--out", str(out)]
    r = runner.invoke(app, args + ["--max-steps", "2", "--rank", "4", "--symbolize", "with-definitions"])
    assert r.exit_code == 0, r.output
    assert "2 steps" in r.output and "PER→" in r.output
    m = json.loads((out / MANIFEST_NAME).read_text())
    assert m["hyperparameters"]["rank"] == 4 and m["labels"]["symbolize"] == "with-definitions"
    assert "train: 2 steps" in r.output and "train: done, 2 steps" in r.output  # lines: stderr is no terminal
    quiet = runner.invoke(app, args[:-1] + [str(tmp_path / "q"), "--max-steps", "1", "--no-progress"])
    assert quiet.exit_code == 0 and "train step" not in quiet.output

    bad = runner.invoke(app, args[:-1] + [str(tmp_path / "x"), "--preset", "nope"])
    assert bad.exit_code == 2 and "--preset" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(app, args[:-1] + [str(tmp_path / "y"), "--lr", "-1"])
    assert bad.exit_code == 2 and "--lr" in bad.output
    again = runner.invoke(app, args + ["--max-steps", "1"])
    assert again.exit_code == 2 and "already exists" in again.output
