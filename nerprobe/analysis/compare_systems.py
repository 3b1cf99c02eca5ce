"""Several systems (model × output format) on one gold set: scores with CIs, and a declared family of paired tests.

This is the study's headline comparison (which format, which model is better) with intervals and tests: every
system is paired with the same gold sentences and scored as ``probe score`` scores one file; the family of tests is
declared by the user (``formats``: within each model, every format against that model's best format; ``models``:
within each format, every model against the best model; or explicit pairs), each is a paired bootstrap on the
per-sentence statistics, and Holm runs over exactly that family. The number of resamples follows the family
(``significance.resamples_for_family``), so that a verdict never hangs on the resolution of the p-values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from nerprobe.analysis.pairing import PairedPredictions, pair_predictions
from nerprobe.analysis.score_files import MATCH_MODES, llms4ner_match_stats, strict_stats
from nerprobe.analysis.significance import bootstrap_ci, holm, paired_bootstrap, resamples_for_family, signature
from nerprobe.analysis.spans import prf
from nerprobe.errors import InputError, NerprobeError

FAMILIES = ("formats", "models")
"""Declared families: ``formats`` (within each model, each format against the best) and ``models`` (within each
format, each model against the best); anything else is a comma list of explicit ``A:B`` pairs."""


@dataclass(frozen=True)
class System:
    """One system to compare: a ``name`` (``model/format`` or just ``model``), its model and format names (the
    format None when the name does not say it: detected from the file) and its predictions file."""

    name: str
    model: str
    format_name: str | None
    path: Path

    @classmethod
    def from_arg(cls, arg: str) -> "System":
        """A system from ``NAME=PATH``, NAME being ``MODEL/FORMAT`` or ``MODEL``; ValueError for another shape."""
        name, sep, path = arg.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise ValueError(f"{arg!r} is not NAME=PREDICTIONS")
        model, _, fmt = name.partition("/")
        return cls(name, model, fmt or None, Path(path))


def systems_from_folder(folder: str | Path, pattern: str) -> list[System]:
    """The systems whose files under ``folder`` match ``pattern``, a relative path that names ``{model}`` and
    ``{format}`` (e.g. ``{model}/{format}/generated_predictions.jsonl``), sorted by name. InputError when nothing
    matches; ValueError for a pattern without ``{model}``."""
    folder = Path(folder)
    if pattern.count("{model}") != 1 or pattern.count("{format}") > 1:
        raise ValueError(f"the pattern {pattern!r} must name {{model}} once (and may name {{format}} once)")
    parts = re.split(r"(\{model\}|\{format\})", pattern)
    regex = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p in ("{model}", "{format}") else re.escape(p) for p in parts)
    glob = re.sub(r"\{(model|format)\}", "*", pattern)
    found = []
    for path in sorted(folder.glob(glob)):
        m = re.fullmatch(regex, path.relative_to(folder).as_posix())
        if m and path.is_file():
            model, fmt = m.group("model"), m.groupdict().get("format")
            found.append(System(f"{model}/{fmt}" if fmt else model, model, fmt, path))
    if not found:
        raise InputError(str(folder), None, f"no file matches {pattern!r}")
    return found


def _system_stats(paired: PairedPredictions, match: str, labels: list[str] | None = None
                  ) -> tuple[np.ndarray, list[str], str]:
    """``(stats, labels, how counted)`` of one system, on the label axis ``labels`` when given."""
    return (strict_stats if match == "strict" else llms4ner_match_stats)(paired, labels)


def declare_family(systems: Sequence[System], f1: dict[str, float], compare: str) -> list[tuple[str, str]]:
    """The declared family as ``(reference, other)`` name pairs: the best system of each group against each of the
    others (``formats``: groups are models; ``models``: groups are formats; ties go to the first name), or the
    explicit pairs of ``compare`` (``A:B,C:D``). ValueError for an unknown name or a family with no test."""
    names = {s.name for s in systems}
    if compare in FAMILIES:
        key = (lambda s: s.model) if compare == "formats" else (lambda s: s.format_name or "")
        groups: dict[str, list[System]] = {}
        for s in systems:
            groups.setdefault(key(s), []).append(s)
        pairs = []
        for _, members in sorted(groups.items()):
            if len(members) < 2:
                continue
            best = min(members, key=lambda s: (-f1[s.name], s.name))
            pairs += [(best.name, s.name) for s in sorted(members, key=lambda s: s.name) if s is not best]
    else:
        pairs = []
        for item in compare.split(","):
            a, sep, b = item.partition(":")
            a, b = a.strip(), b.strip()
            if not sep or a not in names or b not in names or a == b:
                raise ValueError(f"{item!r} is not a pair A:B of two systems ({', '.join(sorted(names))})")
            pairs.append((a, b))
    if not pairs:
        raise ValueError(f"the family {compare!r} holds no test: each group needs two systems or more")
    return pairs


def compare_systems(
    gold_sentences: Sequence,
    systems: Sequence[System],
    *,
    compare: str = "formats",
    match: str = "strict",
    n_resamples: int | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    allow_mismatch: bool = False,
) -> dict:
    """Score every system on the gold sentences and run the declared family of paired tests.

    Returns a JSON-ready dict: ``systems`` (per name: model, format, path, ``scores`` = ``spans.prf``, ``micro_f1_ci``,
    ``pairing`` summary), ``labels``, ``family`` (what was declared and its pairs), ``comparisons`` (one
    ``PairedComparison`` dict per pair, the reference as system a, with ``p_holm``, ``reject`` and ``verdict``),
    ``holm`` and ``n_resamples``. Raises NerprobeError when systems repeat a name or cover different gold sentences,
    ValueError for a bad family or match, and TooFewResamples when ``n_resamples`` is too small for the family.
    """
    if match not in MATCH_MODES:
        raise ValueError(f"unknown match {match!r}; use one of {', '.join(MATCH_MODES)}")
    if len(systems) < 2:
        raise ValueError("a comparison needs two systems or more")
    names = [s.name for s in systems]
    if len(set(names)) != len(names):
        raise NerprobeError(f"system names repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    paired, counted, labels = {}, {}, set()
    for s in systems:
        p = pair_predictions(gold_sentences, s.path, format_name=s.format_name, allow_mismatch=allow_mismatch)
        _, rows, how = _system_stats(p, match)
        paired[s.name], counted[s.name] = p, how
        labels.update(rows)
    first = systems[0].name
    ids = [g.id for g in paired[first].gold]
    for s in systems[1:]:
        if [g.id for g in paired[s.name].gold] != ids:
            raise NerprobeError(f"{s.path}: covers other gold sentences than {systems[0].path} "
                                f"({len(paired[s.name].gold)} vs {len(ids)}); compare systems on the same sentences")
    label_axis = sorted(labels)
    stats = {s.name: _system_stats(paired[s.name], match, label_axis)[0] for s in systems}
    f1 = {n: prf(st, label_axis)["micro"]["f1"] for n, st in stats.items()}
    pairs = declare_family(systems, f1, compare)
    n_resamples = resamples_for_family(len(pairs), alpha, n_resamples)
    out_systems = {}
    for s in systems:
        ci = bootstrap_ci(stats[s.name], "micro-f1", n_resamples=n_resamples, seed=seed, alpha=alpha,
                          match=counted[s.name])
        fmt = paired[s.name].format_name
        out_systems[s.name] = {"model": s.model, "format": s.format_name or fmt, "path": str(s.path),
                               "match": counted[s.name], "scores": prf(stats[s.name], label_axis),
                               "micro_f1_ci": ci.to_dict(), "pairing": paired[s.name].summary()}
    comparisons = []
    for a, b in pairs:
        how = counted[a] if counted[a] == counted[b] else f"{counted[a]}~{counted[b]}"
        r = paired_bootstrap(stats[a], stats[b], "micro-f1", n_resamples=n_resamples, seed=seed, alpha=alpha,
                             match=how)
        comparisons.append({"a": a, "b": b, **r.to_dict()})
    adj = holm([c["p_value"] for c in comparisons], alpha)
    for c, p_holm, reject in zip(comparisons, adj.adjusted, adj.reject):
        c["p_holm"], c["reject"] = p_holm, reject
        c["verdict"] = ("better" if c["difference"] > 0 else "worse") if reject else "no significant difference"
    return {
        "kind": "compare", "match": match, "labels": label_axis, "systems": out_systems,
        "family": {"declared": compare, "pairs": [list(p) for p in pairs], "m": len(pairs)},
        "comparisons": comparisons, "holm": adj.to_dict(), "n_resamples": n_resamples, "seed": seed,
        "alpha": alpha, "signature": signature(test="compare", family=compare, m=len(pairs), n=n_resamples,
                                               seed=seed),
    }



COMPARE_PARTS = ("stats.json",)
"""The files of a compare run directory besides its manifest."""


def write_compare_run(out_dir: str | Path, result: dict, gold_path: str | Path, systems: Sequence[System],
                      *, command: str | None = None) -> Path:
    """Write ``result`` as a run directory that ``probe report`` reads: ``manifest.json`` (kind ``compare``, the gold
    and every predictions file with their SHA-256, the family, match, resamples and seed; marked running, then
    complete with the hash of every file) and ``stats.json``. Returns the directory."""
    from nerprobe.provenance import begin_run, file_sha256, finish_run, write_json

    out = Path(out_dir)
    if out.is_dir():
        for part in COMPARE_PARTS:  # a rerun replaces the old run's files: the directory holds one run
            (out / part).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "kind": "compare",
        "gold": {"path": str(gold_path), "sha256": file_sha256(gold_path)},
        "systems": {s.name: {"path": str(s.path), "sha256": file_sha256(s.path), "model": s.model,
                             "format": result["systems"][s.name]["format"]} for s in systems},
        "match": result["match"], "family": result["family"], "n_resamples": result["n_resamples"],
        "seed": result["seed"], "alpha": result["alpha"],
    }
    manifest = begin_run(out, manifest, COMPARE_PARTS, command=command)
    write_json(out / "stats.json", result)
    finish_run(out, manifest, COMPARE_PARTS, command=command)
    return out
