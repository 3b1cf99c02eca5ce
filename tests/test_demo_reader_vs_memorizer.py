"""Issue 14: the probes tell the demo's two real transformers apart. One memorization run on the whole demo test set
with the memorizer and the reader adapters of the tiny base as two subjects (beside the rule controls): every memory
indicator, and the seen-unseen gap, is lower for the reader, by a paired test of the run's declared family with Holm
at 0.05; and the reader sits on the context side of the midpoint between the lookup memorizer and the context-only
control, the memorizer adapter on the memory side. (On recipe version 2, whose train split was all typed by context,
memory share and lookup gain alone did not separate them: ``nerprobe.models.tiny``.)

A change that broke the probes' ability to see reading (generation, parsing, the sets, the indicators, the tests)
fails here. The adapters are built and cached with the base (``$NERPROBE_CACHE``); the run's generations are cached
too, so a second run takes seconds.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

#: The probes whose indicators are compared (every generating probe with an indicator; ``swapped-labels`` has none).
PROBES = ("coverage", "unseen-entities", "type-swaps", "pair-lookup")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from nerprobe.demo import demo_adapters
    from nerprobe.memorization.config import MemorizationConfig
    from nerprobe.memorization.run import run_memorization

    kinds = demo_adapters(progress=False)
    out = tmp_path_factory.mktemp("reader-vs-memorizer") / "run"
    return run_memorization(MemorizationConfig(
        model="tiny", adapters=(("memorizer", str(kinds["memorizer"])), ("reader", str(kinds["reader"]))),
        baseline="none", probes=PROBES, out=out, progress=False), log=lambda m: None)


def _between(run) -> dict[str, dict]:
    """The declared reader-vs-memorizer comparisons by indicator (difference = reader - memorizer)."""
    return {c["about"]["indicator"]: c for c in run["stats"]["comparisons"] if c["kind"] == "between_subjects"}


def _memory_indicators() -> list[str]:
    from nerprobe.probes import registry

    return [spec.name for _, spec in registry.indicator_specs(PROBES) if spec.memory]


def test_the_run_declares_reader_vs_memorizer_on_every_memory_indicator(run):
    assert run["manifest"]["subjects"] == ["memorizer", "reader"]
    between = _between(run)
    assert set(between) == set(_memory_indicators()) | {"seen_unseen_gap"}, sorted(between)
    assert all((c["a"], c["b"]) == ("memorizer", "reader") for c in between.values())


@pytest.mark.parametrize("indicator", [
    "seen_unseen_gap", "replacement_memory_effect", "memory_share", "lookup_gain_alone", "lookup_gain_in_context",
])
def test_the_indicator_is_lower_for_the_reader_holm_significant(run, indicator):
    """Expected direction: the reader relies less on memorized names than the memorizer (difference reader -
    memorizer below 0, its CI too), by a test of the run's declared family, Holm-adjusted, at 0.05."""
    c = _between(run)[indicator]
    assert c["p"] is not None and c["reason"] is None, c
    assert c["difference"] < 0 and c["high"] < 0, c
    assert c["reject"] is True and c["p_holm"] < 0.05, c


def test_the_reader_sits_on_the_context_side_of_the_rule_controls_midpoint(run):
    """For each memory indicator both rule controls measure, the reader is nearer the context-only control than the
    lookup memorizer (past their midpoint), and the memorizer adapter nearer the lookup memorizer."""
    ind = run["stats"]["indicators"]
    checked = 0
    for name in [*_memory_indicators(), "seen_unseen_gap"]:
        memory, context = ind["lookup"][name]["value"], ind["context-only"][name]["value"]
        reader, memorizer = ind["reader"][name]["value"], ind["memorizer"][name]["value"]
        if memory is None or context is None or memory == context:
            continue
        mid = (memory + context) / 2
        assert reader is not None and (reader - mid) * (context - mid) > 0, (name, memory, context, reader)
        assert memorizer is not None and (memorizer - mid) * (memory - mid) > 0, (name, memory, context, memorizer)
        checked += 1
    assert checked >= 4
