"""probe report on real run directories: the lookup-baseline memorization runs (two formats) and a retention run of a
tiny random model, built by the real commands. Figures are valid images, LaTeX compiles, every number cites a
signature, untrusted model outputs are escaped in the HTML, and the page renders in headless chromium."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app
from test_report_checks import (
    check_image, compile_latex, console_messages, count_colour_pixels, pixel_std, screenshot, scroll_width,
)

EVIL = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "</td></tr></table><h1>owned</h1>"]


def _cli(args):
    res = CliRunner().invoke(app, args)
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_runs")
    for fmt in ("xml", "bracketed"):
        code, out = _cli(["memorization", "--model", "lookup", "--limit", "20", "--format", fmt, "--no-progress",
                          "--out", str(root / f"mem-{fmt}")])
        assert code == 0, out
    # untrusted model output: put hostile strings into the saved generations (the report shows them)
    gen = root / "mem-xml" / "generations" / "lookup" / "coverage.jsonl"
    lines = gen.read_text(encoding="utf-8").splitlines()
    for i, evil in enumerate(EVIL):
        rec = json.loads(lines[i])
        rec["output"] = evil
        lines[i] = json.dumps(rec)
    gen.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # as if the model had written them: the run records the edited file's hash (else report refuses a changed run)
    from nerprobe.provenance import finish_run

    run_dir = root / "mem-xml"
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    finish_run(run_dir, manifest, manifest["run"]["parts"], command=manifest["command"])
    return root


@pytest.fixture(scope="module")
def retention_run(tmp_path_factory, data_dir):
    sys.path.insert(0, str(Path(__file__).parent))
    from model_fixtures import make_random_tiny_model
    from nerprobe.models.loading import load_model
    from nerprobe.retention.harness import EvalSettings
    from nerprobe.retention.run import plan_retention, run_retention
    from test_retention_run import _adapter

    root = tmp_path_factory.mktemp("report_retention")
    base = make_random_tiny_model(root / "base")
    adapter = _adapter(base, root / "fmt_xml", 1)
    plan = plan_retention(str(base), [str(adapter)], ["demo_entity_type", "demo_completion"],
                          EvalSettings(limit=8, max_gen_toks=8, batch_size=8), root / "ret", data_dir=data_dir)
    run_retention(plan, loader=lambda s: load_model(s, device="cpu"), progress=False)
    return root / "ret"


@pytest.fixture(scope="module")
def report(runs, retention_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    code, text = _cli(["report", str(runs), str(retention_run), "--out", str(out)])
    assert code == 0, text
    assert text.strip().splitlines()[-1] == f"report written to {out / 'index.html'}"
    return out, text


def test_report_json_lists_what_it_wrote(runs, retention_run, report, tmp_path):
    """``--json``: one object whose runs, figures and tables are those written (the tables' rows are report.md's)."""
    out = tmp_path / "rep"
    res = CliRunner().invoke(app, ["report", str(runs), str(retention_run), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["html"] == str(out / "index.html") and (out / "index.html").is_file()
    assert {r["kind"] for r in obj["runs"]} == {"memorization", "retention"} and len(obj["runs"]) == 3
    assert obj["figures"] and all(Path(p).is_file() for f in obj["figures"] for p in f["files"].values())
    md = (out / "report.md").read_text(encoding="utf-8")
    assert obj["tables"] and all(t["title"] in md for t in obj["tables"])
    assert all(all(c in md for c in row if c) for t in obj["tables"] for row in t["rows"][:3])
    assert all(f in md for f in obj["findings"])
    # the same report as without --json
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == sorted(
        p.name for p in report[0].rglob("*") if p.is_file())


def test_run_kinds_come_from_the_manifests(report, runs, retention_run):
    _, text = report
    assert "mem-xml (memorization)" in text and "mem-bracketed (memorization)" in text and "ret (retention)" in text
    assert json.loads((runs / "mem-xml" / "manifest.json").read_text())["kind"] == "memorization"
    assert json.loads((retention_run / "manifest.json").read_text())["kind"] == "retention"


def test_run_kind_falls_back_to_the_manifest_keys():
    from nerprobe.reports.runs import run_kind

    assert run_kind({"probes": {}, "predictors": {}}) == "memorization"
    assert run_kind({"identity": {}, "fingerprints": {}}) == "retention"
    assert run_kind({"command": "probe score"}) is None


def test_each_figure_with_data_is_written_in_three_valid_formats(report):
    out, text = report
    names = {p.stem for p in (out / "figures").iterdir()}
    # lookup runs hold indicators, probes, strata, swaps and pair lookup; two formats give the comparison; retention
    # the forest
    assert names == {"indicators", "descriptive-indicators", "probe-f1", "strata-recall", "type-swaps",
                     "pair-lookup", "formats", "retention-forest"}
    for name in names:
        for ext in ("pdf", "svg", "png"):
            check_image(out / "figures" / f"{name}.{ext}")
            check_image(out / "figures-column" / f"{name}.{ext}")  # the column-width version of each
    # learning vs forgetting needs an adapter in both kinds of run: skipped, with the reason
    assert "not drawn: learning-forgetting (needs a memorization run of an adapter" in text


def test_tables_compile_with_pdflatex_and_cite_signatures(report):
    out, _ = report
    tables = out / "tables"
    assert {p.name for p in tables.glob("*.tex")} >= {"headline.tex", "probe-f1.tex", "memorization.tex",
                                                     "comparisons.tex", "retention.tex", "tables.tex"}
    compile_latex(tables / "tables.tex")
    md = (tables / "retention.md").read_text(encoding="utf-8")
    assert "\\toprule" in (tables / "retention.tex").read_text() and "\\bottomrule" in (tables / "retention.tex").read_text()
    # every row names its signature keys, and every key is listed with its signature
    for name in ("headline", "probe-f1", "memorization", "comparisons", "retention"):
        text = (tables / f"{name}.md").read_text(encoding="utf-8")
        rows = [r for r in text.splitlines() if r.startswith("| ") and "---" not in r][1:]
        assert rows
        # a row without a number (a comparison that is n/a on both sides) cites nothing; every other row does
        cited = [re.split(r"(?<!\\)\|", r.strip().strip("|"))[-1].strip() for r in rows]
        assert all(c or "n/a (" in r for c, r in zip(cited, rows)), name
        keys = {k for c in cited if c for k in c.split(",")}
        for k in keys:
            assert re.search(rf"^\[{k}\] `(metric|test):[^`]*\|nerprobe:[^`]+`", text, re.M), (name, k)
    assert "demo_entity_type" in md and "test:mcnemar-exact" in md and "test:holm|m:3" in md


def test_numbers_in_tables_are_the_runs_numbers(report, runs):
    out, _ = report
    scores = json.loads((runs / "mem-xml" / "scores.json").read_text())
    f1 = scores["context-only"]["coverage"]["f1"]
    md = (out / "tables" / "probe-f1.md").read_text()
    row = next(r for r in md.splitlines() if r.startswith("| context-only [xml]"))
    assert f"{100 * f1['value']:.1f} [{100 * f1['low']:.1f}, {100 * f1['high']:.1f}]" in row
    # the indicators table: one column per predictor, n/a where the run says so, with its reason under the table
    stats = json.loads((runs / "mem-xml" / "stats.json").read_text())
    md = (out / "tables" / "memorization.md").read_text()
    share = stats["indicators"]["context-only"]["memory_share"]
    row = next(r for r in md.splitlines() if "| memory share |" in r)
    cols = [c.strip() for c in md.splitlines()[2].strip("|").split("|")]
    assert row.strip("|").split("|")[cols.index("context-only [xml]")].strip() == \
        f"{100 * share['value']:.1f} [{100 * share['low']:.1f}, {100 * share['high']:.1f}]"
    na = stats["indicators"]["do-nothing"]["memory_share"]
    assert na["value"] is None and na["reason"] in md
    assert row.strip("|").split("|")[cols.index("do-nothing [xml]")].strip().startswith("n/a (")


def test_untrusted_outputs_are_escaped_in_html(report):
    out, _ = report
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")  # only in escaped form
    assert "<img src=x" not in page and "<h1>owned" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch: the page works offline
    assert page.count("data:image/png;base64,") == 8


def test_html_renders_in_headless_chromium(report, tmp_path):
    out, _ = report
    png = tmp_path / "page.png"
    # the headline table and the findings come first: a tall window, so that the figures are on screen too
    log = screenshot(out / "index.html", png, tmp_path / "profile", size="1200,4000")
    assert console_messages(log) == []
    assert pixel_std(png) > 20
    assert count_colour_pixels(png) > 5000  # the figures' coloured bars are on screen


def test_html_does_not_overflow_a_1280_pixel_window(report, tmp_path):
    out, _ = report
    assert scroll_width(out / "index.html", tmp_path) <= 1280
    png = tmp_path / "page-1280.png"
    screenshot(out / "index.html", png, tmp_path / "profile2", size="1280,2400")
    assert pixel_std(png) > 20


def test_overflow_check_is_not_vacuous(tmp_path):
    wide = tmp_path / "wide.html"
    wide.write_text("<html><body><div style='width:2000px'>x</div></body></html>")
    assert scroll_width(wide, tmp_path) > 1280


def test_console_check_catches_a_page_error(tmp_path):
    """The console check is not vacuous: a page that logs an error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom')</script><p>x</p></body></html>")
    log = screenshot(bad, tmp_path / "bad.png", tmp_path / "profile", size="400,300")
    assert any("boom" in m for m in console_messages(log))


def test_bad_run_dirs_give_one_line_errors(tmp_path):
    code, text = _cli(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r")])
    assert code == 2 and "does not exist" in text and "Traceback" not in text
    empty = tmp_path / "empty"
    empty.mkdir()
    code, text = _cli(["report", str(empty), "--out", str(tmp_path / "r")])
    assert code == 2 and "manifest.json" in text
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"probes": {}, "predictors": \n{oops')
    code, text = _cli(["report", str(broken), "--out", str(tmp_path / "r")])
    assert code == 2 and f"{broken / 'manifest.json'}:2: not valid JSON" in text
