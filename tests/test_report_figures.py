"""Every report figure is paper-ready at both print widths, drawn from real run directories (lookup-baseline
memorization runs in two formats, a base + random LoRA adapter memorization run and the retention run of the same
adapter, probe compare runs on the LLMs4NER gold files): exactly 3.3 in or 6.9 in wide on paper, no text under 7 pt,
no two texts overlapping, nothing outside the figure, one look per predictor in every figure, every whisker's interval
named in the caption, and zeros and n/a drawn, not left blank."""

from __future__ import annotations

import re
import sys
from itertools import combinations
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app
from nerprobe.reports import compare_report, figures, style
from nerprobe.reports.runs import load_runs

sys.path.insert(0, str(Path(__file__).parent))


def _cli(args):
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory, data_dir):
    from model_fixtures import make_random_tiny_model
    from nerprobe.models.loading import load_model
    from nerprobe.retention.harness import EvalSettings
    from nerprobe.retention.run import plan_retention, run_retention
    from test_retention_run import _adapter

    root = tmp_path_factory.mktemp("figure_runs")
    for fmt in ("xml", "bracketed"):
        _cli(["memorization", "--model", "lookup", "--limit", "20", "--format", fmt, "--no-progress",
              "--out", str(root / f"mem-{fmt}")])
    base = make_random_tiny_model(root / "base")
    adapter = _adapter(base, root / "adapter-xml", 1)
    plan = plan_retention(str(base), [str(adapter)], ["demo_entity_type", "demo_completion"],
                          EvalSettings(limit=8, max_gen_toks=8, batch_size=8), root / "ret", data_dir=data_dir)
    run_retention(plan, loader=lambda s: load_model(s, device="cpu"), progress=False)
    # a bare peft adapter: nothing beside it says its format, so it is named (as a user of a foreign adapter must)
    _cli(["memorization", "--model", str(base), "--adapter", str(adapter), "--format", "xml", "--limit", "6",
          "--probes", "coverage", "--max-new-tokens", "12", "--no-progress", "--out", str(root / "mem-adapter")])
    d = data_dir / "llms4ner" / "data"
    _cli(["compare", "--gold", str(data_dir / "conll2003" / "test.txt"), f"study/xml={d / 'conll03_xml_test_alpaca.json'}",
          f"study/bracketed={d / 'conll03_bracketed_test_alpaca.json'}", "--out", str(root / "conll")])
    _cli(["compare", "--gold", str(data_dir / "genia" / "nested_jsonl" / "test.jsonlines"),
          f"study/xml={d / 'genia_xml_test_alpaca.json'}", f"study/json={d / 'genia_json_test_alpaca.json'}",
          "--out", str(root / "genia")])
    return root


@pytest.fixture(scope="module")
def runs(run_dirs):
    names = ("mem-xml", "mem-bracketed", "mem-adapter", "ret", "conll", "genia")
    return load_runs([run_dirs / n for n in names])


BUILDERS = {**figures.FIGURE_BUILDERS, "compare-f1": compare_report.fig_compare}
ALWAYS = set(BUILDERS)
"""These runs hold the data of every figure: none may be skipped."""
CASES = [(name, layout) for name in BUILDERS for layout in ("full", "column")]


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t.figure is fig
            and (t.axes is None or t.axes.get_visible())]


@pytest.mark.parametrize("name,layout", CASES)
def test_figure_prints_at_its_width_with_readable_text_that_does_not_overlap(runs, name, layout):
    import matplotlib.pyplot as plt

    drawn = figures.draw(name, runs, layout, BUILDERS)
    assert not isinstance(drawn, str), drawn
    fig = drawn.fig
    try:
        fig.canvas.draw()  # lays the figure out (constrained layout) as it is saved
        w, h = fig.get_size_inches()
        # full width fits a page; a column version of many systems x probes may run long (known: up to ~12 in)
        assert w == pytest.approx(style.WIDTHS[layout]) and 1.0 < h < (9.0 if layout == "full" else 12.5)
        renderer = fig.canvas.get_renderer()
        page = fig.bbox
        boxes = []
        for t in _texts(fig):
            assert t.get_fontsize() >= style.MIN_FONT_PT, (t.get_text(), t.get_fontsize())
            bb = t.get_window_extent(renderer)
            assert bb.x0 >= page.x0 - 1 and bb.x1 <= page.x1 + 1 and bb.y0 >= page.y0 - 1 and bb.y1 <= page.y1 + 1, \
                f"{t.get_text()!r} lies outside the figure"
            boxes.append((t.get_text(), bb))
        for (ta, a), (tb, b) in combinations(boxes, 2):
            # strictly overlapping boxes (touching edges are fine)
            ov = min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5
            assert not ov, f"{ta!r} overlaps {tb!r}"
        # every tick label of every axis apart from its neighbours (also caught above; named here for the report)
        for ax in fig.axes:
            for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
                shown = [t.get_window_extent(renderer) for t in ticks if t.get_visible() and t.get_text()]
                for a, b in combinations(shown, 2):
                    assert not a.overlaps(b)
        # the caption names the interval of the whiskers
        assert re.search(r"whiskers: 95% .*(CI|interval)", drawn.caption), drawn.caption
    finally:
        plt.close(fig)


