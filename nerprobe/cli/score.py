"""``probe score``: span scores of predictions against gold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from nerprobe.cli.common import console, deprecated_alias, freeze_heap_at_exit, one_line_errors, take_alias, warn

if TYPE_CHECKING:
    from rich.table import Table


def _prf_cells(r: dict) -> tuple[str, str, str]:
    """Precision, recall, F1 in percent; ``n/a`` where the counts give them no support (nothing predicted, nothing
    to find), never a 0 that reads as a measurement."""
    p = f"{100 * r['precision']:.2f}" if r["n_pred"] else "n/a"
    rec = f"{100 * r['recall']:.2f}" if r["n_gold"] else "n/a"
    f1 = f"{100 * r['f1']:.2f}" if r["n_pred"] + r["n_gold"] else "n/a"
    return p, rec, f1


def _scores_table(result: dict) -> Table:
    from rich.table import Table  # here: probe score --json prints no table

    ci = result["micro_f1_ci"]
    title = f"{result['pred']} vs {result['gold']}"
    t = Table(title=title, title_justify="left")
    for col in ("type", "P", "R", "F1", "tp", "pred", "gold"):
        t.add_column(col, justify="left" if col == "type" else "right")
    s = result["scores"]
    for label, r in s["per_type"].items():
        t.add_row(label, *_prf_cells(r), str(r["tp"]), str(r["n_pred"]), str(r["n_gold"]))
    m = s["micro"]
    p, r, f1 = _prf_cells(m)
    if ci is not None and m["n_pred"] + m["n_gold"]:
        f1 += f" [{100 * ci['low']:.2f}, {100 * ci['high']:.2f}]"
    t.add_row("micro", p, r, f1, str(m["tp"]), str(m["n_pred"]), str(m["n_gold"]), style="bold")
    a = s["macro"]
    macro = [f"{100 * a[k]:.2f}" if s["per_type"] else "n/a" for k in ("precision", "recall", "f1")]
    t.add_row("macro", *macro, "", "", "", style="bold")
    return t


def _pairing_table(p: dict) -> Table:
    from rich.table import Table

    t = Table(title=f"parsing ({p['kind']}{', ' + p['format'] if p['format'] else ''})", title_justify="left")
    t.add_column("")
    t.add_column("count", justify="right")
    t.add_row(f"sentences scored (paired by {p['paired_by']})", f"{p['n_sentences']} of {p['n_gold_sentences']}")
    if p["kind"] in ("alpaca", "generated_predictions"):
        for status, n in p["parse_status"].items():
            t.add_row(status, str(n))
    for kind, n in p["predicted_entities"].items():
        if n or kind == "located":
            t.add_row(f"predicted entities: {kind}", str(n))
    for kind, n in p["problems"].items():
        if kind not in p["predicted_entities"]:
            t.add_row(f"  problem: {kind}", str(n))
    t.add_row("input text checked", str(p["text_checked"]))
    t.add_row("input text ≠ gold sentence", str(p["text_mismatches"]))
    if p["label_map"]:
        t.add_row("labels mapped", ", ".join(f"{k}→{v}" for k, v in p["label_map"].items()))
    return t


@one_line_errors(hints={"allow_mismatch": "check that the files belong together, or pass --allow-mismatch"})
def score(
    gold: Path = typer.Option(..., "--gold", help="Gold corpus: CoNLL, nerprobe/nested JSONL, GENIA XML or alpaca."),
    pred: Path = typer.Option(..., "--pred", help="Predictions: alpaca JSON, generated_predictions.jsonl, "
                              "nerprobe JSONL or CoNLL; paired with gold sentences by id when they carry gold ids, "
                              "else by order."),
    format_name: Optional[str] = typer.Option(None, "--format", help="Output format of the predictions "
                                              "(bracketed, xml, json, occurrence_index, offset_json); "
                                              "default: from the file name or the outputs."),
    match: str = typer.Option("strict", "--match", help="strict: every predicted entity against the gold sentence, "
                              "exact spans (grouped json: multisets of text and label); llms4ner: the LLMs4NER "
                              "study's own count of output against reference output, to compare with the paper."),
    credit_unlocated: bool = typer.Option(False, "--credit-unlocated", help="Credit entities that cannot be "
                                          "located by their text (position-free, counted as 'lenient')."),
    old_lenient: bool = deprecated_alias("--lenient", "--credit-unlocated", flag=True),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Score even when more than 1% of the "
                                        "predictions were made for another text than their gold sentence."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    resamples: Optional[int] = typer.Option(None, "--n-resamples", show_default="10000",
                                            help="Bootstrap resamples for the micro-F1 CI."),
    old_resamples: Optional[int] = deprecated_alias("--resamples", "--n-resamples"),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
) -> None:
    """Span P/R/F1 per type, micro (with a bootstrap 95% CI) and macro, and what parsing met."""
    from nerprobe.analysis.score_files import MATCH_MODES, score_files
    from nerprobe.errors import OptionError

    resamples = take_alias(resamples, old_resamples, "--resamples", "--n-resamples")
    resamples = 10000 if resamples is None else resamples
    credit_unlocated = take_alias(credit_unlocated, old_lenient, "--lenient", "--credit-unlocated")
    if resamples < 1:
        raise OptionError("--n-resamples", "must be at least 1")
    if seed < 0:
        raise OptionError("--seed", "must be a non-negative integer")
    if match not in MATCH_MODES:
        raise OptionError("--match", f"unknown mode {match!r}; use one of {', '.join(MATCH_MODES)}")
    result = score_files(gold, pred, format_name=format_name, lenient=credit_unlocated, match=match,
                         allow_mismatch=allow_mismatch, n_resamples=resamples, seed=seed)
    freeze_heap_at_exit()
    for note in result["pairing"]["notes"]:
        warn(note)
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    console.print(_scores_table(result))
    console.print(_pairing_table(result["pairing"]))
    if result["micro_f1_ci"] is not None:
        console.print(f"micro-F1 CI: {result['micro_f1_ci']['signature']}", highlight=False, soft_wrap=True)
