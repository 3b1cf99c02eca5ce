"""``probe compare``: several systems (model × format) on one gold set, with a declared family of paired tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from nerprobe.cli.common import console, deprecated_alias, one_line_errors, take_alias


def _f1_table(result: dict) -> Table:
    """Rows: models, columns: formats (as LLMs4NER's main table); cells: micro-F1 [95% CI]."""
    systems = result["systems"]
    models = sorted({s["model"] for s in systems.values()})
    formats = sorted({s["format"] or "" for s in systems.values()})
    t = Table(title=f"micro-F1 [95% CI] (match: {result['match']})", title_justify="left")
    t.add_column("model")
    for f in formats:
        t.add_column(f or "-", justify="right")
    for m in models:
        cells = []
        for f in formats:
            s = next((s for s in systems.values() if s["model"] == m and (s["format"] or "") == f), None)
            if s is None:
                cells.append("")
                continue
            ci = s["micro_f1_ci"]
            cells.append(f"{100 * s['scores']['micro']['f1']:.2f} [{100 * ci['low']:.2f}, {100 * ci['high']:.2f}]")
        t.add_row(m, *cells)
    return t


def _parse_table(result: dict) -> Table:
    t = Table(title="parsing per system", title_justify="left")
    for col in ("system", "exact", "aligned", "lenient", "failed", "unplaced FP"):
        t.add_column(col, justify="left" if col == "system" else "right")
    for name, s in result["systems"].items():
        st = s["pairing"]["parse_status"]
        t.add_row(name, *(str(st[k]) for k in ("exact", "aligned", "lenient", "failed")),
                  str(s["pairing"]["predicted_entities"]["unplaced (false positives)"]))
    return t


def _tests_table(result: dict) -> Table:
    fam = result["family"]
    t = Table(title=f"paired bootstrap, Holm over the declared family '{fam['declared']}' ({fam['m']} tests)",
              title_justify="left")
    for col in ("reference", "system", "Δ F1 [95% CI]", "p", "p Holm", "verdict"):
        t.add_column(col, justify="right" if col.startswith(("Δ", "p")) else "left")
    for c in result["comparisons"]:
        lo, hi = c["ci_difference"]
        t.add_row(c["a"], c["b"], f"{100 * c['difference']:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}]",
                  f"{c['p_value']:.2g}", f"{c['p_holm']:.2g}", c["verdict"])
    return t


@one_line_errors(hints={"allow_mismatch": "check that the files belong together, or pass --allow-mismatch"})
def compare(
    systems: Optional[List[str]] = typer.Argument(None, help="Systems as NAME=PREDICTIONS, NAME being MODEL/FORMAT "
                                                  "(e.g. qwen/xml=preds/qwen_xml.json) or MODEL."),
    gold: Path = typer.Option(..., "--gold", help="Gold corpus every system is scored on."),
    folder: Optional[Path] = typer.Option(None, "--dir", help="A folder of prediction files, one per model × format "
                                          "(with --pattern)."),
    pattern: str = typer.Option("{model}/{format}/generated_predictions.jsonl", "--pattern",
                                help="Where each system's file lies under --dir, naming {model} and {format}."),
    family: str = typer.Option("formats", "--compare", help="The family of tests: formats (within each model, every "
                               "format against its best), models (within each format, every model against the "
                               "best), or explicit pairs A:B,C:D. Holm runs over exactly these."),
    match: str = typer.Option("strict", "--match", help="strict (default) or llms4ner, as in probe score."),
    resamples: Optional[int] = typer.Option(None, "--n-resamples", help="Bootstrap resamples (default: enough for the "
                                            "family, at least 10000)."),
    old_resamples: Optional[int] = deprecated_alias("--resamples", "--n-resamples"),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    alpha: float = typer.Option(0.05, "--alpha", help="Level of the tests and of the CIs (1 - alpha)."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Score files whose inputs differ from the "
                                        "gold sentences in more than 1% of the pairs."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write a run directory that probe report turns into the "
                                       "table and a figure."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Micro-F1 with CIs per model × format, per-type scores and parse counts, and paired tests over a declared
    family, Holm-corrected."""
    from nerprobe import safe_io
    from nerprobe.analysis.compare_systems import System, compare_systems, systems_from_folder, write_compare_run
    from nerprobe.analysis.score_files import MATCH_MODES
    from nerprobe.analysis.significance import TooFewResamples
    from nerprobe.data.io import read_corpus
    from nerprobe.errors import OptionError

    resamples = take_alias(resamples, old_resamples, "--resamples", "--n-resamples")
    if match not in MATCH_MODES:
        raise OptionError("--match", f"unknown mode {match!r}; use one of {', '.join(MATCH_MODES)}")
    if not 0 < alpha < 1:
        raise OptionError("--alpha", "must lie between 0 and 1")
    if seed < 0:
        raise OptionError("--seed", "must be a non-negative integer")
    chosen: list = []
    for arg in systems or []:
        try:
            chosen.append(System.from_arg(arg))
        except ValueError as err:
            raise OptionError("SYSTEMS", str(err)) from None
    if folder is not None:
        try:
            chosen += systems_from_folder(safe_io.check_input_dir(folder), pattern)
        except ValueError as err:
            raise OptionError("--pattern", str(err)) from None
    if len(chosen) < 2:
        raise OptionError("SYSTEMS", "give two systems or more (NAME=PREDICTIONS, or --dir with --pattern)")
    if out is not None:
        safe_io.check_run_dir(out, [gold, *(s.path for s in chosen)])
    corpus = read_corpus(gold)
    try:
        result = compare_systems(corpus.sentences, chosen, compare=family, match=match, n_resamples=resamples,
                                 seed=seed, alpha=alpha, allow_mismatch=allow_mismatch)
    except TooFewResamples as err:
        raise OptionError("--n-resamples", err.reason) from None
    except ValueError as err:
        raise OptionError("--compare", str(err)) from None
    result["gold"] = str(gold)
    if out is not None:
        write_compare_run(out, result, gold, chosen)
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return
    console.print(_f1_table(result))
    console.print(_parse_table(result))
    console.print(_tests_table(result))
    console.print(f"signature: {result['signature']}", highlight=False, soft_wrap=True)
    if out is not None:
        console.print(f"run written to {out}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``probe compare`` to the ``probe`` app."""
    app.command("compare")(compare)
