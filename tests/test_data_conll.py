"""CoNLL reader/writer: real corpora counts, every tag scheme on hand-made input, round trips, bad input."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from nerprobe.data.conll import decode_tags, encode_tags, read_conll, write_conll
from nerprobe.data.model import Entity, Sentence
from nerprobe.errors import InputError, NerprobeError

CONLL = [("train.txt", 14041, 23499), ("valid.txt", 3250, 5942), ("test.txt", 3453, 5648)]
WNUT = [("wnut17train.conll", 3394, 1975), ("emerging.dev.conll", 1009, 836), ("emerging.test.annotated", 1287, 1079)]


def _by_type(corpus):
    return dict(Counter(e.label for s in corpus for e in s.entities))


@pytest.mark.parametrize("name,n_sent,n_ent", CONLL)
def test_conll2003_published_counts(data_dir, name, n_sent, n_ent):
    counts = json.loads((data_dir / "COUNTS.json").read_text())[f"conll2003/{name}"]
    c = read_conll(data_dir / "conll2003" / name)
    assert len(c) == n_sent
    assert c.n_entities() == n_ent
    assert _by_type(c) == counts["entities_by_type"]
    assert sum(len(s.tokens) for s in c) == counts["tokens"]
    assert len({s.doc_id for s in c}) == counts["documents"]
    assert c.skipped == []


@pytest.mark.parametrize("name,n_sent,n_ent", WNUT)
def test_wnut17_published_counts(data_dir, name, n_sent, n_ent):
    counts = json.loads((data_dir / "COUNTS.json").read_text())[f"wnut17/{name}"]
    c = read_conll(data_dir / "wnut17" / name, scheme="iob2")
    assert (len(c), c.n_entities()) == (n_sent, n_ent)
    assert _by_type(c) == counts["entities_by_type"]
    assert all(s.doc_id is None for s in c)


def test_conll2003_ids_text_and_columns(data_dir):
    c = read_conll(data_dir / "conll2003" / "train.txt")
    s = c[0]
    assert s.id == "train-0" and s.doc_id == "train-doc0"
    assert s.text.startswith("EU rejects German call")
    assert [(s.surface(e), e.label) for e in s.entities][:2] == [("EU", "ORG"), ("German", "MISC")]
    assert s.meta["columns"][0] == ("NNP", "B-NP")
    assert c[-1].id == "train-14040" and c[-1].doc_id == "train-doc945"


def _write(tmp_path, text, name="t.txt"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _spans(corpus):
    return [[(s.surface(e), e.label) for e in s.entities] for s in corpus]


def test_iob1_versus_iob2(tmp_path):
    # IOB1: an I- starts an entity; B- separates two adjacent entities of the same type.
    p = _write(tmp_path, "John I-PER\nSmith I-PER\nMary B-PER\nsaw O\nParis I-LOC\n\n")
    assert _spans(read_conll(p, scheme="iob1")) == [[("John Smith", "PER"), ("Mary", "PER"), ("Paris", "LOC")]]
    with pytest.raises(InputError, match=r"t\.txt:1: I-PER without B-PER"):
        read_conll(p, scheme="iob2")
    # auto decodes B/I files the IOB1 way
    assert _spans(read_conll(p)) == _spans(read_conll(p, scheme="iob1"))
    # the same entities in IOB2
    q = _write(tmp_path, "John B-PER\nSmith I-PER\nMary B-PER\nsaw O\nParis B-LOC\n\n", "q.txt")
    assert _spans(read_conll(q, scheme="bio")) == _spans(read_conll(p, scheme="iob1"))
    # an I- of another type starts a new entity under IOB1
    r = _write(tmp_path, "New I-LOC\nYork I-ORG\n", "r.txt")
    assert _spans(read_conll(r, scheme="iob1")) == [[("New", "LOC"), ("York", "ORG")]]


def test_iobes_and_bilou_singletons_and_multi(tmp_path):
    p = _write(tmp_path, "EU S-ORG\nsays O\nNew B-LOC\nYork I-LOC\nCity E-LOC\nnow O\nKim S-PER\nLee S-PER\n")
    want = [[("EU", "ORG"), ("New York City", "LOC"), ("Kim", "PER"), ("Lee", "PER")]]
    assert _spans(read_conll(p, scheme="iobes")) == want
    assert _spans(read_conll(p)) == want  # auto sees E-/S-
    q = _write(tmp_path, "EU U-ORG\nsays O\nNew B-LOC\nYork I-LOC\nCity L-LOC\nnow O\nKim U-PER\nLee U-PER\n", "q.txt")
    assert _spans(read_conll(q, scheme="bilou")) == want
    assert _spans(read_conll(q)) == want


@pytest.mark.parametrize(
    "scheme,text,line,msg",
    [
        ("iobes", "a B-X\nb O\n", 2, "not closed"),
        ("iobes", "a B-X\n", 1, "not closed"),
        ("iobes", "a O\nb E-X\n", 2, "E-X without B-X"),
        ("bilou", "a B-X\nb I-X\nc U-X\n", 3, "not closed"),
        ("iobes", "a B-X\nb L-X\n", 2, "illegal tag 'L-X'"),
        ("iob2", "a O\nb S-X\n", 2, "illegal tag 'S-X'"),
        ("iob2", "a O\nb X\n", 2, "illegal tag 'X'"),
        ("iob1", "a Q-PER\n", 1, "illegal tag 'Q-PER'"),
        ("iob2", "a B-X\nb I-Y\n", 2, "I-Y without B-Y"),
    ],
)
def test_strict_scheme_errors_name_the_line(tmp_path, scheme, text, line, msg):
    p = _write(tmp_path, "ok O\n\n" + text)
    with pytest.raises(InputError, match=rf"t\.txt:{line + 2}: .*{msg}"):
        read_conll(p, scheme=scheme)


def test_bad_input_errors(tmp_path):
    with pytest.raises(InputError, match=r"t\.txt:3: 3 columns where the file has 2"):
        read_conll(_write(tmp_path, "a O\n\nb c O\n"))
    p = tmp_path / "bin.txt"
    p.write_bytes(b"a O\n\nb\xff O\n")
    with pytest.raises(InputError, match=r"bin\.txt:3: not UTF-8"):
        read_conll(p)
    with pytest.raises(InputError, match=r"e\.txt:1: empty file"):
        read_conll(_write(tmp_path, "", "e.txt"))
    with pytest.raises(InputError, match=r"e2\.txt:1: empty file"):
        read_conll(_write(tmp_path, "\n\n-DOCSTART- O\n\n", "e2.txt"))
    with pytest.raises(NerprobeError, match="unknown tag scheme"):
        read_conll(_write(tmp_path, "a O\n"), scheme="iob3")


def test_lenient_keeps_every_valid_sentence(tmp_path):
    text = "a B-X\nb I-X\n\nc O\nd I-Y\n\ne x O\n\nf S-X\n\ng B-Z\n\n"
    p = tmp_path / "l.txt"
    p.write_bytes(text.encode() + b"h\xff O\n\ni B-W\n")
    c = read_conll(p, scheme="iob2", lenient=True)
    assert [s.id for s in c] == ["l-0", "l-4", "l-6"]
    assert _spans(c) == [[("a b", "X")], [("g", "Z")], [("i", "W")]]
    assert len(c.skipped) == 4
    assert c.skipped[0].startswith(f"{p}:5: ")
    assert any("not UTF-8" in m for m in c.skipped)


def test_tab_separated_and_tag_column(tmp_path):
    p = _write(tmp_path, "New York\tB-LOC\tNNP\nis\tO\tVBZ\n")
    c = read_conll(p, tag_column=1)
    assert c[0].tokens[0].text == "New York"  # tab-separated columns keep spaces inside tokens
    assert _spans(c) == [[("New York", "LOC")]]


def test_encode_decode_every_scheme():
    spans = [(0, 1, "A"), (1, 3, "A"), (4, 5, "B"), (5, 8, "B")]
    assert encode_tags(8, spans, "iob1") == ["I-A", "B-A", "I-A", "O", "I-B", "B-B", "I-B", "I-B"]
    assert encode_tags(8, spans, "bilou") == ["U-A", "B-A", "L-A", "O", "U-B", "B-B", "I-B", "L-B"]
    for scheme in ("iob1", "iob2", "iobes", "bilou"):
        assert decode_tags(encode_tags(8, spans, scheme), scheme) == spans


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "iobes", "bilou"])
def test_conll2003_round_trip_every_scheme(data_dir, tmp_path, scheme):
    c = read_conll(data_dir / "conll2003" / "valid.txt")
    out = tmp_path / "valid.txt"
    write_conll(c, out, scheme=scheme)
    back = read_conll(out, scheme=scheme)
    assert back.sentences == c.sentences
    assert [s.meta["columns"] for s in back] == [s.meta["columns"] for s in c]


def test_wnut_round_trip(data_dir, tmp_path):
    c = read_conll(data_dir / "wnut17" / "emerging.dev.conll")
    out = tmp_path / "emerging.dev.conll"
    write_conll(c, out)
    assert read_conll(out).sentences == c.sentences


def test_write_conll_refuses_nested(tmp_path):
    s = Sentence.from_tokens("n-0", ["IL-2", "gene"], [(0, 2, "DNA"), (0, 1, "protein")])
    with pytest.raises(NerprobeError, match="n-0 has nested or overlapping entities"):
        write_conll([s], tmp_path / "x.txt")
    cut = Sentence("c-0", "ab cd", Sentence.from_tokens("c", ["ab", "cd"]).tokens, (Entity(0, 1, "X"),))
    with pytest.raises(NerprobeError, match="whole tokens"):
        write_conll([cut], tmp_path / "y.txt")


def test_chunk_tag_column_is_refused_with_a_pointer_to_the_tag_column(tmp_path):
    f = tmp_path / "chunks.txt"
    f.write_text("EU NNP B-NP\nrejects VBZ B-VP\nGerman JJ B-NP\ncall NN I-NP\n")
    with pytest.raises(InputError) as info:
        read_conll(f)
    assert info.value.field == "tag_column" and "looks like chunk tags (NP, VP)" in info.value.message
    f.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n")  # the NER column is there: read it
    assert [e.label for e in read_conll(f).sentences[0].entities] == ["ORG"]
    with pytest.raises(InputError, match="chunk tags"):
        read_conll(f, tag_column=2)


def test_cli_points_to_tag_column_and_prints_one_line(tmp_path):
    from typer.testing import CliRunner

    from nerprobe.cli import app

    f = tmp_path / "chunks.txt"
    f.write_text("EU NNP B-NP\nrejects VBZ B-VP\n")
    r = CliRunner().invoke(app, ["data", "stats", str(f)])
    assert r.exit_code == 2 and "--tag-column" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_non_utf8_conll_gives_line_and_column(tmp_path):
    f = tmp_path / "c.txt"
    f.write_bytes(b"EU B-ORG\n\nCaf\xe9 O\n")
    with pytest.raises(InputError) as info:
        read_conll(f)
    assert info.value.line == 3 and "column 4" in info.value.message
