"""Export the probe sets, generate with `probe generate` in LLaMA-Factory's shape as another engine would, import
the outputs: the results equal those of a run that generated itself (issue 12 §1)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app
from nerprobe.exchange.export import MANIFEST, alpaca_name

ARGS = ["--model", "tiny", "--limit", "4", "--probes", "coverage,type-swaps", "--no-progress", "--baseline", "none"]


@pytest.mark.slow
def test_export_generate_import_equals_a_direct_run(tmp_path):
    runner = CliRunner()
    cache = ["--cache-dir", str(tmp_path / "cache")]
    direct = runner.invoke(app, ["memorization", *ARGS, *cache, "--out", str(tmp_path / "direct")])
    assert direct.exit_code == 0, direct.output

    exp = tmp_path / "export"
    r = runner.invoke(app, ["memorization", *ARGS, "--export", str(exp)])
    assert r.exit_code == 0 and "exported 2 probe sets" in r.output, r.output
    manifest = json.loads((exp / MANIFEST).read_text())
    info = json.loads((exp / "dataset_info.json").read_text())
    sets = [s["name"] for s in manifest["sets"]]
    assert sets == ["coverage", "type-swaps"] and len(info) == 2

    outs = tmp_path / "outputs"
    for name in sets:  # the engine: here `probe generate`, writing LLaMA-Factory's generated_predictions.jsonl
        (outs / name).mkdir(parents=True)
        g = runner.invoke(app, ["generate", "--model", "tiny", "--requests", str(exp / alpaca_name(name)),
                                "--out-style", "llamafactory", "--no-progress", *cache,
                                "--out", str(outs / name / "generated_predictions.jsonl")])
        assert g.exit_code == 0, g.output

    imported = runner.invoke(app, ["memorization", *ARGS, "--predictions", str(outs), "--out", str(tmp_path / "imp")])
    assert imported.exit_code == 0, imported.output
    a = json.loads((tmp_path / "direct" / "scores.json").read_text())["model"]
    b = json.loads((tmp_path / "imp" / "scores.json").read_text())["model"]
    for name in sets:
        assert a[name]["f1"] == b[name]["f1"] and a[name]["tp"] == b[name]["tp"], name
    sa = json.loads((tmp_path / "direct" / "stats.json").read_text())["indicators"]["model"]
    sb = json.loads((tmp_path / "imp" / "stats.json").read_text())["indicators"]["model"]
    assert sa == sb

    # an incomplete set is refused with one line that says how many are missing and the first one
    path = outs / "type-swaps" / "generated_predictions.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    bad = runner.invoke(app, ["memorization", *ARGS, "--predictions", str(outs), "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--predictions" in bad.output and "1 of" in bad.output, bad.output
