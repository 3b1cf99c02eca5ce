"""``probe memorization``: does the tuned model read the context or recall entity→label pairs?"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from nerprobe.cli.common import console, err_console, one_line_errors, warn


def _pct(x: float) -> str:
    return f"{round(100 * x, 1) + 0.0:.1f}"  # + 0.0 turns -0.0 into 0.0


def _ci(d: dict | None) -> str:
    if not d or d.get("estimate") is None:
        return "-"
    if d.get("low") is None:
        return _pct(d["estimate"])
    return f"{_pct(d['estimate'])} [{_pct(d['low'])}, {_pct(d['high'])}]"


def summary_table(result: dict) -> Table:
    """One row per predictor: F1 on the original and unseen-entities sets, the F1 drop, type-swap rates, pair
    lookup, and the position between the memorizer (1) and the context-only (0) ends."""
    scores, summary = result["scores"], result["stats"]["summary"]
    table = Table(title="memorization probes (%, 95% bootstrap CI)")
    for col in ("predictor", "F1 original", "F1 unseen-ent.", "F1 drop", "context-following", "memory-following",
                "pair lookup alone", "in context", "position"):
        table.add_column(col, justify="left" if col == "predictor" else "right")
    for p, s in summary.items():
        sc = scores.get(p, {})
        pos = s.get("mean_position")
        table.add_row(
            p,
            _ci(sc.get("coverage", {}).get("f1_ci")),
            _ci(sc.get("unseen-entities", {}).get("f1_ci")),
            _ci(s.get("f1_drop")),
            _ci(s.get("context_following")),
            _ci(s.get("memory_following")),
            _ci(s.get("pair_lookup_accuracy")),
            _ci(s.get("in_context_accuracy")),
            "-" if pos is None else f"{pos:.2f}",
        )
    return table


@one_line_errors
def memorization(
    model: str = typer.Option(..., "--model", help="alias (see `probe models`), hub id, local model directory, "
                                                 "or 'lookup' (the lookup baseline alone)"),
    adapter: Optional[str] = typer.Option(None, "--adapter", help="PEFT LoRA adapter directory"),
    baseline: str = typer.Option("base", "--baseline", help="base (the model without its adapter), another model, "
                                                           "or none; the lookup baseline always runs"),
    train: Optional[Path] = typer.Option(None, "--train", help="training corpus (default: the demo corpus)"),
    test: Optional[Path] = typer.Option(None, "--test", help="test corpus (default: the demo corpus)"),
    pool: Optional[Path] = typer.Option(None, "--pool", help="corpus of held-out replacement mentions "
                                                             "(default: the test set's own unseen mentions)"),
    format: Optional[str] = typer.Option(None, "--format", help="bracketed, xml, json, occurrence_index, "
                                         "offset_json (default: the adapter's, else xml)"),
    labels: Optional[str] = typer.Option(None, "--labels", help="conll2003, wnut17, genia, a label-set JSON file or "
                                         "comma-separated labels (default: the adapter's, else the training corpus's)"),
    probes: List[str] = typer.Option(["coverage", "unseen-entities", "swapped-labels", "pair-lookup"], "--probes",
                                     help="coverage, unseen-entities, swapped-labels, type-swaps, pair-lookup "
                                          "(repeatable or comma-separated)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="a seeded random subset of N test sentences (and N pairs)"),
    seed: int = typer.Option(0, "--seed", help="seed of the probe sets and the bootstrap"),
    n_resamples: Optional[int] = typer.Option(None, "--n-resamples", min=1, help="bootstrap resamples (default: "
                                              "chosen from the declared family, at least 20 x tests / 0.05; fewer "
                                              "are refused)"),
    normalize: str = typer.Option("casefold", "--normalize", help="mention normalization: casefold, exact, "
                                                                   "whitespace, alnum"),
    replacement_source: str = typer.Option("auto", "--replacement-source", help="auto, pool or faker"),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1,
                                                 help="fixed budget (default: input tokens × format factor + 32)"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: auto)"),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="bf16, fp16, fp32 (default: auto)"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="generation cache directory"),
    lenient: bool = typer.Option(False, "--lenient", help="skip (and count) malformed records of the corpora"),
    out: Path = typer.Option(Path("runs/memorization"), "--out", help="run directory to write"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Run the memorization probes with the model, its baseline and the lookup baseline; write the run directory."""
    from nerprobe.analysis.significance import TooFewResamples
    from nerprobe.errors import OptionError
    from nerprobe.probes.run import RUN_PARTS, MemorizationConfig, run_memorization
    from nerprobe.provenance import command_line
    from nerprobe.safe_io import check_run_dir, check_writable_dir

    if limit is not None and limit < 1:
        raise OptionError("--limit", "must be at least 1")
    check_run_dir(out, [train, test, pool], parts=RUN_PARTS)  # before any model loads or probe set is built
    if cache_dir is not None:
        check_writable_dir(cache_dir, what="generation cache")
    names = tuple(p.strip() for item in probes for p in item.split(",") if p.strip())
    cfg = MemorizationConfig(
        model=model, adapter=adapter, baseline=baseline, train=train, test=test, pool=pool, format_name=format, labels=labels,
        probes=names, limit=limit, seed=seed, n_resamples=n_resamples, normalize=normalize,
        replacement_source=replacement_source, batch_size=batch_size, max_new_tokens=max_new_tokens, device=device, dtype=dtype,
        cache_dir=cache_dir, lenient=lenient, out=out, progress=progress,
        command=command_line(),
    )
    try:
        result = run_memorization(cfg, log=lambda msg: err_console.print(msg, highlight=False))
    except TooFewResamples as err:
        raise OptionError("--n-resamples", err.reason) from None
    for problem in result["manifest"]["problems"]:
        warn(problem)
    console.print(summary_table(result))
    family = result["stats"]["family"]
    holm = [c for c in result["stats"]["comparisons"] if c.get("reject")]
    console.print(f"{family['m']} declared paired tests (Holm over exactly these, {family['n_resamples']} resamples), "
                  f"{len(holm)} significant at {family['alpha']:g}; run written to {out}", highlight=False,
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``probe memorization`` to the ``probe`` app."""
    app.command("memorization")(memorization)
