"""JSONL: nested token JSONL of GENIA (published counts), nerprobe JSONL round trips, bad records, io dispatch."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from nerprobe.data.conll import read_conll
from nerprobe.data.io import detect_kind, read_corpus
from nerprobe.data.jsonl import read_jsonl, write_jsonl
from nerprobe.data.model import Entity, Sentence, Token
from nerprobe.errors import InputError


@pytest.mark.parametrize("split,n_sent,n_ent", [("dev", 1765, 4714), ("test", 1732, 5119)])
def test_genia_nested_jsonl_published_counts(data_dir, split, n_sent, n_ent):
    counts = json.loads((data_dir / "COUNTS.json").read_text())[f"genia/nested_jsonl/{split}.jsonlines"]
    c = read_jsonl(data_dir / "genia" / "nested_jsonl" / f"{split}.jsonlines")
    assert (len(c), c.n_entities()) == (n_sent, n_ent)
    assert dict(Counter(e.label for s in c for e in s.entities)) == counts["entities_by_type"]
    assert len({s.doc_id for s in c}) == counts["documents"]
    # the mention text of the source agrees with the character span built from the token span
    first = json.loads((data_dir / "genia" / "nested_jsonl" / f"{split}.jsonlines").open().readline())
    assert c[0].id == first["sent_id"]
    assert sorted(c[0].surface(e) for e in c[0].entities) == sorted(m["text"] for m in first["entity_mentions"])


def test_same_span_two_labels_kept_and_exact_duplicates_collapse(tmp_path):
    p = tmp_path / "n.jsonl"
    rec = {"tokens": ["IL-2", "gene"], "entity_mentions": [
        {"start": 0, "end": 2, "entity_type": "DNA"}, {"start": 0, "end": 2, "entity_type": "protein"},
        {"start": 0, "end": 2, "entity_type": "DNA"}, {"start": 0, "end": 1, "entity_type": "protein"}]}
    p.write_text(json.dumps(rec) + "\n")
    s = read_jsonl(p)[0]
    assert s.entities == (Entity(0, 4, "protein"), Entity(0, 9, "DNA"), Entity(0, 9, "protein"))
    assert s.id == "n-0" and s.nesting_depth() == 2


def test_round_trip_real_corpora(data_dir, tmp_path):
    for src in (data_dir / "genia" / "nested_jsonl" / "test.jsonlines", data_dir / "conll2003" / "test.txt"):
        c = read_corpus(src)
        out = tmp_path / "rt.jsonl"
        write_jsonl(c, out)
        back = read_jsonl(out)
        assert back.sentences == c.sentences
        assert [s.meta for s in back] == [json.loads(json.dumps(s.meta)) for s in c]


def test_nerprobe_jsonl_keeps_free_text(tmp_path):
    s = Sentence("x", "Hello,  wörld!", (Token("Hello", 0, 5), Token(",", 5, 6), Token("wörld", 8, 13)),
                 (Entity(8, 13, "LOC"), Entity(0, 5, "PER")), doc_id=None, meta={"k": 1})
    write_jsonl([s], tmp_path / "a.jsonl")
    (back,) = read_jsonl(tmp_path / "a.jsonl").sentences
    assert back == s and back.meta == {"k": 1} and back.doc_id is None


@pytest.mark.parametrize(
    "line,msg",
    [
        ('{"id": "a", "text": "abc", "entities": [[1, 9, "X"]]}', "outside the sentence text of length 3"),
        ('{"tokens": ["a", "b"], "entity_mentions": [{"start": 1, "end": 3, "entity_type": "X"}]}',
         "outside the sentence of 2 tokens"),
        ('{"tokens": ["a"], "entities": [{"start": 0, "end": 1}]}', "no entity_type"),
        ('{"text": "abc", "entities": [[0, 1]]}', "not \\[start, end, label\\]"),
        ('{"id": "a", "text": ', "not valid JSON"),
        ('["a"]', "must be a JSON object"),
        ('{"foo": 1}', "neither 'text'"),
    ],
)
def test_bad_records_name_the_line(tmp_path, line, msg):
    p = tmp_path / "b.jsonl"
    p.write_text('{"id": "ok", "text": "fine", "entities": [[0, 4, "X"]]}\n\n' + line + "\n")
    with pytest.raises(InputError, match=rf"b\.jsonl:3: .*{msg}"):
        read_jsonl(p)
    c = read_jsonl(p, lenient=True)
    assert [s.id for s in c] == ["ok"] and len(c.skipped) == 1 and c.skipped[0].startswith(f"{p}:3: ")


def test_non_utf8_and_empty(tmp_path):
    p = tmp_path / "u.jsonl"
    p.write_bytes(b'{"text": "a\xff"}\n{"text": "b"}\n')
    with pytest.raises(InputError, match=r"u\.jsonl:1: not UTF-8"):
        read_jsonl(p)
    assert [s.text for s in read_jsonl(p, lenient=True)] == ["b"]
    e = tmp_path / "e.jsonl"
    e.write_text("\n  \n")
    with pytest.raises(InputError, match=r"e\.jsonl:1: empty file"):
        read_jsonl(e)


def test_read_corpus_detects_kind(data_dir, tmp_path):
    assert detect_kind(data_dir / "conll2003" / "test.txt") == "conll"
    assert detect_kind(data_dir / "genia" / "nested_jsonl" / "dev.jsonlines") == "jsonl"
    assert detect_kind(data_dir / "genia" / "raw" / "GENIAcorpus3.02.tgz") == "genia"
    assert detect_kind(data_dir / "llms4ner" / "data" / "genia_xml_test_alpaca.json") == "alpaca"
    j = tmp_path / "x.json"
    j.write_text('{"text": "a b", "entities": [[0, 1, "X"]]}\n')
    assert detect_kind(j) == "jsonl" and read_corpus(j)[0].entities == (Entity(0, 1, "X"),)
    assert read_corpus(data_dir / "wnut17" / "emerging.dev.conll").sentences == read_conll(
        data_dir / "wnut17" / "emerging.dev.conll").sentences
    with pytest.raises(InputError, match="no such file"):
        read_corpus(tmp_path / "missing.txt")


# ---- silently wrong reads that are errors now (issue 11) ------------------------------------------------------------


@pytest.mark.parametrize("record, msg", [
    ({"tokens": "ab"}, "tokens must be a list of strings, found str 'ab'"),
    ({"text": "ab", "tokens": "ab"}, "tokens must be a list of [text, start, end]"),
    ({"tokens": ["a", "b"], "entity_mentions": [{"start": 0, "end": 1, "entity_type": None}]}, "has label None"),
    ({"text": "ab", "entities": [[0, 1, None]]}, "has label None"),
    ({"text": "ab", "entities": [[0, 1, 7]]}, "has label 7"),
    ({"text": "ab", "entities": [[False, True, "X"]]}, "needs integer start and end"),
    ({"id": [1, 2], "text": "ab"}, "id must be a string or an integer"),
])
def test_wrong_types_are_errors_not_guesses(tmp_path, record, msg):
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps(record) + "\n")
    with pytest.raises(InputError) as info:
        read_jsonl(f)
    assert info.value.line == 1 and msg in info.value.message


def test_jsonl_errors_give_line_and_column_and_cap_the_quote(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_bytes(b'{"text": "ab"}\n{"text": "Caf\xe9"}\n')
    with pytest.raises(InputError) as info:
        read_jsonl(f)
    assert info.value.line == 2 and "column 14" in info.value.message
    f.write_text(json.dumps({"tokens": "x" * 1_000_000}) + "\n")
    with pytest.raises(InputError) as info:
        read_jsonl(f)
    assert len(str(info.value)) < 400
    f.write_text('{"text": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
    with pytest.raises(InputError, match="nested deeper"):
        read_jsonl(f)


def test_write_jsonl_is_atomic(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text("old\n")

    def sentences():
        yield Sentence("a", "ab", (Token("ab", 0, 2),), ())
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl(sentences(), f)
    assert f.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["c.jsonl"]
