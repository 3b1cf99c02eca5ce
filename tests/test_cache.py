"""The generation cache: keys, batches all-or-nothing, and a run killed with SIGKILL resumes losing nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path


from model_fixtures import make_random_tiny_model
from nerprobe.models.cache import GenerationCache

REPO = Path(__file__).resolve().parents[1]


def test_keys_separate_model_settings_and_prompt(tmp_path):
    c = GenerationCache(tmp_path)
    c.put_many("fpA", {"max_new_tokens": 8}, ["p1", "p2"], ["o1", "o2"])
    assert c.get_many("fpA", {"max_new_tokens": 8}, ["p2", "p3", "p1"]) == {0: "o2", 2: "o1"}
    assert c.get_many("fpB", {"max_new_tokens": 8}, ["p1"]) == {}
    assert c.get_many("fpA", {"max_new_tokens": 9}, ["p1"]) == {}
    c.put_many("fpA", {"max_new_tokens": 8}, ["p1"], ["changed"])  # append-only: the first result stays
    assert GenerationCache(tmp_path).get_many("fpA", {"max_new_tokens": 8}, ["p1"]) == {0: "o1"}
    assert len(c) == 2 and c.count("fpA") == 2


GENERATE_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from nerprobe.data.model import Sentence
    from nerprobe.models.cache import GenerationCache
    from nerprobe.models.hf_generate import HFPredictor
    from nerprobe.models.loading import load_model
    from nerprobe.models.predictors import Request
    from nerprobe.models.registry import ModelSpec

    words = "EU rejects German call to boycott British lamb Peter Blackburn BRUSSELS said Thursday".split()
    reqs = []
    for i in range(40):
        s = Sentence.from_tokens(f"s{{i}}", [words[(i * 7 + k) % len(words)] for k in range(1 + i % 6)])
        reqs.append(Request(s.id, s, "xml", None, "Tag the entities.", s.text))
    loaded = load_model(ModelSpec(base={model!r}))
    p = HFPredictor(loaded, cache=GenerationCache({cache!r}), batch_size=2, max_new_tokens=40)
    outs = p.predict(reqs, progress=False)
    print("GENERATED", p.generated)
    print("OUTPUTS", repr(outs))
    """
)


def _run(script, **kw):
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, **kw)


def test_sigkill_mid_generation_resumes_and_loses_nothing(tmp_path):
    model = make_random_tiny_model(tmp_path / "tiny")
    killed_cache = tmp_path / "killed"
    script = GENERATE_SCRIPT.format(tests=str(REPO / "tests"), model=str(model), cache=str(killed_cache))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = killed_cache / "generations.sqlite"
    deadline = time.time() + 300
    n_before = 0
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                n_before = len(GenerationCache(killed_cache))
            except Exception:
                n_before = 0
            if n_before >= 4:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(GenerationCache(killed_cache))
    assert 4 <= kept < 40  # killed in the middle; what was committed is there
    resumed = _run(script, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    generated = int(resumed.stdout.split("GENERATED ")[1].split()[0])
    assert generated == 40 - kept  # every entry of the killed run was reused
    clean = _run(GENERATE_SCRIPT.format(tests=str(REPO / "tests"), model=str(model), cache=str(tmp_path / "clean")),
                 timeout=600)
    assert clean.returncode == 0, clean.stderr[-2000:]
    outputs = lambda r: r.stdout.split("OUTPUTS ", 1)[1]  # noqa: E731
    assert outputs(resumed) == outputs(clean)
