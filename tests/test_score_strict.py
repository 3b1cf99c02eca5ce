"""Strict counting (every predicted entity counts), the LLMs4NER study's own count, and pairing by id.

The LLMs4NER-count tests perturb real gold outputs in each of the five formats and derive the expected counts from
the perturbation itself (an entity dropped: one gold item unmatched; relabelled: one more false positive and one
miss; ...), so they check the counting against its definition, not against a second copy of it.
"""

from __future__ import annotations

import json
import random
import re

import pytest
from typer.testing import CliRunner

from nerprobe.analysis.llms4ner import llms4ner_stats
from nerprobe.analysis.pairing import pair_predictions
from nerprobe.analysis.score_files import score_files, score_paired
from nerprobe.analysis.spans import prf
from nerprobe.cli import app
from nerprobe.data.io import read_corpus
from nerprobe.data.jsonl import write_jsonl
from nerprobe.data.model import Entity, Sentence
from nerprobe.formats import get_format
from nerprobe.formats.alpaca import read_alpaca

runner = CliRunner()

JOHN = Sentence("s1", "John works at Google in Paris .", entities=(Entity(0, 4, "PER"),))


def _score_outputs(tmp_path, fmt: str, outputs: list[str], sentence: Sentence = JOHN) -> dict:
    """``probe score --json`` of alpaca records holding ``outputs`` for ``sentence`` (repeated as gold)."""
    gold = tmp_path / "gold.jsonl"
    write_jsonl([Sentence(f"s{i}", sentence.text, entities=sentence.entities) for i in range(len(outputs))], gold)
    pred = tmp_path / f"pred_{fmt}.json"
    pred.write_text(json.dumps([{"instruction": "", "input": sentence.text, "output": o} for o in outputs]))
    res = runner.invoke(app, ["score", "--gold", str(gold), "--pred", str(pred), "--format", fmt, "--json",
                              "--n-resamples", "50"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.mark.parametrize("fmt,output,precision,invented", [
    # invented text: Google is in the sentence (a wrong PER), Bob is not (a PER that has no place): both count
    ("json", '{"PER": ["John", "Google", "Bob"]}', 1 / 3, {}),
    # invented labels get their own rows
    ("xml", "<PER>John</PER> works at <PERSON>Google</PERSON> in <CITY>Paris</CITY> .", 1 / 3,
     {"PERSON": 1, "CITY": 1}),
    ("bracketed", "[John | PER] works at [Google | COMPANY] in Paris .", 1 / 2, {"COMPANY": 1}),
    # repeats beyond the gold's multiplicity
    ("json", '{"PER": ["John", "John"]}', 1 / 2, {}),
    ("xml", "<PER><PER>John</PER></PER> works at Google in Paris .", 1 / 2, {}),
    ("occurrence_index", '[{"text": "John", "label": "PER", "occurrence_index": 1}, '
                         '{"text": "John", "label": "PER", "occurrence_index": 1}]', 1 / 2, {}),
    ("offset_json", '[{"text": "John", "label": "PER", "start": 0, "end": 4}, '
                    '{"text": "Jon", "label": "PER", "start": 0, "end": 3}]', 1 / 2, {}),
])
def test_every_predicted_entity_counts(tmp_path, fmt, output, precision, invented):
    out = _score_outputs(tmp_path, fmt, [output])
    micro = out["scores"]["micro"]
    assert micro["precision"] == pytest.approx(precision)
    assert micro["recall"] == 1.0 and micro["n_gold"] == 1
    for label, n in invented.items():
        assert out["scores"]["per_type"][label]["n_pred"] == n and out["scores"]["per_type"][label]["tp"] == 0
    kinds = out["pairing"]["predicted_entities"]
    assert kinds["unplaced (false positives)"] + kinds["located"] == micro["n_pred"]


def test_the_parse_table_says_what_kind_each_unplaced_prediction_was(tmp_path):
    out = _score_outputs(tmp_path, "json", ['{"PER": ["John", "John", "Bob"], "CITY": ["Paris"]}'])
    kinds = out["pairing"]["predicted_entities"]
    # the pairing reads any label (the gold has no label set to force): Paris as CITY is placed, a false positive
    assert kinds["located"] == 2
    assert kinds["duplicate_entity"] == 1 and kinds["not_in_sentence"] == 1
    assert out["scores"]["per_type"]["CITY"]["n_pred"] == 1 and out["scores"]["micro"]["n_pred"] == 4


# -- the LLMs4NER count -------------------------------------------------------------------------------------------
def _gold(data_dir, name: str):
    return read_alpaca(data_dir / "llms4ner" / "data" / f"{name}_test_alpaca.json").sentences


def _count(fmt: str, pred: list, ref: list, labels) -> tuple[int, int, int]:
    stats, rows = llms4ner_stats(fmt, pred, ref, labels)
    m = prf(stats, rows)["micro"]
    return m["tp"], m["n_pred"], m["n_gold"]


FORMATS = {"xml": "genia_xml", "bracketed": "genia_bracketed", "json": "genia_json",
           "occurrence_index": "genia_occurrence_index", "offset_json": "genia_offset_json"}


@pytest.fixture(scope="module")
def genia_sets(data_dir):
    return {fmt: _gold(data_dir, name) for fmt, name in FORMATS.items()}


def _perturb(sentences, every: int, change):
    """Apply ``change(sentence) -> entities`` to every ``every``-th sentence that has entities; the others keep
    theirs. Returns the new entity lists."""
    out, k = [], 0
    for s in sentences:
        if s.entities:
            k += 1
        out.append(change(s) if s.entities and k % every == 0 else list(s.entities))
    return out


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_llms4ner_count_follows_the_perturbation(genia_sets, fmt):
    sentences = genia_sets[fmt]
    f = get_format(fmt)
    labels = sorted({e.label for s in sentences for e in s.entities})
    refs = [f.render(s, labels) for s in sentences]
    n_gold = sum(len(s.entities) for s in sentences)

    def render(ents_per_sentence):
        return [f.render(s.with_entities(ents), labels) for s, ents in zip(sentences, ents_per_sentence)]

    assert _count(fmt, refs, refs, labels) == (n_gold, n_gold, n_gold)
    # dropped: the first entity of every 3rd sentence
    dropped = _perturb(sentences, 3, lambda s: list(s.entities[1:]))
    k = n_gold - sum(map(len, dropped))
    assert _count(fmt, render(dropped), refs, labels) == (n_gold - k, n_gold - k, n_gold)
    # relabelled: the last entity of every 4th sentence gets another label of the set (one span, one label kept)
    def relabel(s):
        e = s.entities[-1]
        others = [x for x in labels if x != e.label and Entity(e.start, e.end, x) not in s.entities]
        return list(s.entities[:-1]) + [Entity(e.start, e.end, others[0])]
    relabelled = _perturb(sentences, 4, relabel)
    k = sum(1 for a, s in zip(relabelled, sentences) if set(a) != set(s.entities))
    assert _count(fmt, render(relabelled), refs, labels) == (n_gold - k, n_gold, n_gold)
    # added: every 5th sentence gains its first word as a new entity where no entity starts or ends there
    def add(s):
        first = s.text.split(" ", 1)[0]
        ent = Entity(0, len(first), labels[0])
        clash = any(e.start < ent.end and ent.start < e.end for e in s.entities) or any(c in first for c in "[]|<>")
        return list(s.entities) + ([] if clash else [ent])
    added = _perturb(sentences, 5, add)
    k = sum(map(len, added)) - n_gold
    assert k > 0
    assert _count(fmt, render(added), refs, labels) == (n_gold, n_gold + k, n_gold)


@pytest.mark.parametrize("fmt", ["xml", "bracketed"])
def test_llms4ner_inline_count_by_text_when_the_sentence_was_rewritten(genia_sets, fmt):
    """The study compares (label, text) when the output's plain text differs from the reference's: an output that
    rewrote words outside the entities keeps every entity; one that dropped the sentence keeps them too."""
    sentences = genia_sets[fmt]
    f = get_format(fmt)
    labels = sorted({e.label for s in sentences for e in s.entities})
    refs = [f.render(s, labels) for s in sentences]
    n_gold = sum(len(s.entities) for s in sentences)
    rewritten = [r + " (rewritten)" for r in refs]
    assert _count(fmt, rewritten, refs, labels) == (n_gold, n_gold, n_gold)
    only_entities = [" ".join(f"<{e.label}>{s.surface(e)}</{e.label}>" if fmt == "xml" else
                              f"[{s.surface(e)} | {e.label}]" for e in s.entities if not _nested(e, s))
                     for s in sentences]
    n_flat = sum(1 for s in sentences for e in s.entities if not _nested(e, s))
    tp, n_pred, _ = _count(fmt, only_entities, refs, labels)
    assert n_pred == n_flat and tp == n_flat  # positions are gone, texts and labels still match


def _nested(e: Entity, s: Sentence) -> bool:
    return any(o != e and (o.start <= e.start and e.end <= o.end or e.start <= o.start and o.end <= e.end)
               for o in s.entities)


def test_llms4ner_count_of_invented_labels_and_repeats():
    ref_xml = "<PER>John</PER> works at <ORG>Google</ORG> in <LOC>Paris</LOC> ."
    labels = ["LOC", "ORG", "PER"]
    # an XML tag outside the label set is text: the plain texts differ, so the rest is compared by text
    assert _count("xml", ["<PER>John</PER> works at <CITY>Google</CITY> in <LOC>Paris</LOC> ."], [ref_xml],
                  labels) == (2, 2, 3)
    assert _count("xml", ["<PER><PER>John</PER></PER> works at <ORG>Google</ORG> in <LOC>Paris</LOC> ."],
                  [ref_xml], labels) == (3, 4, 3)
    ref_br = "[John | PER] works at [Google | ORG] in [Paris | LOC] ."
    assert _count("bracketed", ["[John | PER] works at [Google | CITY] in [Paris | LOC] ."], [ref_br],
                  labels) == (2, 3, 3)
    ref_json = '{"PER": ["John"], "ORG": ["Google"], "LOC": ["Paris"]}'
    assert _count("json", ['{"PER": ["John", "John", "Bob"], "CITY": ["Paris"]}'], [ref_json], labels) == (1, 4, 3)
    assert _count("json", ["not json"], [ref_json], labels) == (0, 0, 3)
    ref_occ = '[{"text": "John", "label": "PER", "occurrence_index": 1}]'
    assert _count("occurrence_index", ['[{"text": "John", "label": "PER", "occurrence_index": 1}, '
                                       '{"text": "John", "label": "PER", "occurrence_index": "1"}]'],
                  [ref_occ], labels) == (1, 2, 1)
    # one index that is not an integer empties the sentence, as in the study's scripts
    assert _count("occurrence_index", ['[{"text": "John", "label": "PER", "occurrence_index": 1}, '
                                       '{"text": "Bob", "label": "PER", "occurrence_index": "first"}]'],
                  [ref_occ], labels) == (0, 0, 1)
    ref_off = '[{"text": "John", "label": "PER", "start": 0, "end": 4}]'
    assert _count("offset_json", ['[{"text": "John", "label": "PER", "start": 1, "end": 5}]'], [ref_off],
                  labels) == (0, 1, 1)


@pytest.mark.parametrize("name", list(FORMATS.values()) + ["conll03_xml", "conll03_bracketed",
                                                           "conll2003-se_xml", "conll2003-so_xml"])
def test_llms4ner_gold_files_score_100_in_both_modes(data_dir, name):
    path = data_dir / "llms4ner" / "data" / f"{name}_test_alpaca.json"
    for match in ("strict", "llms4ner"):
        out = score_files(path, path, match=match, n_resamples=50)
        assert out["scores"]["micro"]["f1"] == 1.0, (name, match)
        assert out["match"] == ("llms4ner" if match == "llms4ner" else "text" if name == "genia_json" else "exact")


def test_llms4ner_count_against_a_corpus_renders_the_reference_on_the_models_input(data_dir):
    """With CoNLL-2003 as gold (tokens joined by spaces) and the study's re-cased, detokenized inputs, the reference
    is rendered on the text the model was given, so the study's own outputs still count 100."""
    gold = data_dir / "conll2003" / "test.txt"
    for name in ("conll03_xml", "conll03_bracketed"):
        out = score_files(gold, data_dir / "llms4ner" / "data" / f"{name}_test_alpaca.json", match="llms4ner",
                          n_resamples=50)
        assert out["scores"]["micro"]["f1"] == 1.0 and out["scores"]["micro"]["n_gold"] == 5648


def test_llms4ner_count_needs_model_outputs(tmp_path, data_dir):
    pred = tmp_path / "pred.jsonl"
    write_jsonl([JOHN], pred)
    gold = tmp_path / "gold.jsonl"
    write_jsonl([JOHN], gold)
    res = runner.invoke(app, ["score", "--gold", str(gold), "--pred", str(pred), "--match", "llms4ner"])
    assert res.exit_code == 2 and "output strings" in res.output
    res = runner.invoke(app, ["score", "--gold", str(gold), "--pred", str(pred), "--match", "loose"])
    assert res.exit_code == 2 and "--match" in res.output


# -- pairing --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def conll_test(data_dir):
    return read_corpus(data_dir / "conll2003" / "test.txt")


def test_shuffled_predictions_with_ids_pair_by_id(tmp_path, conll_test, data_dir):
    shuffled = list(conll_test.sentences)
    random.Random(0).shuffle(shuffled)
    path = tmp_path / "pred.jsonl"
    write_jsonl(shuffled, path)
    out = score_files(data_dir / "conll2003" / "test.txt", path, n_resamples=50)
    assert out["scores"]["micro"]["f1"] == 1.0 and out["pairing"]["paired_by"] == "id"
    write_jsonl(shuffled[:100], path)  # some ids: scored on those, with a note
    out = score_files(data_dir / "conll2003" / "test.txt", path, n_resamples=50)
    assert out["pairing"]["n_sentences"] == 100 and out["scores"]["micro"]["f1"] == 1.0
    assert out["pairing"]["notes"] == ["scored the 100 of 3453 gold sentences that have a prediction"]


def test_shuffled_predictions_without_ids_are_refused_unless_allowed(tmp_path, data_dir):
    records = json.loads((data_dir / "llms4ner" / "data" / "conll03_xml_test_alpaca.json").read_text())
    random.Random(0).shuffle(records)
    path = tmp_path / "shuffled_xml.json"
    path.write_text(json.dumps(records))
    gold = str(data_dir / "conll2003" / "test.txt")
    res = runner.invoke(app, ["score", "--gold", gold, "--pred", str(path)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    line = res.output.strip()
    assert "\n" not in line and str(path) in line and "of 3453 predictions were made for another text" in line
    assert "first: record 0" in line and "--allow-mismatch" in line
    res = runner.invoke(app, ["score", "--gold", gold, "--pred", str(path), "--allow-mismatch", "--json",
                              "--n-resamples", "50"])
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert out["scores"]["micro"]["f1"] < 0.1 and out["pairing"]["text_mismatches"] > 3000


def test_ids_that_are_not_gold_ids_or_repeat_are_errors(tmp_path, conll_test, data_dir):
    gold = data_dir / "conll2003" / "test.txt"
    path = tmp_path / "pred.jsonl"
    sents = list(conll_test.sentences[:3])
    write_jsonl(sents + [Sentence("elsewhere-1", "x")], path)
    with pytest.raises(Exception, match="1 of 4 prediction ids are not ids of the gold sentences"):
        score_files(gold, path, n_resamples=50)
    write_jsonl(sents + sents[:1], path)
    with pytest.raises(Exception, match="repeats"):
        score_files(gold, path, n_resamples=50)


def test_score_paired_rejects_an_unknown_match(tmp_path, conll_test):
    path = tmp_path / "pred.jsonl"
    write_jsonl(conll_test.sentences[:5], path)
    paired = pair_predictions(conll_test.sentences[:5], path)
    with pytest.raises(ValueError, match="unknown match"):
        score_paired(paired, match="fuzzy")


def test_no_entity_anywhere_is_not_applicable_not_zero(tmp_path):
    path = tmp_path / "empty.jsonl"
    write_jsonl([Sentence("a", "x y")], path)
    out = score_files(path, path, n_resamples=50)
    assert out["micro_f1_ci"] is None
    res = runner.invoke(app, ["score", "--gold", str(path), "--pred", str(path)])
    assert res.exit_code == 0, res.output
    assert re.search(r"│ micro │ +n/a │ +n/a │ +n/a │", res.output)


def test_a_negative_seed_is_a_one_line_error(tmp_path):
    path = tmp_path / "g.jsonl"
    write_jsonl([JOHN], path)
    res = runner.invoke(app, ["score", "--gold", str(path), "--pred", str(path), "--seed", "-1"])
    assert res.exit_code == 2 and "--seed: must be a non-negative integer" in res.output
