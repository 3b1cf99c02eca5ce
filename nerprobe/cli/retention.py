"""``probe retention``: general benchmarks before and after NER tuning, item by item (lm-evaluation-harness)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import typer

from nerprobe.cli.common import console, one_line_errors


def _wide_console():
    """The shared console on a terminal; piped or captured output gets 160 columns so that the table does not wrap."""
    from rich.console import Console

    return console if console.is_terminal else Console(width=max(console.width, 160), markup=False)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _p(x: float) -> str:
    return f"{x:.2g}" if x >= 1e-4 else f"{x:.1e}"


_TEST_SHORT = {"mcnemar-exact": "McNemar", "mcnemar-chi2-cc": "McNemar χ²", "mcnemar-chi2": "McNemar χ²",
               "paired-bootstrap": "bootstrap"}


def print_rows(rows: list[dict], title: str) -> None:
    """The result table: task, metric, base, tuned, Δ with CI, p (test), Holm-adjusted p, verdict; and what the
    verdicts mean."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("task", "metric", "n", "base", "tuned", "Δ [95% CI]", "p", "p Holm", "verdict"):
        table.add_column(col, justify="left" if col in ("task", "metric", "verdict") else "right")
    for r in rows:
        metric = r["metric"] if r["filter"] == "none" else f"{r['metric']} ({r['filter']})"
        ci = f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"
        table.add_row(
            r["task"], metric, str(r["n"]), _fmt(r["value_a"]), _fmt(r["value_b"]), ci,
            f"{_p(r['p'])} ({_TEST_SHORT.get(r['test'], r['test'])})", _p(r["p_holm"]), r["verdict"],
        )
    _wide_console().print(table)
    if rows:
        margin, alpha = rows[0].get("margin"), rows[0]["alpha"]
        _wide_console().print(f"verdicts: worse/better = Holm p < {alpha:g}; retained = not significant and the CI of Δ "
                              f"within ±{margin:g} points; inconclusive = neither (the data cannot tell)",
                              highlight=False)


def print_forms(forms: dict[str, dict[str, dict]]) -> None:
    """Answer length and form of the generative tasks, per model: the share of answers that contain the gold and
    of filtered answers equal to it, each with its chance level (the same check against a shuffled gold)."""
    from rich.table import Table

    if not forms:
        return

    def with_chance(d: dict | None) -> str:
        if not d or d.get("share") is None:
            return "–"
        return f"{d['share']:.2f} ({_fmt(d.get('chance'), 2)})"

    table = Table(title="generated answers (chance: the same check against a shuffled gold)", title_justify="left")
    for col in ("task", "model", "n", "mean words", "bare span", "gold in answer (chance)", "filter",
                "answer = gold (chance)"):
        table.add_column(col, justify="left" if col in ("task", "model", "filter") else "right")
    tasks = sorted({t for per_model in forms.values() for t in per_model})
    for task in tasks:
        for model, per_task in forms.items():
            f = per_task.get(task)
            if f:
                filters = sorted((f.get("filters") or {}).items()) or [("–", None)]
                for k, (filt, eq) in enumerate(filters):
                    head = [task, model, str(f["n"]), _fmt(f["mean_words"], 1), _fmt(f["bare_span_share"], 2),
                            with_chance(f.get("gold_in_answer"))] if k == 0 else [""] * 6
                    table.add_row(*head, filt, with_chance(eq))
    _wide_console().print(table)


