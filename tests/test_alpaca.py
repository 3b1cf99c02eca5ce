"""Alpaca files: instructions reproduce the study's, write/read round trip, dataset_info merge, predictions."""

from __future__ import annotations

import json

import pytest

from nerprobe.data.model import Entity, Sentence
from nerprobe.errors import InputError
from nerprobe.formats import FORMAT_NAMES
from nerprobe.formats.alpaca import read_alpaca, write_alpaca
from nerprobe.formats.labels import LABEL_SETS, LabelSet, label_set_for, load_label_set
from nerprobe.formats.predictions import read_predictions
from nerprobe.formats.prompts import instruction, sft_record

STUDY = [
    ("conll03_bracketed_test", "bracketed", "conll2003", None),
    ("conll03_xml_test", "xml", "conll2003", None),
    ("conll2003-se_xml_test", "xml", "conll2003", True),
    ("conll2003-so_xml_test", "xml", "conll2003", False),
] + [(f"genia_{f}_dev", f, "genia", None) for f in FORMAT_NAMES]


@pytest.mark.parametrize("stem,fmt,labels,symbolic", STUDY)
def test_instruction_reproduces_the_study(data_dir, stem, fmt, labels, symbolic):
    records = json.loads((data_dir / f"llms4ner/data/{stem}_alpaca.json").read_text())
    ls = LABEL_SETS[labels]
    if symbolic is not None:
        ls, mapping = ls.symbolized(with_definitions=symbolic)
        assert mapping == {"ORG": "A", "PER": "B", "LOC": "C", "MISC": "D"}
    assert instruction(fmt, ls) == records[0]["instruction"]


@pytest.mark.parametrize("stem,fmt,labels,symbolic", STUDY)
def test_sft_records_match_study_outputs_where_inputs_agree(data_dir, stem, fmt, labels, symbolic):
    """Rendering the gold read from a study file gives the study's output, except known study quirks."""
    path = data_dir / f"llms4ner/data/{stem}_alpaca.json"
    records = json.loads(path.read_text())
    corpus = read_alpaca(path)
    ls = label_set_for(corpus.labels) if symbolic is None else LabelSet(("A", "B", "C", "D"))
    same = sum(sft_record(s, fmt, ls)["output"] == r["output"] for s, r in zip(corpus, records))
    # differences: [C$| MISC] spacing, order of two labels on one span (the study is inconsistent), spaces the
    # study dropped inside literal brackets
    assert same >= 0.98 * len(records)


def test_write_then_read_alpaca_and_dataset_info_merge(tmp_path):
    s = Sentence("a", "Japan beat [ China ] .", entities=(Entity(0, 5, "LOC"), Entity(13, 18, "LOC"),
                                                        Entity(13, 18, "PER")))
    (tmp_path / "dataset_info.json").write_text(json.dumps({"other": {"file_name": "x.json"}}))
    for fmt in FORMAT_NAMES:
        path = tmp_path / f"demo_{fmt}_alpaca.json"
        write_alpaca([s], path, fmt, LABEL_SETS["conll2003"])
        back = read_alpaca(path)
        assert back[0].entities == s.entities and back[0].text == s.text
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info["other"] == {"file_name": "x.json"}
    assert info["demo_xml_alpaca"]["file_name"] == "demo_xml_alpaca.json"
    assert info["demo_xml_alpaca"]["formatting"] == "alpaca"
    assert len(info) == 1 + len(FORMAT_NAMES)


def test_read_alpaca_errors_name_file_and_line(tmp_path):
    path = tmp_path / "broken_xml_alpaca.json"
    recs = [{"instruction": "i", "input": "a b", "output": "<LOC>a</LOC> b"},
            {"instruction": "i", "input": "a b", "output": "<LOC>a b"},
            {"instruction": "i", "input": 3}]
    path.write_text(json.dumps(recs, indent=2))
    with pytest.raises(InputError, match=r"broken_xml_alpaca.json:7: record 1: .*unbalanced_tag"):
        read_alpaca(path)
    c = read_alpaca(path, lenient=True)
    assert len(c) == 1 and len(c.skipped) == 2 and ":12: record 2" in c.skipped[1]
    (tmp_path / "bad.json").write_text("[{")
    with pytest.raises(InputError, match="bad.json:1: not valid JSON"):
        read_alpaca(tmp_path / "bad.json", "xml")


def test_write_alpaca_refuses_crossing_spans_inline(tmp_path):
    s = Sentence("x", "a b c", entities=(Entity(0, 3, "LOC"), Entity(2, 5, "PER")))
    from nerprobe.errors import NerprobeError

    with pytest.raises(NerprobeError, match="cross"):
        write_alpaca([s], tmp_path / "x.json", "xml", LABEL_SETS["conll2003"])
    write_alpaca([s], tmp_path / "y.json", "offset_json", LABEL_SETS["conll2003"])
    assert read_alpaca(tmp_path / "y.json", "offset_json")[0].entities == s.entities


def test_label_set_files(tmp_path):
    p = tmp_path / "labels.json"
    p.write_text(json.dumps({"names": ["drug", "disease"], "definitions": {"drug": "A medicine."}}))
    ls = load_label_set(p)
    assert ls.names == ("drug", "disease")
    assert "drug: A medicine.\ndisease\n" in instruction("xml", ls)
    sym, mapping = ls.symbolized(with_definitions=True)
    assert sym.names == ("A", "B") and mapping == {"drug": "A", "disease": "B"}
    assert instruction("bracketed", sym).startswith("Your task is to do sequence labeling with labels A and B.\n")
    p.write_text('{"names": "drug"}')
    with pytest.raises(InputError, match="labels.json"):
        load_label_set(p)
    assert label_set_for(["PER", "LOC", "ORG", "MISC"]) is LABEL_SETS["conll2003"]


def test_read_predictions(tmp_path):
    p = tmp_path / "generated_predictions.jsonl"
    p.write_text('{"prompt": "p1", "predict": "<LOC>a</LOC>", "label": "<LOC>a</LOC>"}\n\n'
                 '{"id": "s-1", "prompt": "p2", "output": "b"}\n')
    recs = read_predictions(p)
    assert [(r.prompt, r.predict, r.label, r.id) for r in recs] == [
        ("p1", "<LOC>a</LOC>", "<LOC>a</LOC>", None), ("p2", "b", None, "s-1")]
    p.write_text('{"prompt": "p1", "predict": "x"}\n{"prompt": "p2"}\n')
    with pytest.raises(InputError, match=r"generated_predictions.jsonl:2: missing string \"predict\""):
        read_predictions(p)
    p.write_text('{"prompt": "p1", "predict": "x"}\nnot json\n')
    with pytest.raises(InputError, match=r"generated_predictions.jsonl:2: not valid JSON"):
        read_predictions(p)
