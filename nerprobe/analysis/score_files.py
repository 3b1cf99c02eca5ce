"""Score a predictions file against a gold corpus: the numbers behind ``probe score``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nerprobe.analysis.pairing import PairedPredictions, gold_on_input, pair_predictions
from nerprobe.analysis.significance import bootstrap_ci, counts_not_kept
from nerprobe.analysis.spans import labels_of, prf, span_stats
from nerprobe.errors import NerprobeError

MATCH_MODES = ("strict", "llms4ner")
"""``strict`` (default): every predicted entity against the gold sentence, exact spans (a multiset of (text, label)
for position-free grouped JSON); ``llms4ner``: the study's own count of output against reference output."""


def strict_stats(paired: PairedPredictions, labels: list[str] | None = None) -> tuple[np.ndarray, list[str], str]:
    """``(stats, labels, match)``: exact-span statistics of the paired predictions, or (text, label) multisets when
    the output format carries no positions (``match`` says which: ``exact`` or ``text``). ``labels`` fixes the
    label axis (default: the labels of gold and predictions)."""
    from nerprobe.formats import get_format

    position_free = paired.format_name is not None and get_format(paired.format_name).position_free
    match = "text" if position_free else "exact"
    labels = labels if labels is not None else labels_of(paired.gold, paired.predicted)
    return span_stats(paired.gold, paired.predicted, labels, match), labels, match


def llms4ner_references(paired: PairedPredictions) -> list[str]:
    """The reference output of each paired prediction for the LLMs4NER count: the record's ``label``, else the
    gold file's own output, else the gold entities rendered in the format on the text the model was given (in the
    predictions' label names, symbolized or not). NerprobeError when the predictions hold no output strings."""
    from nerprobe.formats import get_format

    if paired.outputs is None or paired.format_name is None:
        raise NerprobeError(f"the LLMs4NER count compares model output strings; {paired.kind} predictions have none "
                            "(give alpaca JSON or generated_predictions.jsonl)")
    fmt = get_format(paired.format_name)
    symbol_of = {label: symbol for symbol, label in paired.label_map.items()}
    names = sorted({symbol_of.get(e.label, e.label) for s in paired.gold for e in s.entities})
    references = []
    inputs = paired.inputs or [None] * len(paired.gold)
    for sentence, ref, text in zip(paired.gold, paired.references, inputs):
        if ref is None:
            sentence = gold_on_input(sentence, text)
            if symbol_of:
                sentence = sentence.with_entities(
                    type(e)(e.start, e.end, symbol_of.get(e.label, e.label)) for e in sentence.entities)
            ref = fmt.render(sentence, names)
        references.append(ref)
    return references


def llms4ner_match_stats(paired: PairedPredictions, labels: list[str] | None = None
                         ) -> tuple[np.ndarray, list[str], str]:
    """``(stats, labels, "llms4ner")``: the LLMs4NER scripts' count of each output against its reference output
    (``llms4ner_references``). ``labels`` fixes the label axis (default: the gold's label names, as the
    predictions spell them, then any other label met)."""
    from nerprobe.analysis.llms4ner import llms4ner_stats

    references = llms4ner_references(paired)
    if labels is None:
        symbol_of = {label: symbol for symbol, label in paired.label_map.items()}
        labels = sorted({symbol_of.get(e.label, e.label) for s in paired.gold for e in s.entities})
    stats, rows = llms4ner_stats(paired.format_name, paired.outputs, references, labels)
    return stats, rows, "llms4ner"


def score_paired(
    paired: PairedPredictions, *, match: str = "strict", n_resamples: int = 10000, seed: int = 0
) -> dict:
    """Micro/macro/per-type P/R/F1 (fractions) of paired predictions, a bootstrap CI of micro F1, and the pairing
    summary: ``{"match": ..., "scores": prf(...), "micro_f1_ci": BootstrapCI dict or None (no sentence or no
    entity at all), "labels": [...], "pairing": {...}}``. ``match`` is one of ``MATCH_MODES``."""
    if match not in MATCH_MODES:
        raise ValueError(f"unknown match {match!r}; use one of {', '.join(MATCH_MODES)}")
    stats, labels, counted = (strict_stats if match == "strict" else llms4ner_match_stats)(paired)
    out = {"match": counted, "labels": labels, "scores": prf(stats, labels), "pairing": paired.summary()}
    # no sentence, or no entity anywhere (no label at all): F1 is undefined, so there is no interval to draw
    # one CI: nothing to keep the resamples' count matrices for
    with counts_not_kept():
        out["micro_f1_ci"] = bootstrap_ci(
            stats, "micro-f1", n_resamples=n_resamples, seed=seed, match=counted
        ).to_dict() if stats.size else None
    return out


def score_files(
    gold_path: str | Path,
    pred_path: str | Path,
    *,
    format_name: str | None = None,
    kind: str | None = None,
    lenient: bool = False,
    match: str = "strict",
    allow_mismatch: bool = False,
    n_resamples: int = 10000,
    seed: int = 0,
) -> dict:
    """Read the gold corpus (any kind ``read_corpus`` knows) and the predictions, pair them (by id, else by order;
    ``pair_predictions``) and score them (``score_paired``).

    Returns ``score_paired``'s dict plus ``gold`` and ``pred`` paths. Raises ``InputError`` for unreadable files,
    predictions that do not fit the gold, and (unless ``allow_mismatch``) predictions made for other sentences.
    """
    from nerprobe.data.io import read_corpus

    gold = read_corpus(gold_path)
    paired = pair_predictions(gold.sentences, pred_path, format_name=format_name, kind=kind, lenient=lenient,
                              allow_mismatch=allow_mismatch)
    return {"gold": str(gold_path), "pred": str(pred_path),
            **score_paired(paired, match=match, n_resamples=n_resamples, seed=seed)}
