"""``probe memorization``: does the tuned model read the context or recall entity→label pairs?"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from nerprobe.cli.common import console, err_console, freeze_heap_at_exit, one_line_errors, warn
from nerprobe.memorization.config import DEFAULT_PROBES
from nerprobe.probes.registry import PROBES


def _pct(x: float) -> str:
    return f"{round(100 * x, 1) + 0.0:.1f}"  # + 0.0 turns -0.0 into 0.0


def estimate_cell(d: dict | None, unit: str = "share") -> str:
    """An Estimate dict as ``value [low, high]`` (a share in %, other units as they are, 2 decimals), ``n/a``
    without a value, ``-`` when absent."""
    if not d:
        return "-"
    if d.get("value") is None:
        return "n/a"
    num = _pct if unit == "share" else (lambda x: f"{x + 0.0:.2f}")
    if d.get("low") is None:
        return num(d["value"])
    return f"{num(d['value'])} [{num(d['low'])}, {num(d['high'])}]"


def indicator_rows(stats: dict) -> list[dict]:
    """The indicators the table shows: every memory indicator of the run, then the descriptive ones."""
    specs = stats.get("indicator_specs", [])
    return [s for s in specs if s["memory"]] + [s for s in specs if not s["memory"]]


def summary_table(result: dict) -> Table:
    """One column per predictor (subjects, base, controls), one row per indicator with its CI, F1 on the test
    sentences first; ``n/a`` where the predictor gives too little support (the reasons are in stats.json)."""
    scores, stats = result["scores"], result["stats"]
    roles = stats.get("roles", {})
    predictors = list(stats["indicators"])
    table = Table(title="memorization indicators (%, 95% bootstrap CI; n/a: too little support)")
    table.add_column("indicator (* memory)")
    for p in predictors:
        table.add_column(p if roles.get(p) != "subject" else f"{p} (subject)", justify="right")

    def cell(d, unit="share"):
        return estimate_cell(d, unit).replace(" [", "\n[")

    table.add_row("F1 test", *(cell(scores.get(p, {}).get("coverage", {}).get("f1")) for p in predictors))
    for s in indicator_rows(stats):
        unit = s.get("unit", "share")
        title = s["name"].replace("_", " ") + (" *" if s["memory"] else "") + ("" if unit == "share" else f" ({unit})")
        table.add_row(title, *(cell(stats["indicators"][p].get(s["name"]), unit) for p in predictors))
    return table


def _adapters(values: list[str]) -> tuple[Optional[str], tuple[tuple[str, str], ...]]:
    """``--adapter``: one DIR (the subject ``model``), or NAME=DIR repeated (one subject each)."""
    from nerprobe.errors import OptionError

    if not values:
        return None, ()
    named = [v.split("=", 1) for v in values if "=" in v]
    if len(named) != len(values):
        if len(values) == 1:
            return values[0], ()
        raise OptionError("--adapter", "give one adapter directory, or NAME=DIR for each of several adapters")
    names = [n for n, _ in named]
    if len(set(names)) != len(names) or not all(n.strip() for n in names):
        raise OptionError("--adapter", f"adapter names must be distinct and non-empty: {', '.join(names)}")
    from nerprobe.memorization.predictors import BASELINE, CONTROLS

    reserved = {BASELINE, *CONTROLS} & set(names)
    if reserved:
        raise OptionError("--adapter", f"{sorted(reserved)[0]!r} names a control; choose another adapter name")
    return None, tuple((n.strip(), d) for n, d in named)


@one_line_errors
def memorization(
    model: str = typer.Option(..., "--model", help="alias (see `probe models`), hub id, local model directory, "
                                                 "or 'lookup' (the lookup memorizer as the subject)"),
    adapter: List[str] = typer.Option([], "--adapter", help="PEFT LoRA adapter directory; or NAME=DIR, repeated, "
                                      "for several adapters of one base (e.g. names=DIR symbols=DIR)"),
    baseline: str = typer.Option("base", "--baseline", help="base (the model without its adapter), another model, "
                                                           "or none; the controls always run"),
    train: Optional[Path] = typer.Option(None, "--train", help="training corpus (default: the demo corpus)"),
    test: Optional[Path] = typer.Option(None, "--test", help="test corpus (default: the demo corpus)"),
    dev: Optional[Path] = typer.Option(None, "--dev", help="held-out corpus (e.g. the dev set) the form-only and "
                                       "context-only controls learn from; surfaces seen in train or test are left out"),
    pool: Optional[Path] = typer.Option(None, "--pool", help="corpus of held-out replacement mentions "
                                                             "(default: the test set's own unseen mentions)"),
    format: Optional[str] = typer.Option(None, "--format", help="bracketed, xml, json, occurrence_index, "
                                         "offset_json (default: the adapter's, else xml)"),
    labels: Optional[str] = typer.Option(None, "--labels", help="conll2003, wnut17, genia, a label-set JSON file or "
                                         "comma-separated labels (default: the adapter's, else the training corpus's)"),
    template: Optional[str] = typer.Option(None, "--template", help="chat template: model (the tokenizer's own), "
                                           "llama3, qwen, alpaca, default (as LLaMA-Factory writes them) or a Jinja "
                                           "file (default: the adapter's, else the model's)"),
    system: Optional[str] = typer.Option(None, "--system", help="system prompt (default: the adapter's, else none)"),
    probes: List[str] = typer.Option(list(DEFAULT_PROBES), "--probes",
                                     help=", ".join(PROBES) + " (repeatable or comma-separated; likelihood and "
                                          "exposure score token log-probabilities, no generation)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="a seeded random subset of N test sentences (and N pairs)"),
    seed: int = typer.Option(0, "--seed", help="seed of the probe sets and the bootstrap"),
    n_resamples: Optional[int] = typer.Option(None, "--n-resamples", min=1, help="bootstrap resamples (default: "
                                              "chosen from the declared family, at least 20 x tests / 0.05; fewer "
                                              "are refused)"),
    normalize: str = typer.Option("casefold", "--normalize", help="mention normalization: casefold, exact, "
                                                                   "whitespace, alnum"),
    replacement_source: str = typer.Option("auto", "--replacement-source", help="auto, pool or faker"),
    min_context: int = typer.Option(3, "--min-context", min=0, help="type swaps keep sentences with at least this "
                                    "many alphabetic words outside entities"),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1,
                                                 help="fixed budget (default: input tokens × format factor + 32)"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: auto)"),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="bf16, fp16, fp32 (default: auto)"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="generation cache directory"),
    lenient: bool = typer.Option(False, "--lenient", help="skip (and count) malformed records of the corpora"),
    export: Optional[Path] = typer.Option(None, "--export", help="write the probe sets as LLaMA-Factory data and "
                                          "prompt JSONL into this folder, and stop (generate with your engine, then "
                                          "come back with --predictions)"),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="outputs made elsewhere for the exported "
                                               "sets (generated_predictions.jsonl per set, or JSONL with id + output): "
                                               "the subject answers with them"),
    out: Path = typer.Option(Path("runs/memorization"), "--out", help="run directory to write"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Run the memorization probes with the model, its base and the controls; write the run directory."""
    from nerprobe.analysis.significance import TooFewResamples
    from nerprobe.errors import OptionError
    from nerprobe.memorization.config import MemorizationConfig
    from nerprobe.memorization.run import RUN_PARTS, run_memorization
    from nerprobe.provenance import command_line
    from nerprobe.safe_io import check_run_dir, check_writable_dir

    if limit is not None and limit < 1:
        raise OptionError("--limit", "must be at least 1")
    if template is not None:
        from nerprobe.templates import resolve_template

        resolve_template(template)  # an unknown name or a broken file fails before any set is built
    one, named = _adapters(adapter)
    if export is not None and predictions is not None:
        raise OptionError("--predictions", "give --export (write the sets) or --predictions (read outputs back), "
                          "not both")
    if export is None:
        check_run_dir(out, [train, test, pool, dev], parts=RUN_PARTS)  # before any model loads or set is built
    if cache_dir is not None:
        check_writable_dir(cache_dir, what="generation cache")
    names = tuple(p.strip() for item in probes for p in item.split(",") if p.strip())
    cfg = MemorizationConfig(
        model=model, adapter=one, adapters=named, baseline=baseline, train=train, test=test, dev=dev, pool=pool,
        format_name=format, labels=labels, template=template, system=system, probes=names, limit=limit, seed=seed, n_resamples=n_resamples,
        normalize=normalize, replacement_source=replacement_source, min_context=min_context, batch_size=batch_size,
        max_new_tokens=max_new_tokens, device=device, dtype=dtype, cache_dir=cache_dir, lenient=lenient, out=out,
        progress=progress, export=export, predictions=predictions, command=command_line(),
    )
    try:
        result = run_memorization(cfg, log=lambda msg: err_console.print(msg, highlight=False))
    except TooFewResamples as err:
        raise OptionError("--n-resamples", err.reason) from None
    freeze_heap_at_exit()  # the run directory is written and closed
    if as_json:
        print_json(result, out)
        return
    if "export" in result:
        console.print(f"exported {len(result['sets'])} probe sets to {export} (manifest: {result['export']}); "
                      "generate greedily with your engine, then rerun with --predictions", highlight=False,
                      soft_wrap=True)
        return
    for problem in result["manifest"]["problems"]:
        warn(problem)
    console.print(summary_table(result))
    family = result["stats"]["family"]
    signif = [c for c in result["stats"]["comparisons"] if c.get("reject")]
    console.print(f"{family['m']} declared paired tests (Holm over exactly these, {family['n_resamples']} resamples; "
                  f"{len(family['untested'])} untested: n/a), {len(signif)} significant at {family['alpha']:g}; "
                  f"run written to {out}", highlight=False, soft_wrap=True)


def print_json(result: dict, out: Path) -> None:
    """``--json``: the indicators, the declared tests and the problems (or, with ``--export``, what was exported) as
    one JSON object on stdout."""
    import json

    if "export" in result:
        obj = {"export": result["export"], "sets": result["sets"]}
    else:
        stats = result["stats"]
        obj = {"indicators": stats["indicators"], "indicator_specs": stats["indicator_specs"],
               "roles": stats.get("roles", {}), "comparisons": stats["comparisons"], "family": stats["family"],
               "problems": result["manifest"]["problems"], "run_directory": str(out)}
    print(json.dumps(obj, ensure_ascii=False, default=str))


def register(app: typer.Typer) -> None:
    """Add ``probe memorization`` to the ``probe`` app."""
    app.command("memorization")(memorization)
