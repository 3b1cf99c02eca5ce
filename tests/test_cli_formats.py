"""``probe formats convert`` through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nerprobe.cli import app
from nerprobe.formats.alpaca import read_alpaca

runner = CliRunner()


def test_convert_conll_test_every_format_and_merge(data_dir, tmp_path):
    (tmp_path / "dataset_info.json").write_text(json.dumps({"keep_me": {"file_name": "k.json"}}))
    src = data_dir / "conll2003/test.txt"
    for fmt in ("bracketed", "json"):
        r = runner.invoke(app, ["formats", "convert", str(src), "--format", fmt, "--out", str(tmp_path)])
        assert r.exit_code == 0, r.output
        assert "wrote 3453 records (5648 entities)" in r.output
    r = runner.invoke(app, ["formats", "convert", str(src), "--format", "xml", "--out", str(tmp_path),
                            "--labels", "conll2003", "--symbolize", "symbols-only", "--name", "so"])
    assert r.exit_code == 0, r.output and "ORG=A" in r.output
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert set(info) == {"keep_me", "test_bracketed_alpaca", "test_json_alpaca", "so"}
    so = json.loads((tmp_path / "so.json").read_text())
    assert so[0]["instruction"] == ("Your task is to do sequence labeling with labels A, B, C, and D.\n"
                                    "Now process the input sentence:")
    assert read_alpaca(tmp_path / "test_bracketed_alpaca.json").n_entities() == 5648


def test_convert_with_label_file(data_dir, tmp_path):
    labels = tmp_path / "wnut.json"
    labels.write_text(json.dumps({"names": ["person", "location", "corporation", "product", "creative-work",
                                            "group"], "definitions": {"person": "A person."}}))
    r = runner.invoke(app, ["formats", "convert", str(data_dir / "wnut17/emerging.dev.conll"), "--format",
                            "offset_json", "--out", str(tmp_path / "o"), "--labels", str(labels)])
    assert r.exit_code == 0, r.output
    recs = json.loads((tmp_path / "o/emerging.dev_offset_json_alpaca.json").read_text())
    assert len(recs) == 1009 and "person: A person.\nlocation\n" in recs[0]["instruction"]


def test_convert_errors_are_one_line(data_dir, tmp_path):
    src = str(data_dir / "conll2003/test.txt")
    for args, msg in [
        (["--format", "yaml"], "--format: unknown format"),
        (["--format", "xml", "--labels", "genia"], "--labels: the corpus uses labels outside"),
        (["--format", "xml", "--labels", "nope"], "--labels:"),
        (["--format", "xml", "--symbolize", "maybe"], "--symbolize:"),
    ]:
        r = runner.invoke(app, ["formats", "convert", src, "--out", str(tmp_path), *args])
        assert r.exit_code == 2 and msg in r.output and "Traceback" not in r.output, r.output
    r = runner.invoke(app, ["formats", "convert", str(tmp_path / "missing.txt"), "--format", "xml",
                            "--out", str(tmp_path)])
    assert r.exit_code == 2 and "missing.txt: no such file" in r.output
    (tmp_path / "dataset_info.json").write_text("{oops")
    r = runner.invoke(app, ["formats", "convert", src, "--format", "xml", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "dataset_info.json:1: not valid JSON" in r.output
