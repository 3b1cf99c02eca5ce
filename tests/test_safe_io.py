"""nerprobe.safe_io: bounded JSON, UTF-8 errors with line and column, output checks, atomic writes."""

from __future__ import annotations

import json
import os

import pytest

from nerprobe import safe_io
from nerprobe.errors import InputError, NerprobeError


def test_deep_json_is_an_input_error_not_a_recursion_error(tmp_path):
    for text in ("[" * 10_000 + "]" * 10_000, '{"a": ' * 10_000 + "1" + "}" * 10_000):
        f = tmp_path / "deep.json"
        f.write_text(text)
        with pytest.raises(InputError, match="nested deeper"):
            safe_io.read_json(f)


def test_brackets_inside_strings_do_not_count_as_depth(tmp_path):
    f = tmp_path / "s.json"
    value = {"output": "[" * 5000 + "{" * 5000, "x": [[["ok"]]]}
    f.write_text(json.dumps(value))
    assert safe_io.read_json(f) == value


def test_lone_surrogates_are_refused_and_pairs_kept():
    with pytest.raises(safe_io.JSONError, match="lone UTF-16 surrogate"):
        safe_io.loads('{"text": "a\\ud800b"}')
    with pytest.raises(safe_io.JSONError, match="lone UTF-16 surrogate"):
        safe_io.loads('{"\\udc00": 1}')
    assert safe_io.loads('"\\ud83d\\ude00"') == "\U0001F600"


def test_not_utf8_gives_line_and_column(tmp_path):
    f = tmp_path / "a.json"
    f.write_bytes('[{"input": "x"},\n {"input": "Café"}]'.encode("latin-1"))
    with pytest.raises(InputError) as info:
        safe_io.read_json(f)
    assert info.value.line == 2 and "column 16" in info.value.message and "byte 0xe9" in info.value.message


def test_invalid_json_names_the_line(tmp_path):
    f = tmp_path / "a.json"
    f.write_text('{\n"a": 1,\n oops}')
    with pytest.raises(InputError) as info:
        safe_io.read_json(f)
    assert str(info.value).startswith(f"{f}:3: not valid JSON")


def test_a_directory_is_a_directory_and_a_missing_file_is_missing(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        safe_io.read_json(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        safe_io.read_json(tmp_path / "nope.json")


def test_quote_caps_long_values():
    q = safe_io.quote("x" * 1_000_000)
    assert len(q) < 260 and "1000002 chars" in q
    assert safe_io.quote("short") == "'short'"


@pytest.mark.parametrize("name", ["../x", "/abs/x", "..", ".", "a/b", "a\\b", "", "~user"])
def test_a_user_given_name_is_a_file_name(name):
    with pytest.raises(NerprobeError, match="plain file name"):
        safe_io.check_file_name(name, "--name")


def test_check_file_name_accepts_plain_names():
    assert safe_io.check_file_name("conll_xml_alpaca") == "conll_xml_alpaca"


def test_output_never_resolves_to_an_input(tmp_path, monkeypatch):
    inp = tmp_path / "c.jsonl"
    inp.write_text("x")
    (tmp_path / "link.jsonl").symlink_to(inp)
    (tmp_path / "hard.jsonl").hardlink_to(inp)
    monkeypatch.chdir(tmp_path)
    for out in (inp, tmp_path / "sub" / ".." / "c.jsonl", "c.jsonl", tmp_path / "link.jsonl", tmp_path / "hard.jsonl"):
        if "sub" in str(out):
            (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(NerprobeError, match="is the input"):
            safe_io.check_output_file(out, [inp])
    assert safe_io.check_output_file(tmp_path / "other.jsonl", [inp]) == tmp_path / "other.jsonl"


def test_output_file_of_the_wrong_kind(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("x")
    with pytest.raises(NerprobeError, match="is a directory"):
        safe_io.check_output_file(tmp_path)
    with pytest.raises(NerprobeError, match="is a file, not a folder"):
        safe_io.check_output_file(f / "x.jsonl")
    with pytest.raises(NerprobeError, match="must name a file"):
        safe_io.check_output_file(".")
    assert safe_io.check_output_file(tmp_path / "new" / "deeper" / "x.jsonl")  # missing folders are made by the writer
    assert not (tmp_path / "new").exists()


def test_output_dir_checks(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    f = tmp_path / "data" / "f.txt"
    f.write_text("x")
    monkeypatch.chdir(tmp_path)
    for bad, why in ((".", "current folder"), ("/", "current folder or a root"), (f, "is a file"),
                     (tmp_path / "data", "would hold or replace the input")):
        with pytest.raises(NerprobeError, match=why):
            safe_io.check_output_dir(bad, [f])
    user = tmp_path / "notes"
    user.mkdir()
    (user / "n.txt").write_text("mine")
    with pytest.raises(NerprobeError, match="not a nerprobe run folder"):
        safe_io.check_run_dir(user)
    (user / "manifest.json").write_text("{}")
    assert safe_io.check_run_dir(user) == user


def test_atomic_writer_leaves_the_old_file_on_failure(tmp_path):
    out = tmp_path / "o.txt"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with safe_io.atomic_writer(out) as fh:
            fh.write("half of the new")
            raise RuntimeError("disk full")
    assert out.read_text() == "old"
    assert os.listdir(tmp_path) == ["o.txt"]  # no temporary file left behind
    safe_io.atomic_write_text(out, "new")
    assert out.read_text() == "new" and os.listdir(tmp_path) == ["o.txt"]


def test_unwritable_outputs_are_refused(tmp_path, monkeypatch):
    """(Permissions cannot be tested as root, so ``os.access`` stands in for the file system.)"""
    f = tmp_path / "o.jsonl"
    f.write_text("x")
    monkeypatch.setattr(safe_io.os, "access", lambda path, mode: False)
    with pytest.raises(NerprobeError, match="cannot write it"):
        safe_io.check_output_file(f)
    with pytest.raises(NerprobeError, match="cannot write to the folder"):
        safe_io.check_output_file(tmp_path / "new.jsonl")
    with pytest.raises(NerprobeError, match="cannot write to it"):
        safe_io.check_output_dir(tmp_path)


def test_check_new_or_same(tmp_path):
    f = tmp_path / "train.jsonl"
    assert safe_io.check_new_or_same(f, "a\n") == f
    f.write_text("a\n")
    assert safe_io.check_new_or_same(f, "a\n") == f
    with pytest.raises(NerprobeError, match="exists with other content"):
        safe_io.check_new_or_same(f, "b\n")
