"""The memorization run and ``probe memorization``: run directory, statistics, controls, bad input, models."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from nerprobe.analysis.estimates import MIN_SUPPORT, Estimate
from nerprobe.analysis.regression import entity_logit
from nerprobe.cli.memorization import register
from nerprobe.memorization.config import MemorizationConfig
from nerprobe.memorization.run import run_memorization
from nerprobe.probes.base import ProbeSet
from nerprobe.memorization.config import DEFAULT_PROBES
from nerprobe.probes.registry import PROBES, expand, set_names


def cli():
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:  # a callback keeps "memorization" as a sub-command
        pass

    return app


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run_memorization(MemorizationConfig(model="lookup", out=out, progress=False), log=lambda m: None)
    return out, result


def test_run_directory_is_complete_and_reloadable(demo_run):
    out, result = demo_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"]["demo"] and manifest["seed"] == 0 and manifest["format"] == "xml"
    assert manifest["subjects"] == ["lookup"] and manifest["predictors"]["lookup"]["role"] == "subject"
    assert {"lookup", "context-only", "do-nothing"} <= set(manifest["predictors"])
    assert manifest["data"]["hashes"]["train"].startswith("sha256:")
    assert manifest["probes"] == expand(DEFAULT_PROBES) == [p for p in PROBES if PROBES[p].generates]
    for name in set_names(manifest["probes"]):
        ps = ProbeSet.load(out / "probes" / f"{name}.jsonl")
        assert len(ps) == manifest["probe_sets"][name]["items"] > 0
        lines = (out / "generations" / "lookup" / f"{name}.jsonl").read_text().splitlines()
        assert [json.loads(line)["id"] for line in lines] == [it.id for it in ps]
    assert json.loads((out / "scores.json").read_text()).keys() == set(manifest["predictors"])
    stats = json.loads((out / "stats.json").read_text())
    family = stats["family"]
    assert [h["name"] for h in family["hypotheses"]] == manifest["family"]
    # declared from the roles: the subject against the form-only floor on each memory indicator (no base here)
    memory = [s["name"] for s in stats["indicator_specs"] if s["memory"]]
    if "form-only" in manifest["predictors"]:
        assert {(h["a"], h["b"], h["indicator"]) for h in family["hypotheses"]} == {
            ("form-only", "lookup", k) for k in memory}
    tested = [c for c in stats["comparisons"] if c["p"] is not None]
    assert stats["holm"]["n"] == family["m"] == len(tested)
    assert len(family["hypotheses"]) == family["m"] + len(family["untested"])
    assert all(c["p_holm"] >= c["p"] for c in tested)
    assert family["n_resamples"] == manifest["n_resamples"] >= family["min_resamples"]


def test_indicators_are_typed_estimates(demo_run):
    _, result = demo_run
    for by in result["stats"]["indicators"].values():
        for d in by.values():
            e = Estimate.from_dict(d)
            assert e.to_dict() == d
            assert (e.value is None) == (e.reason is not None)
            if e.value is not None:
                assert e.low <= e.value <= e.high and e.n >= MIN_SUPPORT and "nerprobe:" in e.signature


def test_controls_land_at_their_ends_on_the_demo(demo_run):
    _, result = demo_run
    ind, scores = result["stats"]["indicators"], result["scores"]
    memory = [s["name"] for s in result["stats"]["indicator_specs"] if s["memory"]]
    assert set(memory) == {"replacement_memory_effect", "memory_share", "lookup_gain_alone", "lookup_gain_in_context"}
    for k in memory:  # the memorizer at the memory end, CI and all
        assert ind["lookup"][k]["low"] >= 0.95, k
    for k in ("replacement_memory_effect", "memory_share", "lookup_gain_in_context"):  # the context reader at 0
        assert ind["context-only"][k]["high"] <= 0.0 + 1e-9 and ind["context-only"][k]["low"] >= -1e-9, k
    # with no context it labels nothing, so the lookup gain alone has no support: n/a, not 0
    assert ind["context-only"]["lookup_gain_alone"]["value"] is None
    assert "too little support" in ind["context-only"]["lookup_gain_alone"]["reason"]
    for k, e in ind["do-nothing"].items():  # the do-nothing predictor: n/a everywhere, with the reason
        assert e["value"] is None and e["reason"], k
    assert scores["do-nothing"]["coverage"]["f1"]["value"] == 0.0  # a descriptive F1 of 0 is still 0
    assert scores["context-only"]["unseen-entities"]["f1"]["value"] == scores["context-only"]["coverage"]["f1"]["value"] == 1.0
    # renamed labels are instruction-following: the context control is not handed the mapping, so it cannot follow
    assert scores["context-only"]["swapped-labels-permuted"]["f1"]["value"] < 0.5
    strata = scores["lookup"]["coverage"]["strata"]
    assert strata["seen_same"]["recall"]["value"] == 1.0 and strata["unseen"]["recall"]["value"] == 0.0
    assert result["stats"]["regression"]["lookup"]["status"] == "separation"
    assert result["stats"]["regression"]["context-only"]["status"] == "no_variation"


def test_form_only_control_on_the_demo(demo_run):
    """The demo's names give most of their type away (separate name pools per type; since corpus v3 half the ORG
    names are one word, shaped like locations): the form-only control, which never saw a demo name, labels most test
    mentions right (measured F1 0.83) and gives most swapped-in names their memorized label (0.82 [0.77, 0.88]). So on
    the demo memory share is read against that floor: the lookup's memory share beyond form is small (0.18) but above
    0, while the matched pair lookup and the replacement effect leave form out and see nearly all of its memory."""
    _, result = demo_run
    ind, beyond = result["stats"]["indicators"], result["stats"]["beyond_form"]
    form = ind["form-only"]
    assert result["scores"]["form-only"]["coverage"]["f1"]["value"] >= 0.75
    assert 0.6 <= form["memory_share"]["value"] < 1.0
    assert 0.0 < beyond["lookup"]["memory_share"]["low"] and beyond["lookup"]["memory_share"]["high"] < 0.4
    for k in ("lookup_gain_alone", "lookup_gain_in_context"):
        assert form[k]["low"] <= 0.0 <= form[k]["high"], k
        assert beyond["lookup"][k]["low"] > 0.8, k
    assert beyond["lookup"]["replacement_memory_effect"]["low"] > 0.8


def test_regression_odds_ratios_recover_the_effect():
    import numpy as np

    rng = np.random.default_rng(1)
    rows = []
    for _ in range(600):
        seen = bool(rng.random() < 0.5)
        n_tok = int(rng.integers(1, 4))
        p = 1 / (1 + np.exp(-(-1.0 + 1.5 * seen)))  # odds ratio of seen = e^1.5 ≈ 4.5
        rows.append({"correct": rng.random() < p, "seen": seen, "consistency": rng.random() if seen else None,
                     "label": str(rng.choice(["PER", "LOC"])), "n_tokens": n_tok})
    rows = [{**r, "sentence": f"s{i // 5}"} for i, r in enumerate(rows)]
    fit = entity_logit(rows)
    assert fit.status == "ok"
    seen = fit.odds_ratios["seen"]
    assert seen.low < np.exp(1.5) < seen.high and seen.low > 1.5


def test_cli_lookup_on_a_real_conll_slice(data_dir, tmp_path):
    from nerprobe.data.conll import read_conll, write_conll

    train = read_conll(data_dir / "conll2003" / "train.txt").sentences[:3000]
    test = read_conll(data_dir / "conll2003" / "test.txt").sentences[:300]
    write_conll(train, tmp_path / "train.txt")
    # a label training never had, and sentences with no entities: warned about, the run goes on
    odd = [s.with_entities([type(e)(e.start, e.end, "EVENT") for e in s.entities]) for s in test[:5]]
    write_conll(odd + test[5:], tmp_path / "test.txt")
    out = tmp_path / "run"
    r = CliRunner().invoke(cli(), ["memorization", "--model", "lookup", "--train", str(tmp_path / "train.txt"),
                                   "--test", str(tmp_path / "test.txt"), "--probes", "coverage,unseen-entities",
                                   "--probes", "pair-lookup", "--out", str(out), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "0 declared paired tests" in r.output  # no --dev: no form-only floor to test the memorizer against
    assert "never occurs in training" in r.output and "without entities" in r.output and "--dev" in r.output
    scores = json.loads((out / "scores.json").read_text())
    assert scores["lookup"]["unseen-entities"]["recall"] < 0.05
    assert scores["lookup"]["coverage"]["strata"]["seen_same"]["recall"]["value"] > 0.8
    assert json.loads((out / "manifest.json").read_text())["probes"] == ["coverage", "unseen-entities",
                                                                         "pair-lookup"]


@pytest.mark.parametrize("args, message", [
    (["--train", "nope.txt"], "--test: give both"),
    (["--format", "yaml"], "--format: unknown format"),
    (["--probes", "magic"], "--probes: unknown probe"),
    (["--limit", "0"], "--limit: must be at least 1"),
    (["--normalize", "stem"], "--normalize: unknown normalization"),
    (["--n-resamples", "100"], "--n-resamples: 100 is too few for a family of 4 test(s) at alpha 0.05: the minimum is "
                               "1600"),
    (["--adapter", "a=x", "--adapter", "a=y"], "--adapter: adapter names must be distinct"),
    (["--adapter", "lookup=x", "--adapter", "b=y"], "--adapter: 'lookup' names a control"),
])
def test_cli_bad_options_one_line(tmp_path, args, message):
    r = CliRunner().invoke(cli(), ["memorization", "--model", "lookup", "--out", str(tmp_path / "r"), *args])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_cli_bad_corpus_line_is_located(tmp_path):
    bad = tmp_path / "train.txt"
    bad.write_text("EU B-ORG\nrejects O\nGerman B-MISC extra\n\n")
    good = tmp_path / "test.txt"
    good.write_text("Peter B-PER\n\n")
    r = CliRunner().invoke(cli(), ["memorization", "--model", "lookup", "--train", str(bad), "--test", str(good),
                                   "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "train.txt:" in r.output, r.output


def test_random_hf_model_runs_through_the_cache(tmp_path):
    from tests.model_fixtures import make_random_tiny_model

    model_dir = make_random_tiny_model(tmp_path / "m")
    cfg = dict(model=str(model_dir), baseline="none", out=tmp_path / "run", limit=3,
               max_new_tokens=12,
               probes=("coverage", "unseen-entities"), cache_dir=tmp_path / "cache", progress=False)
    first = run_memorization(MemorizationConfig(**cfg), log=lambda m: None)
    assert {"model", "lookup", "context-only", "do-nothing"} <= set(first["scores"])
    gens = (tmp_path / "run" / "generations" / "model" / "coverage.jsonl").read_text().splitlines()
    assert len(gens) == 3
    # resumable: a second run reads every output from the cache and generates nothing
    from nerprobe.models import hf_generate

    calls = []
    orig = hf_generate.HFPredictor._generate
    hf_generate.HFPredictor._generate = lambda self, *a, **k: calls.append(1) or orig(self, *a, **k)
    try:
        again = run_memorization(MemorizationConfig(**cfg), log=lambda m: None)
    finally:
        hf_generate.HFPredictor._generate = orig
    assert calls == []
    assert again["scores"]["model"]["coverage"]["f1"] == first["scores"]["model"]["coverage"]["f1"]
    assert again["stats"]["indicators"]["model"] == first["stats"]["indicators"]["model"]


def test_tiny_tuned_model_end_to_end(tmp_path):
    """The embedded tiny model (base + xml LoRA, built once and cached) through every probe, with --limit."""
    out = tmp_path / "run"
    r = CliRunner().invoke(cli(), ["memorization", "--model", "tiny", "--limit", "3",
                                   "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"model", "baseline", "lookup", "context-only", "do-nothing"} <= set(manifest["predictors"])
    assert manifest["predictors"]["model"]["spec"]["adapter"] and manifest["subjects"] == ["model"]
    scores = json.loads((out / "scores.json").read_text())
    stats = json.loads((out / "stats.json").read_text())
    assert {"coverage", "unseen-entities", "seen-replacements", "type-swaps", "pair-lookup"} <= set(scores["model"])
    kinds = {h["kind"] for h in stats["family"]["hypotheses"]}
    assert {"tuned_vs_base"} <= kinds <= {"tuned_vs_base", "beyond_form"}
    assert all(h["b"] == "model" for h in stats["family"]["hypotheses"])  # no control vs control: nobody asked
    # three test sentences give too little support: the indicators are n/a, and their tests untested with the reason
    assert stats["family"]["m"] == 0 and all("support" in why or "no " in why
                                             for why in stats["family"]["untested"].values())
    status = scores["model"]["coverage"]["parse_status"]
    assert status.get("failed", 0) < 3


@pytest.mark.slow
def test_generation_free_probes_run_in_the_memorization_run(tmp_path):
    """--probes likelihood,exposure: scored on the run's language models, written to measured/, merged into the
    indicators (n/a for the rule controls) and the family (tuned vs base), drawn by the report."""
    from nerprobe.reports.build import build_report

    out = tmp_path / "run"
    result = run_memorization(MemorizationConfig(model="tiny", limit=80, probes=("coverage", "likelihood", "exposure"),
                                                 out=out, cache_dir=tmp_path / "cache", progress=False),
                              log=lambda m: None)
    assert (out / "measured" / "likelihood.json").is_file() and (out / "measured" / "exposure.json").is_file()
    ind = result["stats"]["indicators"]
    assert ind["model"]["name_margin_format"]["value"] is not None and ind["baseline"]["exposure_auc"]["value"]
    assert "not a language model" in ind["lookup"]["name_win_format"]["reason"]
    tested = {(c["kind"], c["about"]["indicator"]) for c in result["stats"]["comparisons"]}
    assert ("tuned_vs_base", "name_margin_format") in tested and ("tuned_vs_base", "name_win_format") in tested
    assert not any(h["kind"] == "beyond_form" and h["probe"] == "likelihood"
                   for h in result["stats"]["family"]["hypotheses"])  # the form-only control is no language model
    report = build_report([out], tmp_path / "report")
    assert {"likelihood-win", "exposure-histograms"} <= {f.name for f in report.figures}


@pytest.mark.slow
def test_names_and_symbols_adapters_are_compared_on_their_seen_unseen_gaps(tmp_path):
    """Issue 10 §5, the study's RQ3 design: two adapters of one base, one trained on label names and one on symbols
    (A=ORG, B=PER, C=LOC), as two subjects. The symbols adapter is prompted with its symbols and its outputs are
    mapped back; the difference of their seen-unseen gaps is a declared paired test."""
    from nerprobe.models.tiny import ensure_tiny_adapter

    names, symbols = (ensure_tiny_adapter("xml", kind=k, progress=False) for k in ("memorizer", "symbols"))
    result = run_memorization(MemorizationConfig(
        model="tiny", adapters=(("names", str(names)), ("symbols", str(symbols))), limit=60,
        probes=("coverage", "type-swaps"), out=tmp_path / "run", cache_dir=tmp_path / "cache", progress=False),
        log=lambda m: None)
    assert result["manifest"]["subjects"] == ["names", "symbols"]
    hyp = {h["name"]: h for h in result["stats"]["family"]["hypotheses"]}
    gap = hyp["symbols vs names: seen_unseen_gap"]
    assert gap["kind"] == "between_subjects" and (gap["a"], gap["b"]) == ("names", "symbols")
    prompts = [json.loads(line)["prompt"] for line in
               (tmp_path / "run" / "generations" / "symbols" / "coverage.jsonl").read_text().splitlines()]
    assert all("labels A, B, and C" in p for p in prompts)  # prompted with its own symbols
    ind = result["stats"]["indicators"]
    assert ind["names"]["seen_unseen_gap"]["value"] is not None  # the memorizer: a large gap
    assert result["scores"]["symbols"]["coverage"]["f1"]["value"] > 0.1  # mapped back: its symbols score as names


def test_cli_json_is_one_object_with_the_indicators(tmp_path):
    r = CliRunner().invoke(cli(), ["memorization", "--model", "lookup", "--probes", "coverage,pair-lookup",
                                   "--out", str(tmp_path / "r"), "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout.strip().splitlines()[-1])
    assert obj["run_directory"] == str(tmp_path / "r") and obj["roles"]["lookup"] == "subject"
    assert obj["indicators"]["lookup"]["lookup_gain_alone"]["value"] == 1.0
    assert obj["indicators"]["do-nothing"]["lookup_gain_alone"]["value"] is None
