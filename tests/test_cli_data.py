"""``probe data stats`` / ``probe data convert`` through the real CLI: tables, JSON, one-line errors, --lenient."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app
from nerprobe.data.conll import read_conll
from nerprobe.data.jsonl import read_jsonl

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_stats_prints_coverage_table(data_dir):
    r = _run("data", "stats", data_dir / "conll2003" / "train.txt", data_dir / "conll2003" / "test.txt")
    assert r.exit_code == 0, r.output
    assert "14041" in r.output and "3453" in r.output and "mention coverage" in r.output
    assert "same label" in r.output and "unseen" in r.output


def test_stats_json(data_dir):
    r = _run("data", "stats", "--json", data_dir / "conll2003" / "train.txt", data_dir / "conll2003" / "test.txt",
             data_dir / "conll2003" / "valid.txt")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    train = out["files"][str(data_dir / "conll2003" / "train.txt")]
    assert (train["sentences"], train["entities"], train["entities_by_type"]["PER"]) == (14041, 23499, 6600)
    assert [c["test"] for c in out["coverage"]] == [str(data_dir / "conll2003" / f) for f in ("test.txt", "valid.txt")]
    for c in out["coverage"]:
        assert sum(c["counts"].values()) == c["total"]
    assert out["coverage"][0]["total"] == 5648


def test_stats_genia_split(data_dir):
    r = _run("data", "stats", "--json", "--split", "test", data_dir / "genia" / "raw" / "GENIAcorpus3.02.tgz")
    assert r.exit_code == 0, r.output
    (st,) = json.loads(r.stdout)["files"].values()
    assert (st["sentences"], st["entities"]) == (1732, 5119)


BAD = [
    ("cols.txt", b"a O\n\nb c O\n", 3, "3 columns"),
    ("iob2.txt", b"a O\n\nb O\nc I-PER\n", 4, "I-PER without B-PER"),
    ("tag.txt", b"a O\nb X\n", 2, "illegal tag 'X'"),
    ("prefix.txt", b"a O\nb Z-PER\n", 2, "illegal tag 'Z-PER'"),
    ("bytes.txt", b"a O\n\nb\xe9 O\n", 3, "not UTF-8"),
    ("empty.txt", b"", 1, "empty file"),
    ("past.jsonl", b'{"text": "ab", "entities": [[0, 1, "X"]]}\n{"text": "ab", "entities": [[1, 5, "X"]]}\n', 2,
     "outside the sentence text"),
    ("empty.jsonl", b"", 1, "empty file"),
]


@pytest.mark.parametrize("name,content,line,msg", BAD)
def test_bad_input_one_line_error(tmp_path, name, content, line, msg):
    p = tmp_path / name
    p.write_bytes(content)
    extra = ["--scheme", "iob2"] if name == "iob2.txt" else []
    for cmd in (["data", "stats", *extra, p], ["data", "convert", *extra, p, tmp_path / "out.jsonl"]):
        r = _run(*cmd)
        assert r.exit_code == 2, r.output
        err = r.stderr.strip()
        assert len(err.splitlines()) == 1, err
        assert f"{p}:{line}: " in err and msg in err
        assert "Traceback" not in r.output


def test_iobes_unclosed_entity_error(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("a B-X\nb O\n")
    r = _run("data", "stats", "--scheme", "iobes", p)
    assert r.exit_code == 2 and f"{p}:2: " in r.stderr and "not closed" in r.stderr


def test_bad_option_and_missing_file(tmp_path):
    r = _run("data", "convert", tmp_path / "nope.txt", tmp_path / "o.txt")
    assert r.exit_code == 2 and "no such file" in r.stderr
    p = tmp_path / "ok.txt"
    p.write_text("a O\n")
    r = _run("data", "convert", "--to", "csv", p, tmp_path / "o.csv")
    assert r.exit_code == 2 and "--to" in r.stderr


def test_lenient_keeps_valid_sentences_and_says_how_many(tmp_path):
    p = tmp_path / "l.txt"
    p.write_bytes(b"a B-X\n\nb I-Y\n\nc d O\n\ne\xff O\n\nf B-Z\ng I-Z\n\n")
    r = _run("data", "stats", "--json", "--scheme", "iob2", "--lenient", p)
    assert r.exit_code == 0, r.output
    st = json.loads(r.stdout)["files"][str(p)]
    assert (st["sentences"], st["entities"], st["skipped"]) == (2, 2, 3)
    r = _run("data", "stats", "--scheme", "iob2", "--lenient", p)
    assert "skipped 3 bad sentence(s)" in r.stderr
    out = tmp_path / "l.jsonl"
    r = _run("data", "convert", "--scheme", "iob2", "--lenient", p, out)
    assert r.exit_code == 0 and "wrote 2 sentences" in r.stdout
    assert [s.text for s in read_jsonl(out)] == ["a", "f g"]


def test_convert_round_trips(data_dir, tmp_path):
    src = data_dir / "conll2003" / "valid.txt"
    j = tmp_path / "valid.jsonl"
    r = _run("data", "convert", src, j)
    assert r.exit_code == 0, r.output
    assert read_jsonl(j).sentences == read_conll(src).sentences
    c = tmp_path / "valid.txt"
    r = _run("data", "convert", "--to", "conll", "--out-scheme", "bilou", j, c)
    assert r.exit_code == 0, r.output
    assert read_conll(c).sentences == read_conll(src).sentences


def test_convert_nested_to_conll_is_a_clear_error(data_dir, tmp_path):
    r = _run("data", "convert", data_dir / "genia" / "nested_jsonl" / "dev.jsonlines", tmp_path / "g.conll")
    assert r.exit_code == 2
    assert "nested or overlapping" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_data_demo_writes_the_demo_corpus_that_reads_back_identically(tmp_path):
    from nerprobe.data.demo import make_demo_corpus

    r = _run("data", "demo", "--out", tmp_path, "--nested", "--seed", 3)
    assert r.exit_code == 0, r.output
    corpus = make_demo_corpus(seed=3, nested=True)
    for split in ("train", "dev", "test"):
        back = read_jsonl(tmp_path / f"{split}.jsonl").sentences
        expected = getattr(corpus, split)
        assert [(s.text, s.entities) for s in back] == [(s.text, s.entities) for s in expected]
    assert any(not s.is_flat() for s in corpus.train)
    assert "100 sentences whose entities were all seen" in r.output


def test_markup_in_file_names_and_labels_is_printed_literally(tmp_path):
    folder = tmp_path / "[bold]x["  # with the file below, the path holds "[bold]x[/red].jsonl"
    folder.mkdir()
    f = folder / "red].jsonl"
    f.write_text(json.dumps({"text": "EU rejects", "entities": [[0, 2, "[/red]ORG[bold]"]]}) + "\n")
    r = _run("data", "stats", f)
    assert r.exit_code == 0, r.output
    assert str(f) in r.stdout and "[/red]ORG[bold]" in r.stdout
    f.write_text("{oops\n")
    r = _run("data", "stats", f)
    assert r.exit_code == 2 and r.stderr.startswith(f"error: {f}:1: not valid JSON") and "Traceback" not in r.output


def test_convert_never_writes_over_its_input(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps({"text": "EU rejects", "entities": [[0, 2, "ORG"]]}) + "\n")
    before = f.read_bytes()
    for out in (f, tmp_path / "." / "c.jsonl", tmp_path / "sub" / ".." / "c.jsonl"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        r = _run("data", "convert", f, out)
        assert r.exit_code == 2 and "is the input file" in r.stderr, r.output
    assert f.read_bytes() == before
