"""``probe compare`` on the LLMs4NER GENIA gold files and perturbed copies: a format degraded on purpose comes out
significantly worse, identical copies do not, and Holm runs over exactly the declared family."""

from __future__ import annotations

import json
import random
import re

import pytest
from typer.testing import CliRunner

from nerprobe.analysis.compare_systems import System, compare_systems, declare_family, systems_from_folder
from nerprobe.cli import app
from nerprobe.data.io import read_corpus
from nerprobe.data.io import read_json
from nerprobe.provenance import check_run

runner = CliRunner()


@pytest.fixture(scope="module")
def genia(data_dir):
    return read_corpus(data_dir / "genia" / "nested_jsonl" / "test.jsonlines")


@pytest.fixture(scope="module")
def files(data_dir, tmp_path_factory):
    """The GENIA gold outputs in three formats, and an xml copy whose tags were removed from 15% of the outputs."""
    src = data_dir / "llms4ner" / "data"
    out = tmp_path_factory.mktemp("systems")
    records = json.loads((src / "genia_xml_test_alpaca.json").read_text())
    rng = random.Random(0)
    for r in records:
        if rng.random() < 0.15:
            r["output"] = re.sub(r"</?[A-Za-z_]+>", "", r["output"])
    (out / "degraded_xml.json").write_text(json.dumps(records))
    return {"xml": src / "genia_xml_test_alpaca.json", "bracketed": src / "genia_bracketed_test_alpaca.json",
            "offset_json": src / "genia_offset_json_test_alpaca.json", "degraded": out / "degraded_xml.json"}


def test_a_degraded_format_is_significantly_worse_and_identical_copies_are_not(genia, files):
    systems = [System("good/xml", "good", "xml", files["xml"]),
               System("good/bracketed", "good", "bracketed", files["bracketed"]),
               System("good/offset_json", "good", "offset_json", files["offset_json"]),
               System("bad/xml", "bad", "xml", files["degraded"]),
               System("bad/bracketed", "bad", "bracketed", files["bracketed"])]
    r = compare_systems(genia.sentences, systems, compare="formats", n_resamples=2000)
    assert r["systems"]["good/xml"]["scores"]["micro"]["f1"] == 1.0
    bad = r["systems"]["bad/xml"]
    assert bad["scores"]["micro"]["f1"] < 0.95 and bad["micro_f1_ci"]["high"] < 1.0
    # the family is declared: within each model, every format against that model's best; nothing across models
    assert r["family"]["m"] == 3 and list(r["holm"]["pvalues"]) == [c["p_value"] for c in r["comparisons"]]
    by_pair = {(c["a"], c["b"]): c for c in r["comparisons"]}
    assert set(by_pair) == {("good/bracketed", "good/offset_json"), ("good/bracketed", "good/xml"),
                            ("bad/bracketed", "bad/xml")}
    worse = by_pair[("bad/bracketed", "bad/xml")]
    assert worse["reject"] and worse["verdict"] == "worse" and worse["ci_difference"][1] < 0
    for pair in [("good/bracketed", "good/offset_json"), ("good/bracketed", "good/xml")]:
        assert not by_pair[pair]["reject"] and by_pair[pair]["p_holm"] == 1.0


def test_models_family_and_explicit_pairs(genia, files):
    systems = [System("good/xml", "good", "xml", files["xml"]), System("bad/xml", "bad", "xml", files["degraded"])]
    f1 = {"good/xml": 1.0, "bad/xml": 0.9}
    assert declare_family(systems, f1, "models") == [("good/xml", "bad/xml")]
    assert declare_family(systems, f1, "bad/xml:good/xml") == [("bad/xml", "good/xml")]
    with pytest.raises(ValueError, match="no test"):
        declare_family(systems, f1, "formats")  # one format per model: nothing to compare within a model
    with pytest.raises(ValueError, match="not a pair"):
        declare_family(systems, f1, "good/xml:nobody")
    r = compare_systems(genia.sentences, systems, compare="models", n_resamples=500)
    assert r["comparisons"][0]["verdict"] == "worse"