def test_a_predictor_looks_the_same_in_every_figure(runs):
    import matplotlib.pyplot as plt

    seen: dict[str, set] = {}
    looks = style.Looks(figures.report_names(runs))
    for name in ("indicators", "descriptive-indicators", "probe-f1", "strata-recall", "type-swaps", "pair-lookup"):
        drawn = figures.draw(name, runs, "full")
        assert not isinstance(drawn, str), drawn
        for ax in drawn.fig.axes:
            for line in ax.get_lines():
                if line.get_marker() not in (None, "None", "", "|", "_") and len(line.get_xdata()) == 1:
                    seen.setdefault(name, set()).add((line.get_color(), line.get_marker()))
        plt.close(drawn.fig)
    pairs = {(looks[p].colour, looks[p].marker) for p in figures.report_names(runs)}
    for name, got in seen.items():
        assert got <= pairs, (name, got - pairs)
    assert set(seen) == {"indicators", "descriptive-indicators", "probe-f1", "strata-recall", "type-swaps",
                         "pair-lookup"}
    assert looks["lookup"] == style.ROLE_LOOKS["memorizer"] and looks["context-only"] == style.ROLE_LOOKS["reader"]
    # every pair of predictors differs by marker as well as by colour
    roles = list(style.ROLE_LOOKS.values())
    assert len({r.marker for r in roles}) == len(roles) and len({r.colour for r in roles}) == len(roles)


def test_other_names_get_distinct_looks_that_do_not_depend_on_order():
    a = style.Looks(["qwen", "llama", "gemma", "lookup"])
    b = style.Looks(["lookup", "gemma", "qwen", "llama"])
    assert [a[n] for n in ("qwen", "llama", "gemma")] == [b[n] for n in ("qwen", "llama", "gemma")]
    assert len({(a[n].colour, a[n].marker) for n in ("qwen", "llama", "gemma", "lookup")}) == 4
    assert a["qwen"].colour != style.ROLE_LOOKS["memorizer"].colour  # a role's colour goes to others last


def test_zero_is_a_point_and_missing_is_written_na(runs):
    import matplotlib.pyplot as plt

    drawn = figures.draw("probe-f1", runs, "full")  # the lookup baseline scores 0 on unseen entities
    try:
        xs = [x for ax in drawn.fig.axes for line in ax.get_lines() for x in line.get_xdata()
              if line.get_marker() not in (None, "None", "")]
        assert 0.0 in xs
    finally:
        plt.close(drawn.fig)
    # the adapter run holds only the coverage probe: its other probes are n/a, in words; so are the do-nothing
    # control's indicators (too little support), never a 0
    for name in ("probe-f1", "indicators"):
        drawn = figures.draw(name, runs, "full")
        try:
            assert any(t.get_text() == "n/a" for t in _texts(drawn.fig))
        finally:
            plt.close(drawn.fig)


def test_learning_and_forgetting_use_one_kind_of_interval(runs):
    import matplotlib.pyplot as plt

    drawn = figures.draw("learning-forgetting", runs, "full")
    assert not isinstance(drawn, str), drawn
    try:
        assert "range" not in drawn.caption and "95% CIs" in drawn.caption
        for ax in drawn.fig.axes:  # horizontal whiskers only: no bar on the other axis
            for c in ax.containers:
                assert c.has_xerr and not c.has_yerr
    finally:
        plt.close(drawn.fig)


def test_build_figures_writes_both_widths(runs, tmp_path):
    from PIL import Image

    figs, skipped = figures.build_figures(runs, tmp_path / "figures", extra={"compare-f1": compare_report.fig_compare})
    assert {f.name for f in figs} == ALWAYS and not skipped
    for f in figs:
        for paths, width in ((f.paths, style.WIDTHS["full"]), (f.column_paths, style.WIDTHS["column"])):
            with Image.open(paths["png"]) as im:
                assert im.width == round(width * figures.PNG_DPI)
            box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", paths["pdf"].read_bytes())
            assert box and float(box.group(1)) == pytest.approx(width * 72, abs=0.5)