@one_line_errors
def retention(
    model: Optional[str] = typer.Option(None, "--model", help="alias (`tiny` runs offline on the demo model), hub id "
                                        "or directory; or lm-eval's backend name `hf` with --model_args"),
    model_args: Optional[str] = typer.Option(None, "--model_args", "--model-args", help="lm-eval's form: "
                                             "pretrained=MODEL[,peft=ADAPTER]"),
    adapter: List[str] = typer.Option([], "--adapter", help="LoRA adapter to compare with the base (repeatable)"),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="comma-separated lm-eval tasks; bundled offline: "
                                        "local_mmlu, local_gsm8k, demo_entity_type, demo_completion "
                                        "(default for --model tiny: the demo tasks)"),
    num_fewshot: Optional[int] = typer.Option(None, "--num-fewshot", "--num_fewshot", min=0,
                                              help="few-shot examples (default: the task's)"),
    limit: Optional[str] = typer.Option(None, "--limit", help="a seeded random subset of N items per task, or a "
                                        "fraction (0.1) of each task, the same items for every model"),
    subset_seed: int = typer.Option(0, "--subset-seed", help="seed of the --limit subset"),
    fewshot_seed: int = typer.Option(1234, "--fewshot-seed", help="seed of the few-shot example draw"),
    chat_template: bool = typer.Option(False, "--chat-template/--no-chat-template", "--apply_chat_template",
                                       help="wrap prompts in the tokenizer's chat template"),
    system_instruction: Optional[str] = typer.Option(None, "--system", "--system-instruction", "--system_instruction",
                                                     help="system prompt (lm-eval's --system_instruction)"),
    batch_size: int = typer.Option(8, "--batch-size", "--batch_size", min=1),
    max_gen_toks: Optional[int] = typer.Option(None, "--max-gen-toks", min=1, help="generation length of "
                                               "generative tasks (default: the task's)"),
    gen_kwargs: Optional[str] = typer.Option(None, "--gen_kwargs", "--gen-kwargs", help="lm-eval's form: "
                                             "max_gen_toks=N (greedy settings accepted, sampling refused)"),
    log_samples: bool = typer.Option(True, "--log_samples", "--log-samples", hidden=True,
                                     help="accepted for lm-eval's command lines: per-item logs are always kept"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="benchmark data for local_mmlu/local_gsm8k "
                                            "(default: $NERPROBE_DATA, else ../shared/data)"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: auto)"),
    n_resamples: Optional[int] = typer.Option(None, "--n-resamples", min=1, help="bootstrap resamples (default: "
                                              "10000, or 20 x tests / alpha when more; fewer are refused)"),
    seed: int = typer.Option(0, "--seed", help="bootstrap seed"),
    alpha: float = typer.Option(0.05, "--alpha", min=1e-6, max=0.5, help="significance level of the tests "
                                "(Holm-adjusted p < alpha)"),
    margin: float = typer.Option(2.0, "--margin", help="retention margin in points: 'retained' when the 95% CI "
                                 "of the change lies within ±margin"),
    out: Path = typer.Option(..., "--out", "--output_path", "--output-path", help="run directory (a rerun with the "
                             "same settings resumes)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bars, lm-eval's included"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    from_lm_eval: Optional[Tuple[Path, Path]] = typer.Option(
        None, "--from-lm-eval", help="BASE_DIR TUNED_DIR: pair and test two lm-eval output folders written with "
        "--log_samples (any backend, any machine) instead of evaluating here"),
) -> None:
    """Run general benchmarks for the base model and base + adapter(s); test the differences item by item."""
    from nerprobe.analysis.significance import TooFewResamples
    from nerprobe.errors import OptionError
    from nerprobe.retention.harness import EvalSettings
    from nerprobe.retention.lm_eval_args import max_gen_toks_from, model_from_args, parse_limit
    from nerprobe.retention.run import RUN_FOLDER_PARTS, plan_retention, run_retention

    if from_lm_eval:
        _from_lm_eval(from_lm_eval, out, n_resamples=n_resamples, seed=seed, alpha=alpha, margin=margin,
                      as_json=as_json,
                      others=[o for o, v in (("--model", model), ("--model_args", model_args), ("--tasks", tasks),
                                             ("--adapter", adapter), ("--limit", limit)) if v])
        return
    model, arg_adapters = model_from_args(model, model_args)
    adapter = list(adapter) + arg_adapters
    limit_value = parse_limit(limit)
    gen_toks = max_gen_toks_from(gen_kwargs)
    if gen_toks is not None and max_gen_toks is not None and gen_toks != max_gen_toks:
        raise OptionError("--gen_kwargs", f"max_gen_toks={gen_toks} but --max-gen-toks {max_gen_toks}")
    max_gen_toks = gen_toks if gen_toks is not None else max_gen_toks
    if not 0 < margin <= 100:
        raise OptionError("--margin", f"must be above 0 and at most 100 points, got {margin:g}")

    from nerprobe.safe_io import check_input_dir, check_run_dir

    if data_dir is not None and data_dir.exists():
        check_input_dir(data_dir)  # a file is refused here; a missing folder by the task that needs it
    check_run_dir(out, [data_dir], parts=RUN_FOLDER_PARTS)  # before any model loads
    task_list = [t.strip() for t in (tasks or "").split(",") if t.strip()]
    settings = EvalSettings(
        num_fewshot=num_fewshot,
        limit=limit_value,
        subset_seed=subset_seed,
        apply_chat_template=chat_template,
        system_instruction=system_instruction,
        batch_size=batch_size,
        max_gen_toks=max_gen_toks,
        fewshot_random_seed=fewshot_seed,
    )
    plan = plan_retention(model, list(adapter), task_list, settings, out, data_dir=data_dir, device=device)
    try:
        result = run_retention(plan, progress=progress, n_resamples=n_resamples, seed=seed, alpha=alpha,
                               margin=margin)
    except TooFewResamples as err:
        raise OptionError("--n-resamples", f"{err.reason} (the evaluations are saved: a rerun with the same --out "
                          "only redoes the statistics)") from None
    if as_json:
        print_json(result)
        return
    for key, rows in result.rows.items():
        print_rows(rows, f"retention: base vs {key}  (Holm across the {len(rows)} tests)")
    print_forms(result.answer_form)
    console.print(f"run directory: {result.out_dir}", highlight=False)


