"""The memorization run and ``probe memorization``: run directory, statistics, controls, bad input, models."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from nerprobe.analysis.memorization import position
from nerprobe.analysis.regression import entity_logit
from nerprobe.cli.memorization import register
from nerprobe.probes.base import ProbeSet
from nerprobe.probes.run import MemorizationConfig, expand_probes, run_memorization


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
    assert set(manifest["predictors"]) == {"lookup", "context-only"}
    assert manifest["data"]["hashes"]["train"].startswith("sha256:")
    for name in expand_probes(("coverage", "unseen-entities", "swapped-labels", "pair-lookup")):
        ps = ProbeSet.load(out / "probes" / f"{name}.jsonl")
        assert len(ps) == manifest["probes"][name]["items"] > 0
        lines = (out / "generations" / "lookup" / f"{name}.jsonl").read_text().splitlines()
        assert [json.loads(line)["id"] for line in lines] == [it.id for it in ps]
    assert json.loads((out / "scores.json").read_text()).keys() == {"lookup", "context-only"}
    stats = json.loads((out / "stats.json").read_text())
    family = stats["family"]
    # declared: the subject (the lookup baseline, running alone) vs the context-only control on each probe set, and
    # its own F1 drop; nothing else is tested, and Holm runs over exactly those
    assert [h["name"] for h in family["hypotheses"]] == manifest["family"]
    assert {(h["a"], h["b"]) for h in family["hypotheses"]} == {("context-only", "lookup"), ("lookup", "lookup")}
    assert len(family["hypotheses"]) == len(manifest["probes"]) + 1 == family["m"] + len(family["untested"])
    tested = [c for c in stats["comparisons"] if c["in_family"]]
    assert stats["holm"]["n"] == family["m"] == len(tested) and {c["name"] for c in tested} <= set(manifest["family"])
    assert all(c["p_holm"] >= c["p_value"] for c in tested)
    assert family["n_resamples"] == manifest["n_resamples"] >= family["min_resamples"] == 20 * len(
        family["hypotheses"]) / 0.05
    others = [c for c in stats["comparisons"] if not c["in_family"]]
    assert [c["name"] for c in others] == ["context-only: original vs unseen-entities"]
    assert others[0]["p_value"] is None and "p_holm" not in others[0] and others[0]["ci_difference"]


def test_controls_land_at_their_ends(demo_run):
    _, result = demo_run
    summary, scores = result["stats"]["summary"], result["scores"]
    assert summary["lookup"]["mean_position"] == pytest.approx(1.0)
    assert summary["context-only"]["mean_position"] == pytest.approx(0.0)
    assert scores["lookup"]["unseen-entities"]["recall"] <= 0.02
    assert scores["lookup"]["pair-lookup"]["train_alone"]["estimate"] >= 0.99
    assert scores["context-only"]["unseen-entities"]["f1"] == scores["context-only"]["coverage"]["f1"] == 1.0
    # the context reader also follows renamed labels; the memorizer cannot
    assert scores["context-only"]["swapped-labels-permuted"]["f1"] == 1.0
    assert scores["lookup"]["swapped-labels-symbols"]["f1"] == 0.0
    drop = next(c for c in result["stats"]["comparisons"] if c["name"] == "lookup: original vs unseen-entities")
    assert drop["difference"] < -0.5 and drop["reject"]
    strata = scores["lookup"]["coverage"]["strata"]
    assert strata["seen_same"]["recall"]["estimate"] == 1.0 and strata["unseen"]["recall"]["estimate"] == 0.0
    # the memorizer is perfectly separated by seen/unseen: reported, not crashed, and no odds ratio printed
    assert result["stats"]["regression"]["lookup"]["status"] == "separation"
    assert not result["stats"]["regression"]["lookup"]["odds_ratios"]
    assert result["stats"]["regression"]["context-only"]["status"] == "no_variation"


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


def test_position_between_ends():
    assert position(0.5, memorizer=1.0, context=0.0) == 0.5
    assert position(0.2, memorizer=0.2, context=0.2) is None


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
    assert "1 declared paired tests" in r.output  # the lookup baseline alone: its F1 drop
    assert "never occurs in training" in r.output and "without entities" in r.output
    scores = json.loads((out / "scores.json").read_text())
    assert scores["lookup"]["unseen-entities"]["recall"] < 0.05
    assert scores["lookup"]["coverage"]["strata"]["seen_same"]["recall"]["estimate"] > 0.8
    assert set(json.loads((out / "manifest.json").read_text())["probes"]) == {"coverage", "unseen-entities",
                                                                              "pair-lookup"}


@pytest.mark.parametrize("args, message", [
    (["--train", "nope.txt"], "--test: give both"),
    (["--format", "yaml"], "--format: unknown format"),
    (["--probes", "magic"], "--probes: unknown probe"),
    (["--limit", "0"], "--limit: must be at least 1"),
    (["--normalize", "stem"], "--normalize: unknown normalization"),
    (["--n-resamples", "1000"], "--n-resamples: 1000 is too few for a family of 8 test(s) at alpha 0.05: the minimum is "
                                "3200"),
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
    assert set(first["scores"]) == {"model", "lookup", "context-only"}
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


def test_tiny_tuned_model_end_to_end(tmp_path):
    """The embedded tiny model (base + xml LoRA, built once and cached) through every probe, with --limit."""
    out = tmp_path / "run"
    r = CliRunner().invoke(cli(), ["memorization", "--model", "tiny", "--limit", "3",
                                   "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["predictors"]) == {"model", "baseline", "lookup", "context-only"}
    assert manifest["predictors"]["model"]["spec"]["adapter"]
    scores = json.loads((out / "scores.json").read_text())
    stats = json.loads((out / "stats.json").read_text())
    assert {"coverage", "unseen-entities", "type-swaps", "pair-lookup"} <= set(scores["model"])
    kinds = {c["kind"] for c in stats["comparisons"]}
    assert kinds == {"original_vs_unseen", "tuned_vs_base", "vs_control"}
    assert not any(c["kind"] != "original_vs_unseen" and c["a"] != "model" and c["b"] != "model"
                   for c in stats["comparisons"])  # no baseline vs lookup: not a hypothesis anyone asked
    # the tuned model learned the xml format: its outputs on the original sentences parse
    status = scores["model"]["coverage"]["parse_status"]
    assert status.get("failed", 0) < 3
    assert "model" in stats["summary"] and "position" in stats["summary"]["model"]
