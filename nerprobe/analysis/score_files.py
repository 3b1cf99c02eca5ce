"""Score a predictions file against a gold corpus: the numbers behind ``probe score``."""

from __future__ import annotations

from pathlib import Path

from nerprobe.analysis.pairing import PairedPredictions, pair_predictions
from nerprobe.analysis.significance import bootstrap_ci
from nerprobe.analysis.spans import labels_of, prf, span_stats


def score_paired(paired: PairedPredictions, *, n_resamples: int = 10000, seed: int = 0) -> dict:
    """Micro/macro/per-type P/R/F1 (fractions) of paired predictions, a bootstrap CI of micro F1, and the pairing
    summary: ``{"scores": prf(...), "micro_f1_ci": BootstrapCI dict, "labels": [...], "pairing": {...}}``."""
    labels = labels_of(paired.gold, paired.predicted)
    stats = span_stats(paired.gold, paired.predicted, labels)
    out = {"labels": labels, "scores": prf(stats, labels), "pairing": paired.summary()}
    out["micro_f1_ci"] = bootstrap_ci(stats, "micro-f1", n_resamples=n_resamples, seed=seed).to_dict() if len(
        stats
    ) else None
    return out


def score_files(
    gold_path: str | Path,
    pred_path: str | Path,
    *,
    format_name: str | None = None,
    kind: str | None = None,
    lenient: bool = False,
    n_resamples: int = 10000,
    seed: int = 0,
) -> dict:
    """Read the gold corpus (any kind ``read_corpus`` knows) and the predictions, pair them by order and score.

    Returns ``score_paired``'s dict plus ``gold`` and ``pred`` paths. Raises ``InputError`` for unreadable files
    or mismatched sentence counts.
    """
    from nerprobe.data.io import read_corpus

    gold = read_corpus(gold_path)
    paired = pair_predictions(gold.sentences, pred_path, format_name=format_name, kind=kind, lenient=lenient)
    return {"gold": str(gold_path), "pred": str(pred_path), **score_paired(paired, n_resamples=n_resamples, seed=seed)}