def print_json(result) -> None:
    """``--json``: the comparisons, answer forms, lm-eval's aggregates per model and task (each metric with its
    ``<metric>_stderr,<filter>`` where lm-eval computes one) and the run directory as one JSON object on stdout."""
    import json

    print(json.dumps({"comparisons": result.rows, "answer_form": result.answer_form,
                      "aggregates": result.aggregates, "run_directory": str(result.out_dir)},
                     ensure_ascii=False, default=str))


def _from_lm_eval(dirs, out: Path, *, n_resamples, seed, alpha, margin, others: list[str], as_json=False) -> None:
    """``--from-lm-eval BASE TUNED``: the statistics of two lm-eval runs, written as a retention run directory."""
    from nerprobe.analysis.significance import TooFewResamples
    from nerprobe.errors import OptionError
    from nerprobe.retention.lm_eval_import import import_lm_eval_runs
    from nerprobe.retention.run import RUN_FOLDER_PARTS
    from nerprobe.safe_io import check_run_dir

    if others:
        raise OptionError(others[0], "not used with --from-lm-eval (the lm-eval runs say what was evaluated)")
    if not 0 < margin <= 100:
        raise OptionError("--margin", f"must be above 0 and at most 100 points, got {margin:g}")
    check_run_dir(out, list(dirs), parts=RUN_FOLDER_PARTS)
    try:
        result = import_lm_eval_runs(dirs[0], dirs[1], out, n_resamples=n_resamples, seed=seed, alpha=alpha,
                                     margin=margin)
    except TooFewResamples as err:
        raise OptionError("--n-resamples", err.reason) from None
    if as_json:
        print_json(result)
        return
    for key, rows in result.rows.items():
        print_rows(rows, f"retention: base vs {key} (from lm-eval runs; Holm across the {len(rows)} tests)")
    print_forms(result.answer_form)
    console.print(f"run directory: {result.out_dir}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the retention command(s) to the ``probe`` app."""
    app.command("retention")(retention)
