"""probe demo at a reduced size, end to end on the real tiny model: the report's figures are valid images, its LaTeX
tables compile, its page renders in headless chromium with the figures on screen, and the findings are the runs'.

The tiny model is built and cached the first time (``$NERPROBE_CACHE``, default ~/.cache/nerprobe), so the first run
on a fresh machine takes minutes; later runs reuse it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app
from test_report_checks import (
    check_image, compile_latex, console_messages, count_colour_pixels, pixel_std, screenshot,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("demo")
    res = CliRunner().invoke(app, ["demo", "--quick", "--size", "8", "--no-progress", "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, res.output, json.loads(res.stdout)


def test_json_says_where_the_report_runs_and_adapters_are(demo):
    out, text, obj = demo
    assert obj["report"] == str(out / "report" / "index.html") and (out / "report" / "index.html").is_file()
    assert obj["out"] == str(out) and obj["runs"] and all((out / "runs") in Path(r).parents for r in obj["runs"])
    assert all(Path(r, "manifest.json").is_file() for r in obj["runs"])
    assert set(obj["adapters"]) == {"memorizer", "reader", "symbols"}
    assert all(Path(a, "adapter_config.json").is_file() for a in obj["adapters"].values())
    assert obj["timings"] and all(isinstance(v, (int, float)) and v >= 0 for v in obj["timings"].values())
    for step in ("[1/7] demo corpus", "[2/7] tiny base model", "[3/7] LoRA adapter for the xml format",
                 "[4/7] reader and symbols adapters for the xml format", "[5/7] probe memorization, xml",
                 "[6/7] probe retention", "[7/7] probe report"):
        assert step in text
    # the three adapters of one base are built (and cached) for the memorization run to use
    assert "reader: " in text and "adapter-xml-reader" in text and "adapter-xml-symbols" in text
    for step in ("[1/7] demo corpus", "[2/7] tiny base model", "[3/7] LoRA adapter for the xml format",
                 "[4/7] reader and symbols adapters for the xml format", "[5/7] probe memorization, xml",
                 "[6/7] probe retention", "[7/7] probe report"):
        assert step in text
    # the three adapters of one base are built (and cached) for the memorization run to use
    assert "reader: " in text and "adapter-xml-reader" in text and "adapter-xml-symbols" in text


def test_runs_are_real_runs_of_the_tiny_model(demo):
    out, _, _ = demo
    mem = json.loads((out / "runs" / "memorization-xml" / "manifest.json").read_text())
    assert set(mem["predictors"]) >= {"model", "reader", "baseline", "lookup", "context-only"}
    assert mem["predictors"]["model"]["spec"]["adapter"].endswith("adapter-xml")
    # issue 14: the memorizer (``model``) and the reader side by side, with their declared between-subjects tests
    assert mem["subjects"] == ["model", "reader"]
    assert mem["predictors"]["reader"]["spec"]["adapter"].endswith("adapter-xml-reader")
    assert "reader vs model: seen_unseen_gap" in mem["family"]
    ret = json.loads((out / "runs" / "retention" / "manifest.json").read_text())
    # the same adapter in both runs: the report can put learning against forgetting
    assert mem["predictors"]["model"]["fingerprint"] in ret["fingerprints"].values()
    gens = (out / "runs" / "memorization-xml" / "generations" / "model" / "coverage.jsonl").read_text().splitlines()
    assert len(gens) == 8 and all(json.loads(g)["output"] is not None for g in gens)


def test_every_figure_is_a_valid_image(demo):
    out, _, _ = demo
    figures = out / "report" / "figures"
    names = {p.stem for p in figures.iterdir()}
    # one format in --quick: every figure but the format comparison
    assert names == {"indicators", "descriptive-indicators", "probe-f1", "strata-recall", "type-swaps",
                     "pair-lookup", "retention-forest", "learning-forgetting"}
    for name in names:
        for ext in ("pdf", "svg", "png"):
            check_image(figures / f"{name}.{ext}")
    md = (out / "report" / "report.md").read_text()
    assert "not drawn: formats (needs memorization runs in at least two output formats)" in md


def test_latex_tables_compile(demo):
    out, _, _ = demo
    tables = out / "report" / "tables"
    assert (tables / "learning-forgetting.tex").is_file() and (tables / "retention.tex").is_file()
    compile_latex(tables / "tables.tex")


def test_findings_state_the_runs_numbers_with_ci_and_test(demo):
    out, _, _ = demo
    sc = json.loads((out / "runs" / "memorization-xml" / "scores.json").read_text())

    def shown(d):
        return f"{round(100 * d['value'], 1) + 0.0:.1f} [{round(100 * d['low'], 1) + 0.0:.1f}, " \
               f"{round(100 * d['high'], 1) + 0.0:.1f}]"

    page = (out / "report" / "index.html").read_text()
    assert f"scores {shown(sc['model']['coverage']['f1'])} F1 and its base {shown(sc['baseline']['coverage']['f1'])}" \
        in page
    assert "real measurements of nerprobe&#39;s tiny demo model" in page


def test_the_demo_report_shows_the_model_beside_the_four_controls(demo):
    """Issue 10: the tuned tiny model's indicators next to the lookup memorizer, context-only, form-only and
    do-nothing controls, each with its CI or n/a."""
    out, _, _ = demo
    stats = json.loads((out / "runs" / "memorization-xml" / "stats.json").read_text())
    assert {"model", "baseline", "lookup", "context-only", "form-only", "do-nothing"} <= set(stats["indicators"])
    assert all(e["value"] is None for e in stats["indicators"]["do-nothing"].values())
    page = (out / "report" / "index.html").read_text()
    for name in ("lookup", "context-only", "form-only", "do-nothing"):
        assert name in page


def test_report_renders_in_headless_chromium(demo, tmp_path):
    out, _, _ = demo
    png = tmp_path / "demo.png"
    log = screenshot(out / "report" / "index.html", png, tmp_path / "profile", size="1200,4000")
    assert console_messages(log) == []
    assert pixel_std(png) > 20
    assert count_colour_pixels(png) > 5000
