"""``probe score`` and the pairing behind it, on the real LLMs4NER gold files and their corpora."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from nerprobe.analysis.pairing import find_input, map_entity, pair_predictions, text_offset_map
from nerprobe.analysis.score_files import score_files
from nerprobe.cli import app
from nerprobe.data.io import read_corpus
from nerprobe.data.conll import write_conll
from nerprobe.data.jsonl import write_jsonl
from nerprobe.data.model import Entity, Sentence

runner = CliRunner()

CONLL_FILES = ["conll03_xml", "conll03_bracketed", "conll2003-se_xml", "conll2003-so_xml"]
GENIA_FILES = ["genia_xml", "genia_bracketed", "genia_occurrence_index", "genia_offset_json"]


@pytest.fixture(scope="module")
def conll_test(data_dir):
    return read_corpus(data_dir / "conll2003" / "test.txt")


@pytest.fixture(scope="module")
def genia_test(data_dir):
    return read_corpus(data_dir / "genia" / "nested_jsonl" / "test.jsonlines")


def test_offset_map_ignores_case_and_whitespace_and_moves_entities_onto_gold_text():
    gold = "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT ."
    pred = "Soccer - Japan get lucky win, China in surprise defeat."
    offsets = text_offset_map(pred, gold)
    china = Entity(pred.index("China"), pred.index("China") + 5, "PER")
    assert map_entity(china, pred, gold, offsets) == Entity(gold.index("CHINA"), gold.index("CHINA") + 5, "PER")
    # a span that swallows the comma's missing space still maps to whole gold characters
    win = Entity(pred.index("win,"), pred.index("win,") + 4, "X")
    assert gold[map_entity(win, pred, gold, offsets).start :][:5] == "WIN ,"
    # unrelated texts do not align at all
    assert text_offset_map("completely different words here", gold) is None


def test_find_input_locates_the_sentence_inside_a_chat_prompt():
    prompt = "<|im_start|>user\nTag entities.\nSoccer - Japan get lucky win.<|im_end|>\n<|im_start|>assistant\n"
    assert find_input("SOCCER - JAPAN GET LUCKY WIN .", prompt) == "Soccer - Japan get lucky win."
    assert find_input("Another sentence", prompt) is None


@pytest.mark.parametrize("name", CONLL_FILES)
def test_llms4ner_conll_gold_scores_100_against_conll2003_test(data_dir, conll_test, name):
    paired = pair_predictions(conll_test.sentences, data_dir / "llms4ner" / "data" / f"{name}_test_alpaca.json")
    result = score_files_from(paired)
    assert result["micro"]["f1"] == 1.0 and result["micro"]["n_gold"] == 5648
    assert paired.text_mismatches == 0 and paired.text_checked == 3453
    assert paired.statuses["failed"] == 0 and paired.problems["unmapped_entity"] == 0
    if "-s" in name:
        assert paired.label_map == {"A": "ORG", "B": "PER", "C": "LOC", "D": "MISC"}


def score_files_from(paired):
    from nerprobe.analysis.score_files import score_paired

    return score_paired(paired, n_resamples=200)["scores"]


@pytest.mark.parametrize("name", GENIA_FILES)
def test_llms4ner_genia_gold_scores_100_against_nested_test(data_dir, genia_test, name):
    paired = pair_predictions(genia_test.sentences, data_dir / "llms4ner" / "data" / f"{name}_test_alpaca.json")
    result = score_files_from(paired)
    assert result["micro"]["f1"] == 1.0 and result["micro"]["n_gold"] == 5119
    assert paired.text_mismatches == 0 and paired.problems["unmapped_entity"] == 0


def test_llms4ner_genia_json_scores_100_as_multisets_and_only_ambiguous_texts_lose_by_position(data_dir, genia_test):
    """The category-grouped json lists texts without positions, so it is scored as per-sentence multisets of
    (text, label): its gold file scores 100. Guessing positions instead (exact spans at the parser's chosen
    occurrence) misses entities only where their text occurs earlier in the sentence without that label."""
    from nerprobe.analysis.spans import prf, span_stats

    paired = pair_predictions(genia_test.sentences, data_dir / "llms4ner" / "data" / "genia_json_test_alpaca.json")
    result = score_files_from(paired)
    assert result["micro"]["f1"] == 1.0 and result["micro"]["n_gold"] == 5119 and result["micro"]["n_pred"] == 5119
    labels = sorted({e.label for s in genia_test for e in s.entities})
    by_position = prf(span_stats(paired.gold, paired.predicted, labels, "exact"), labels)["micro"]
    misses = 0
    for gold, pred in zip(paired.gold, paired.predicted):
        for e in set(gold.entities) - set(pred):
            misses += 1
            text = gold.surface(e)
            earlier = [m.start() for m in re.finditer(re.escape(text), gold.text) if m.start() < e.start]
            labelled = {x.start for x in gold.entities if x.label == e.label and gold.surface(x) == text}
            assert any(s not in labelled for s in earlier), f"{gold.id}: {text!r} is not ambiguous"
    assert misses == by_position["n_gold"] - by_position["tp"] > 0


def test_cli_prints_table_ci_and_parse_counts(data_dir):
    gold = data_dir / "conll2003" / "test.txt"
    pred = data_dir / "llms4ner" / "data" / "conll03_xml_test_alpaca.json"
    res = runner.invoke(app, ["score", "--gold", str(gold), "--pred", str(pred), "--n-resamples", "500"])
    assert res.exit_code == 0, res.output
    assert re.search(r"micro\s*│\s*100\.00\s*│\s*100\.00\s*│\s*100\.00 \[100\.00, 100\.00\]", res.output)
    assert "aligned" in res.output and "failed" in res.output
    assert "metric:micro-f1|match:exact|test:bootstrap|n:500|seed:0|ci:95" in res.output


def test_cli_json_on_perturbed_jsonl_predictions(tmp_path, conll_test, data_dir):
    # drop every PER entity and add one spurious LOC per 10th sentence: P/R follow by hand from the gold counts
    preds = []
    for i, s in enumerate(conll_test):
        ents = [e for e in s.entities if e.label != "PER"]
        if i % 10 == 0 and s.tokens:
            ents.append(Entity(s.tokens[0].start, s.tokens[0].end, "LOC"))
        preds.append(s.with_entities(ents))
    path = tmp_path / "pred.jsonl"
    write_jsonl(preds, path)
    res = runner.invoke(app, ["score", "--gold", str(data_dir / "conll2003" / "test.txt"), "--pred", str(path),
                              "--json", "--n-resamples", "300"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    gold_ents = {(s.id, e) for s in conll_test for e in s.entities}
    added = {(p.id, e) for p in preds for e in p.entities} - gold_ents
    tp = 5648 - 1617
    assert out["scores"]["micro"]["tp"] == tp
    assert out["scores"]["micro"]["precision"] == pytest.approx(tp / (tp + len(added)))
    assert out["scores"]["micro"]["recall"] == pytest.approx(tp / 5648)
    assert out["scores"]["per_type"]["PER"]["recall"] == 0.0
    ci = out["micro_f1_ci"]
    assert ci["low"] < out["scores"]["micro"]["f1"] < ci["high"] and ci["n_resamples"] == 300
    assert out["pairing"]["kind"] == "jsonl" and out["pairing"]["text_mismatches"] == 0


def test_a_prefix_is_scored_with_a_note_and_more_predictions_than_gold_is_an_error(tmp_path, conll_test, data_dir):
    gold = str(data_dir / "conll2003" / "test.txt")
    path = tmp_path / "short.conll"
    write_conll(conll_test.sentences[:10], path)  # no ids that name gold sentences: paired by order
    res = runner.invoke(app, ["score", "--gold", gold, "--pred", str(path), "--json", "--n-resamples", "100"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    n_gold = sum(len(s.entities) for s in conll_test.sentences[:10])
    assert out["scores"]["micro"]["f1"] == 1.0 and out["scores"]["micro"]["n_gold"] == n_gold
    assert out["pairing"]["n_sentences"] == 10 and out["pairing"]["n_gold_sentences"] == 3453
    assert "scored the first 10 of 3453 gold sentences" in res.stderr
    write_conll(list(conll_test.sentences) + list(conll_test.sentences[:1]), path)
    res = runner.invoke(app, ["score", "--gold", gold, "--pred", str(path)])
    assert res.exit_code == 2
    assert "3454 predictions for 3453 gold sentences" in res.output and "Traceback" not in res.output


def test_bad_json_and_unknown_format_are_one_line_errors(tmp_path, data_dir):
    gold = str(data_dir / "conll2003" / "test.txt")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"input": "x", "output": "y"},\n oops]')
    res = runner.invoke(app, ["score", "--gold", gold, "--pred", str(bad)])
    assert res.exit_code == 2 and f"{bad}:2: not valid JSON" in res.output
    pred = data_dir / "llms4ner" / "data" / "conll03_xml_test_alpaca.json"
    res = runner.invoke(app, ["score", "--gold", gold, "--pred", str(pred), "--format", "yaml"])
    assert res.exit_code == 2 and "--format" in res.output and "Traceback" not in res.output


def test_entities_outside_the_gold_text_are_not_credited(tmp_path):
    gold = [Sentence.from_tokens("g0", ["Ann", "met", "Bob"], [(0, 1, "PER"), (2, 3, "PER")])]
    gold_path = tmp_path / "gold.jsonl"
    write_jsonl(gold, gold_path)
    # the model was given (and tagged) a different last word: Bob's tag cannot map onto gold text
    pred = tmp_path / "pred_xml.json"
    pred.write_text(json.dumps([{"instruction": "i", "input": "ann met Rob", "output": "<PER>ann</PER> met <PER>Rob</PER>"}]))
    out = score_files(gold_path, pred, n_resamples=50, allow_mismatch=True)
    # ... and still counts as a prediction (a false positive), so precision is not inflated
    assert out["scores"]["micro"]["tp"] == 1 and out["scores"]["micro"]["n_pred"] == 2
    assert out["pairing"]["text_mismatches"] == 1 and out["pairing"]["problems"]["unmapped_entity"] == 1


def _generated_predictions(records, path, prompt_of=lambda r: r["instruction"] + "\n" + r["input"]):
    """A LLaMA-Factory generated_predictions.jsonl whose predictions are the gold outputs, in a chat template."""
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            prompt = f"<|im_start|>user\n{prompt_of(r)}<|im_end|>\n<|im_start|>assistant\n"
            f.write(json.dumps({"prompt": prompt, "predict": r["output"], "label": r["output"]}) + "\n")


@pytest.mark.parametrize("name", ["conll03_bracketed", "genia_offset_json"])
def test_generated_predictions_of_gold_outputs_score_100(tmp_path, data_dir, conll_test, genia_test, name):
    records = json.loads((data_dir / "llms4ner" / "data" / f"{name}_test_alpaca.json").read_text())
    gold = conll_test if name.startswith("conll") else genia_test
    path = tmp_path / "generated_predictions.jsonl"
    _generated_predictions(records, path)
    paired = pair_predictions(gold.sentences, path, format_name=name.split("_", 1)[1])
    assert paired.kind == "generated_predictions"
    assert score_files_from(paired)["micro"]["f1"] == 1.0
    assert paired.text_checked == len(gold) and paired.text_mismatches == 0


def test_generated_predictions_count_prompts_that_do_not_hold_the_gold_sentence(tmp_path, data_dir, conll_test):
    records = json.loads((data_dir / "llms4ner" / "data" / "conll03_xml_test_alpaca.json").read_text())
    records[0], records[1] = records[1], records[0]  # two sentences out of order
    path = tmp_path / "generated_predictions.jsonl"
    _generated_predictions(records, path)
    paired = pair_predictions(conll_test.sentences, path)
    assert paired.format_name == "xml" and paired.text_mismatches == 2
    scores = score_files_from(paired)["micro"]
    assert scores["tp"] < 5648  # entities of the swapped sentences cannot be credited on the wrong gold text
