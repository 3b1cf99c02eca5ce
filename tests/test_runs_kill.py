"""Killed with SIGKILL and run again, ``probe generate`` and ``probe memorization`` give byte-identical results to an
uninterrupted run; two ``probe generate`` at once on one cache both finish and leave it intact; a copied run rerun
with another seed and killed is refused by ``probe report`` in one line.

Real processes, the real command line, a tiny random model (outputs are gibberish but deterministic): about a minute
on 2 cores, most of it starting Python and torch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from model_fixtures import make_random_tiny_model
from nerprobe.data.demo import make_demo_corpus
from nerprobe.data.jsonl import write_jsonl

REPO = Path(__file__).resolve().parents[1]
N = 24  # test sentences


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill")
    model = make_random_tiny_model(root / "model", seed=0)
    corpus = root / "test.jsonl"
    write_jsonl(list(make_demo_corpus(0).test)[:N], corpus)
    return root, model, corpus


def probe(*args: str) -> list[str]:
    return [sys.executable, "-m", "nerprobe", *map(str, args)]


def run(cmd, timeout=600) -> subprocess.CompletedProcess:
    env = {**os.environ, "NERPROBE_CACHE": os.environ.get("NERPROBE_CACHE", str(REPO / ".test-cache"))}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=timeout, env=env)


def cached(cache: Path) -> int:
    """Rows in the generation cache (0 before it exists); read-only, as another process would."""
    db = cache / "generations.sqlite"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM generations").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0  # the table is not created yet


def kill_after(cmd, cache: Path, at_least: int, start: int = 0) -> int:
    """Start ``cmd``, SIGKILL it once the cache holds ``at_least`` rows more than ``start``; returns the rows kept."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and cached(cache) < start + at_least:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished (or failed) before it could be killed: " + proc.stderr.read()[-500:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return cached(cache)


def gen_args(model, corpus, cache, out):
    return probe("generate", "--model", model, "--input", corpus, "--format", "xml", "--labels", "conll2003",
                 "--max-new-tokens", "24", "--batch-size", "1", "--cache-dir", cache, "--out", out, "--no-progress")


@pytest.fixture(scope="module")
def reference_predictions(setup):
    root, model, corpus = setup
    out = root / "reference.jsonl"
    r = run(gen_args(model, corpus, root / "cache-ref", out))
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_generate_killed_and_rerun_is_identical(setup, reference_predictions, tmp_path):
    _, model, corpus = setup
    cache, out = tmp_path / "cache", tmp_path / "pred.jsonl"
    kept = kill_after(gen_args(model, corpus, cache, out), cache, at_least=3)
    assert 3 <= kept < N, kept  # killed in the middle, with what was committed kept
    assert not out.exists()  # nothing half-written where the predictions go
    r = run(gen_args(model, corpus, cache, out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"generated here {N - kept}," in r.stdout.replace("\n", " ")  # every kept generation was reused
    assert out.read_bytes() == reference_predictions.read_bytes()


def test_two_generate_runs_at_once_share_one_cache_intact(setup, reference_predictions, tmp_path):
    _, model, corpus = setup
    cache = tmp_path / "cache"
    env = {**os.environ}
    procs = [subprocess.Popen(gen_args(model, corpus, cache, tmp_path / f"p{i}.jsonl"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, env=env) for i in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-2000:]
    for i in range(2):
        assert (tmp_path / f"p{i}.jsonl").read_bytes() == reference_predictions.read_bytes()
    con = sqlite3.connect(cache / "generations.sqlite")
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*), count(DISTINCT key) FROM generations").fetchone() == (N, N)
    finally:
        con.close()


def mem_args(model, corpus, cache, out, seed=0):
    return probe("memorization", "--model", model, "--baseline", "none", "--train", corpus, "--test", corpus,
                 "--labels", "conll2003", "--probes", "coverage,unseen-entities", "--limit", "8", "--seed", seed,
                 "--max-new-tokens", "24", "--batch-size", "1", "--cache-dir", cache, "--out", out, "--no-progress")


@pytest.fixture(scope="module")
def reference_run(setup):
    root, model, corpus = setup
    out = root / "run-ref"
    r = run(mem_args(model, corpus, root / "cache-mem-ref", out))
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def test_memorization_killed_and_rerun_is_identical(setup, reference_run, tmp_path):
    _, model, corpus = setup
    cache, out = tmp_path / "cache", tmp_path / "run"
    kept = kill_after(mem_args(model, corpus, cache, out), cache, at_least=3)
    assert kept >= 3 and manifest(out)["run"]["state"] == "running"
    r = run(mem_args(model, corpus, cache, out))
    assert r.returncode == 0, r.stderr[-2000:]
    ref, again = manifest(reference_run)["run"], manifest(out)["run"]
    assert again["state"] == "complete" and again["files"] == ref["files"]  # same files, same sha256
    for rel in ref["files"]:
        assert (out / rel).read_bytes() == (reference_run / rel).read_bytes(), rel


def test_copied_run_rerun_with_another_seed_and_killed_is_refused_by_report(setup, reference_run, tmp_path):
    root, model, corpus = setup
    copy = tmp_path / "copy"
    shutil.copytree(reference_run, copy)
    ok = run(probe("report", copy, "--out", tmp_path / "report-ok"))
    assert ok.returncode == 0, ok.stderr[-2000:]
    cache = root / "cache-mem-ref"  # seed 0's generations are cached; seed 1's probe sets are new
    start = cached(cache)
    kill_after(mem_args(model, corpus, cache, copy, seed=1), cache, at_least=2, start=start)
    r = run(probe("report", copy, "--out", tmp_path / "report"))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "not finished" in lines[0] and str(copy) in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "report" / "index.html").exists()
