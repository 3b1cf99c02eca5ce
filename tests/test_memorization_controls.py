"""The controls on real CoNLL-2003 (train/test/dev from ../shared/data): every memory indicator puts the lookup
memorizer at the memory end, the context-only control at the context end, the form-only control at no memory, and
gives the do-nothing predictor ``n/a`` — each with its CI. If a probe or an indicator stopped measuring, these fail."""

from __future__ import annotations

import pytest

from nerprobe.memorization.config import MemorizationConfig
from nerprobe.memorization.run import run_memorization

MEMORY = ("replacement_memory_effect", "memory_share", "lookup_gain_alone", "lookup_gain_in_context")


@pytest.fixture(scope="module")
def conll_run(data_dir, tmp_path_factory):
    d = data_dir / "conll2003"
    cfg = MemorizationConfig(model="lookup", train=d / "train.txt", test=d / "test.txt", dev=d / "valid.txt",
                             out=tmp_path_factory.mktemp("conll"), progress=False)
    return run_memorization(cfg, log=lambda m: None)


def covers_zero(e: dict) -> bool:
    return e["low"] <= 0.0 <= e["high"]


def test_the_memorizer_sits_at_the_memory_end(conll_run):
    ind = conll_run["stats"]["indicators"]["lookup"]
    assert ind["memory_share"]["low"] >= 0.95
    assert ind["lookup_gain_alone"]["low"] >= 0.9 and ind["lookup_gain_in_context"]["low"] >= 0.9
    # seen replacements score above the originals, so the effect exceeds 1 (see probes.measures)
    assert ind["replacement_memory_effect"]["low"] >= 0.9
    assert ind["unseen_drop"]["value"] == 1.0


def test_the_context_reader_sits_at_the_context_end(conll_run):
    ind = conll_run["stats"]["indicators"]
    ctx, form = ind["context-only"], ind["form-only"]
    assert ctx["replacement_memory_effect"]["value"] == 0.0  # its input does not change with the names
    assert covers_zero(ctx["lookup_gain_in_context"])
    assert ctx["lookup_gain_alone"]["value"] is None  # nothing to read alone: n/a, not 0
    # the context reader gives the memorized label less often than form alone does, and far less than memory
    assert ctx["memory_share"]["high"] < form["memory_share"]["low"] < ind["lookup"]["memory_share"]["low"]


def test_the_form_only_control_shows_no_memory(conll_run):
    form = conll_run["stats"]["indicators"]["form-only"]
    for k in ("replacement_memory_effect", "lookup_gain_alone", "lookup_gain_in_context"):
        assert covers_zero(form[k]), (k, form[k])
    # memory share is read against this floor: the memorizer lies far above it, with a paired CI
    beyond = conll_run["stats"]["beyond_form"]["lookup"]["memory_share"]
    assert beyond["low"] > 0.2 and beyond["in_family"] is False
    tested = {c["a"] for c in conll_run["stats"]["comparisons"]}
    assert tested == {"form-only"} and all(c["reject"] for c in conll_run["stats"]["comparisons"])


def test_the_do_nothing_predictor_is_not_available(conll_run):
    for k, e in conll_run["stats"]["indicators"]["do-nothing"].items():
        assert e["value"] is None and "support" in e["reason"], k


def test_the_controls_never_saw_a_pair_of_train_or_test(conll_run):
    manifest = conll_run["manifest"]
    assert manifest["predictors"]["form-only"]["role"] == "control"
    assert manifest["data"]["dev"].endswith("valid.txt")