def test_cli_reads_a_folder_of_generated_predictions_and_writes_a_run(tmp_path, data_dir, files):
    gold_records = json.loads(files["xml"].read_text())
    for model, path in (("good", files["xml"]), ("bad", files["degraded"])):
        d = tmp_path / "preds" / model / "xml"
        d.mkdir(parents=True)
        with open(d / "generated_predictions.jsonl", "w") as f:
            for r, g in zip(json.loads(path.read_text()), gold_records):
                f.write(json.dumps({"prompt": f"{r['instruction']}\n{r['input']}", "predict": r["output"],
                                    "label": g["output"]}) + "\n")
    found = systems_from_folder(tmp_path / "preds", "{model}/{format}/generated_predictions.jsonl")
    assert [(s.name, s.format_name) for s in found] == [("bad/xml", "xml"), ("good/xml", "xml")]
    gold = data_dir / "genia" / "nested_jsonl" / "test.jsonlines"
    res = runner.invoke(app, ["compare", "--gold", str(gold), "--dir", str(tmp_path / "preds"), "--compare",
                              "models", "--out", str(tmp_path / "run"), "--n-resamples", "400"])
    assert res.exit_code == 0, res.output
    assert re.search(r"bad\s*│\s*\d\d\.\d\d \[", res.output) and "worse" in res.output
    manifest = read_json(tmp_path / "run" / "manifest.json")
    assert manifest["kind"] == "compare" and check_run(tmp_path / "run", manifest) is None
    stats = read_json(tmp_path / "run" / "stats.json")
    assert stats["family"]["pairs"] == [["good/xml", "bad/xml"]] and stats["n_resamples"] == 400
    # the run makes a report: the model x format table, the family's tests, the figure, a finding
    res = runner.invoke(app, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "report")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "report" / "report.md").read_text()
    assert "**Micro-F1 (%) [95% CI] per model and output format**" in md
    assert re.search(r"\| run \| models \| good/xml \| bad/xml \| -\d+\.\d \[.*\| worse \|", md)
    assert "the best system is good/xml at 100.0 [100.0, 100.0]" in md
    assert (tmp_path / "report" / "figures" / "compare-f1.png").stat().st_size > 1000
    # a tampered run is refused, in one line
    (tmp_path / "run" / "stats.json").write_text((tmp_path / "run" / "stats.json").read_text() + " ")
    res = runner.invoke(app, ["report", str(tmp_path / "run"), "--out", str(tmp_path / "report2")])
    assert res.exit_code == 2 and "not one finished compare run" in res.output
    # the same with the study's own count: the same verdict
    res = runner.invoke(app, ["compare", "--gold", str(gold), "--dir", str(tmp_path / "preds"), "--compare",
                              "models", "--match", "llms4ner", "--json", "--n-resamples", "400"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["comparisons"][0]["verdict"] == "worse"


@pytest.mark.parametrize("args,message", [
    (["only/xml=X"], "give two systems or more"),
    (["a/xml=X", "b/xml=X", "--compare", "models", "--n-resamples", "10"], "--n-resamples: 10 is too few for a family of 1 test(s)"),
    (["a/xml=X", "b/xml=X", "--compare", "a/xml:c/xml"], "--compare: 'a/xml:c/xml' is not a pair"),
    (["a/xml=X", "b/xml=PREFIX", "--compare", "models"], "covers other gold sentences"),
    (["noequals"], "is not NAME=PREDICTIONS"),
])
def test_bad_options_are_one_line_errors(tmp_path, data_dir, files, args, message):
    prefix = tmp_path / "prefix_xml.json"
    prefix.write_text(json.dumps(json.loads(files["xml"].read_text())[:100]))
    args = [a.replace("=X", f"={files['xml']}").replace("=PREFIX", f"={prefix}") for a in args]
    gold = data_dir / "genia" / "nested_jsonl" / "test.jsonlines"
    res = runner.invoke(app, ["compare", "--gold", str(gold), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("args,message", [
    (["--seed", "-1"], "--seed: must be a non-negative integer"),
    (["--alpha", "1.5"], "--alpha: must lie between 0 and 1"),
    (["--dir", "DIR", "--pattern", "{model}/{model}.json"], "--pattern: the pattern '{model}/{model}.json' must name"),
    (["--match", "loose"], "--match: unknown mode 'loose'"),
])
def test_bad_settings_are_one_line_errors(tmp_path, data_dir, files, args, message):
    args = [a.replace("DIR", str(tmp_path)) for a in args]
    gold = data_dir / "genia" / "nested_jsonl" / "test.jsonlines"
    res = runner.invoke(app, ["compare", "--gold", str(gold), f"a/xml={files['xml']}", f"b/xml={files['xml']}",
                              "--compare", "models", *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
