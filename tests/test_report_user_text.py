"""User text in reports is shown as written: ``$...$`` in figure labels is not mathtext, rich markup in console
output is not markup, and run files of the wrong shape are one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app

NAMES = ("m$x^2$[bold]", "n$\\frac{a}{b}$[red]")  # mathtext and rich markup (a name cannot hold "/")


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("user_text")
    for name in NAMES:  # the same format twice: the figures tell the runs apart by their folder names
        r = _invoke("memorization", "--model", "lookup", "--limit", "5", "--no-progress", "--out", root / name)
        assert r.exit_code == 0, r.output
    return root


def test_dollar_signs_and_markup_in_run_names_are_plain_text(runs, tmp_path):
    out = tmp_path / "report"
    r = _invoke("report", *(runs / n for n in NAMES), "--out", out)
    assert r.exit_code == 0, r.output
    for name in NAMES:
        assert name in r.stdout  # printed literally, not parsed as rich markup
    svg = (out / "figures" / "probe-f1.svg").read_text(encoding="utf-8")
    assert "m$x^2$[bold]" in svg and "\\frac{a}{b}" in svg  # drawn as the text itself, not as math


def test_run_files_of_the_wrong_shape_are_one_line_errors(runs, tmp_path):
    import shutil

    run = tmp_path / "legacy"
    shutil.copytree(runs / NAMES[0], run)
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("run", None)  # a run from before runs recorded their state and file hashes
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "scores.json").write_text('{"lookup": "not an object"}', encoding="utf-8")
    r = _invoke("report", run, "--out", tmp_path / "report")
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(run) in lines[0] and "unexpected shape" in lines[0]
