"""A run directory is one run: marked unfinished while it runs, complete with the hashes of its files at the end, and
``probe report`` refuses (one line, exit 2) a run that is unfinished or mixes the files of two runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nerprobe.cli import app
from nerprobe.errors import InputError
from nerprobe.memorization.config import MemorizationConfig
from nerprobe.memorization.run import run_memorization
from nerprobe.provenance import check_run, file_sha256, sentences_sha256
from nerprobe.reports.runs import load_run

RUN_FILES = ("scores.json", "stats.json")


def lookup_run(out: Path, seed: int = 0) -> dict:
    cfg = MemorizationConfig(model="lookup", out=out, limit=20, seed=seed, progress=False,
                             probes=("coverage", "unseen-entities", "type-swaps"))
    return run_memorization(cfg, log=lambda m: None)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "seed0"
    lookup_run(out)
    return out


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def report(tmp_path: Path, *runs: Path):
    return CliRunner().invoke(app, ["report", *map(str, runs), "--out", str(tmp_path / "report")])


def assert_refused(result, *words):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output, result.output
    for w in words:
        assert w in lines[0], lines[0]


def test_a_finished_run_records_its_state_and_every_file_hash(finished):
    m = manifest(finished)
    assert m["run"]["state"] == "complete"
    files = m["run"]["files"]
    assert set(RUN_FILES) <= set(files) and any(f.startswith("probes/") for f in files)
    assert any(f.startswith("generations/lookup/") for f in files)
    for rel, digest in files.items():
        assert file_sha256(finished / rel) == digest
    assert m["created"].endswith("Z") and m["versions"]["python"] and m["command"].startswith("probe")
    assert check_run(finished, m) is None
    assert load_run(finished).kind == "memorization"


def test_report_refuses_an_unfinished_run(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    m = manifest(run)
    m["run"] = {"state": "running", "parts": m["run"]["parts"]}
    (run / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(InputError, match="not finished"):
        load_run(run)
    assert_refused(report(tmp_path, run), str(run), "not finished")


def test_report_refuses_a_run_with_a_file_of_another_run(finished, tmp_path):
    other = tmp_path / "seed1"
    lookup_run(other, seed=1)
    mixed = tmp_path / "mixed"
    shutil.copytree(finished, mixed)
    shutil.copy(other / "probes" / "coverage.jsonl", mixed / "probes" / "coverage.jsonl")
    assert_refused(report(tmp_path, mixed), "probes/coverage.jsonl", "not the file the run wrote")
    # a file the run never wrote, and one that went missing
    extra = tmp_path / "extra"
    shutil.copytree(finished, extra)
    shutil.copy(other / "probes" / "coverage.jsonl", extra / "probes" / "stray.jsonl")
    assert_refused(report(tmp_path, extra), "probes/stray.jsonl", "not part of the recorded run")
    gone = tmp_path / "gone"
    shutil.copytree(finished, gone)
    (gone / "stats.json").unlink()
    assert_refused(report(tmp_path, gone), "stats.json", "missing")


def test_rerun_into_a_finished_run_replaces_it_whole(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    lookup_run(run, seed=1)
    m = manifest(run)
    assert m["seed"] == 1 and m["run"]["state"] == "complete" and check_run(run, m) is None
    fresh = tmp_path / "fresh"
    lookup_run(fresh, seed=1)
    for rel in m["run"]["files"]:
        assert (run / rel).read_bytes() == (fresh / rel).read_bytes(), rel
    assert set(manifest(fresh)["run"]["files"]) == set(m["run"]["files"])


def test_a_folder_nerprobe_did_not_write_is_left_alone(tmp_path):
    out = tmp_path / "mine"
    (out / "probes").mkdir(parents=True)
    (out / "probes" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="no memorization manifest"):
        lookup_run(out)
    assert (out / "probes" / "notes.txt").read_text() == "mine"


def test_one_digest_for_one_corpus_everywhere(tmp_path, finished):
    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.models.training import data_hash

    train = list(make_demo_corpus(seed=0).train)
    assert data_hash(train) == sentences_sha256(train) == manifest(finished)["data"]["hashes"]["train"]
    # the same sentences read from a file give the same digest as the demo corpus in memory
    from nerprobe.data.jsonl import write_jsonl
    from nerprobe.data.io import read_corpus

    path = tmp_path / "train.jsonl"
    write_jsonl(train, path)
    assert sentences_sha256(read_corpus(path).sentences) == sentences_sha256(train)


def test_report_says_when_combined_runs_were_made_on_other_data(finished, tmp_path):
    from nerprobe.data.demo import make_demo_corpus
    from nerprobe.data.jsonl import write_jsonl
    from nerprobe.reports.runs import data_notes, load_runs

    demo = make_demo_corpus(seed=0)
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    write_jsonl(list(demo.train), train)
    write_jsonl(list(demo.test)[:30], test)  # another test set, the same training set
    other = tmp_path / "runs" / "other"
    run_memorization(MemorizationConfig(model="lookup", train=train, test=test, out=other, limit=20, progress=False,
                                        probes=("coverage",)), log=lambda m: None)
    same = tmp_path / "runs" / "same"
    shutil.copytree(finished, same)
    notes = data_notes(load_runs([same, other]))
    assert len(notes) == 1 and "different test sentences" in notes[0] and "same" in notes[0] and "other" in notes[0]
    assert data_notes(load_runs([same, finished])) == []
    r = report(tmp_path, same, other)
    assert r.exit_code == 0 and "warning: the memorization runs were made on different test sentences" in r.output


def test_a_manifest_cannot_point_the_check_outside_the_run(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    for bad in (["..", "probes"], ["/"]):
        m = manifest(run)
        m["run"]["parts"] = bad
        assert "malformed" in check_run(run, m)
    m = manifest(run)
    m["run"]["files"]["../outside.json"] = "sha256:0"
    assert "malformed" in check_run(run, m)
    assert manifest(run)["run"]["finished"].endswith("Z")


def test_an_unfinished_retention_run_is_refused_too(tmp_path):
    from nerprobe.provenance import begin_run, finish_run
    from nerprobe.retention.run import RUN_PARTS

    run = tmp_path / "ret"
    begin_run(run, {"kind": "retention", "identity": {}, "fingerprints": {}}, RUN_PARTS)
    (run / "results" / "base").mkdir(parents=True)
    (run / "results" / "base" / "task.json").write_text("{}")
    (run / "stats.json").write_text("{}")
    with pytest.raises(InputError, match="not finished"):
        load_run(run)
    finish_run(run, manifest(run), RUN_PARTS)
    assert load_run(run).kind == "retention"
    (run / "results" / "base" / "task.json").write_text('{"changed": 1}')
    with pytest.raises(InputError, match="results/base/task.json is not the file the run wrote"):
        load_run(run)
