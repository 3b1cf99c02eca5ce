"""``probe generate`` (batched, cached, optionally data-parallel generation) and ``probe models`` (the aliases)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional

import typer

from nerprobe.cli.common import console, one_line_errors, warn
from nerprobe.errors import OptionError


def cache_dir_option(value: Path | None) -> Path:
    """``--cache-dir``, else ``$NERPROBE_CACHE/generations``, else ``~/.cache/nerprobe/generations``."""
    from nerprobe.models.cache import default_cache_dir

    return Path(value).expanduser() if value is not None else default_cache_dir()


@one_line_errors
def generate(
    model: str = typer.Option(..., "--model", help="alias (see `probe models`), hub id or local model directory"),
    adapter: Optional[str] = typer.Option(None, "--adapter", help="PEFT LoRA adapter directory"),
    input: Optional[Path] = typer.Option(None, "--input", help="corpus to tag (CoNLL, JSONL, GENIA XML, alpaca JSON)"),
    requests_file: Optional[Path] = typer.Option(None, "--requests", help="prompts to answer exactly as written: an "
                                                 "alpaca JSON (a set of `probe memorization --export`), instead of "
                                                 "--input"),
    format: Optional[str] = typer.Option(None, "--format", help="output format: bracketed, xml, json, "
                                         "occurrence_index, offset_json (default: the adapter's, else xml)"),
    labels: Optional[str] = typer.Option(None, "--labels", help="conll2003, wnut17, genia, a label-set JSON file or "
                                         "comma-separated labels (default: the adapter's, else from the corpus)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="a seeded random subset of N sentences (in "
                                        "corpus order; the same as `probe memorization --limit N --seed S` takes)"),
    seed: int = typer.Option(0, "--seed", help="seed of the --limit subset"),
    batch_size: int = typer.Option(8, "--batch-size", min=1),
    engine: str = typer.Option("generate", "--engine", help="generate (padded batches of --batch-size, sorted by "
                               "length) or continuous (transformers' continuous batching: a GPU path, faster where "
                               "prompt lengths vary; same float32 outputs)"),
    num_processes: int = typer.Option(1, "--num-processes", min=1, help="data-parallel worker processes"),
    max_new_tokens: Optional[int] = typer.Option(None, "--max-new-tokens", min=1,
                                                 help="fixed budget (default: input tokens × format factor + 32)"),
    stop: List[str] = typer.Option([], "--stop", help="stop string (repeatable)"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 (default: auto)"),
    dtype: Optional[str] = typer.Option(None, "--dtype", help="bf16, fp16, fp32 (default: auto)"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="generation cache (default: "
                                             "$NERPROBE_CACHE/generations or ~/.cache/nerprobe/generations)"),
    template: Optional[str] = typer.Option(None, "--template", help="chat template: model (the tokenizer's own, "
                                           "default), llama3, qwen, alpaca, default (as LLaMA-Factory writes them) or "
                                           "a Jinja file"),
    system: Optional[str] = typer.Option(None, "--system", help="system prompt (default: none, or the template's)"),
    out: Path = typer.Option(..., "--out", help="predictions JSONL to write (id, prompt, output)"),
    out_style: str = typer.Option("nerprobe", "--out-style", help="nerprobe (id, prompt, output) or llamafactory "
                                  "(prompt, predict, label: generated_predictions.jsonl)"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Generate model outputs for a corpus, through the generation cache; writes nerprobe predictions JSONL."""
    from nerprobe.data.io import read_corpus
    from nerprobe.formats import get_format
    from nerprobe.models.loading import check_spec
    from nerprobe.models.parallel import generate as run_generation
    from nerprobe.models.predictors import build_requests
    from nerprobe.models.prompting import choose_prompting, foreign_adapter_warning, trained_prompting
    from nerprobe.models.registry import resolve
    from nerprobe.provenance import file_sha256, sentences_sha256, write_manifest
    from nerprobe.safe_io import atomic_writer, check_input_file, check_output_file, check_writable_dir

    from nerprobe.exchange.outputs import OUT_STYLES, output_line
    from nerprobe.exchange.requests import limited
    from nerprobe.templates import resolve_template

    if format is not None:
        get_format(format)
    if out_style not in OUT_STYLES:
        raise OptionError("--out-style", f"{out_style!r} is not one of {', '.join(OUT_STYLES)}")
    from nerprobe.models.hf_generate import ENGINES

    if engine not in ENGINES:
        raise OptionError("--engine", f"{engine!r} is not one of {', '.join(ENGINES)}")
    if (input is None) == (requests_file is None):
        raise OptionError("--input", "give a corpus (--input) or exported prompts (--requests), one of them")
    source = input if input is not None else requests_file
    check_input_file(source)
    if template is not None:
        resolve_template(template)  # an unknown name or a broken file fails before any model loads
    model_dirs = [Path(model).expanduser(), Path(adapter).expanduser() if adapter else None]
    # before any model loads: never the input, never inside the model or adapter, never a folder
    check_output_file(out, [source], what="--out", input_dirs=model_dirs)
    manifest_path = out.with_name(out.name + ".manifest.json")
    check_output_file(manifest_path, [source], what="manifest", input_dirs=model_dirs)
    if cache_dir is not None:
        check_writable_dir(cache_dir, what="generation cache")
    spec = resolve(model, adapter, format_name=format or "xml")
    check_spec(spec)  # before reading the corpus or any weight
    trained = trained_prompting(spec.adapter)
    foreign = foreign_adapter_warning(spec.adapter)
    if foreign and requests_file is not None and not (format and template):
        warn(foreign)  # with --input, choose_prompting says it among its warnings
    golds: list = []
    if requests_file is not None:
        from nerprobe.exchange.requests import read_alpaca_requests

        requests, golds, file_system = read_alpaca_requests(requests_file, format or "xml")
        pairs = limited(list(zip(requests, golds)), limit, seed)
        requests, golds = [r for r, _ in pairs], [g for _, g in pairs]
        if not requests:
            raise OptionError("--requests", f"{requests_file} has no records")
        system = system if system is not None else (file_system if file_system is not None else
                                                      (trained.system if trained else None))
        template = template or (trained.template if trained else None)
        prompting, labelset, sentences = None, None, [r.sentence for r in requests]
        format = format or "xml"
    else:
        corpus = read_corpus(input)
        sentences = limited(corpus.sentences, limit, seed)
        if not sentences:
            raise OptionError("--input", f"{input} has no sentences")
        prompting = choose_prompting(trained, format_name=format, labels=labels, corpus_labels=corpus.labels,
                                     template=template, system=system)
        template, system = prompting.template, prompting.system
        for w in prompting.warnings:
            warn(w)
        format, labelset = prompting.format_name, prompting.labelset
        requests = build_requests(sentences, format, labelset)
    cache_path = cache_dir_option(cache_dir)
    chat_template = None
    if template is not None:
        from nerprobe.models.loading import load_tokenizer

        chat_template = resolve_template(template, load_tokenizer(spec))
    outputs, predictor = run_generation(
        spec, requests, cache_path, batch_size=batch_size, max_new_tokens=max_new_tokens, stop_strings=stop,
        device=device, dtype=dtype, num_processes=num_processes, progress=progress, template=chat_template,
        system=system, engine=engine,
    )
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under `accelerate launch`, only the main process writes
    with atomic_writer(out) as fh:
        for k, (r, o) in enumerate(zip(requests, outputs)):
            text = predictor.prompt_text(r) if out_style != "nerprobe" else None
            line = output_line(out_style, r, o, model_text=text, label=golds[k] if golds else None)
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    manifest = {
        "kind": "predictions",
        "model": predictor.loaded.manifest(),
        "input": str(source),
        "data": {"sha256": sentences_sha256(sentences), "file_sha256": file_sha256(source)},
        "format": format,
        "labels": list(labelset.names) if labelset is not None else None,
        "prompting": prompting.manifest() if prompting is not None else {"requests": str(requests_file)},
        "template": chat_template.manifest() if chat_template is not None else {"name": "model",
                                                                                "prompt_style": predictor.prompt_style},
        "system": system,
        "out_style": out_style,
        "subset": {"limit": limit, "seed": seed} if limit else "all",
        "n_items": len(requests),
        "generated": predictor.generated,
        "num_processes": num_processes,
        "decoding": {"greedy": True, "max_new_tokens": max_new_tokens or "per item: input tokens × format factor + 32",
                     "stop": list(stop), "batch_size": batch_size, "engine": engine},
        "cache": str(predictor.cache.path),
    }
    write_manifest(manifest_path, manifest)  # + command, created (UTC), versions; written atomically
    from_cache = len(requests) - predictor.generated if num_processes == 1 else "see cache"
    console.print(
        f"wrote {len(requests)} predictions to {out} (model {predictor.fingerprint}, "
        f"prompt style {predictor.prompt_style}; generated here {predictor.generated}, "
        f"from cache {from_cache}); manifest {manifest_path}",
        highlight=False, soft_wrap=True,
    )


@one_line_errors
def models(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """List the model aliases (shipped and from the user's alias file)."""
    from rich.table import Table

    from nerprobe.models.registry import load_aliases, user_alias_file

    if as_json:
        print(json.dumps({"aliases": load_aliases(), "user_alias_file": str(user_alias_file())}, ensure_ascii=False))
        return
    table = Table("alias", "base", "adapter", "description")
    for name, entry in sorted(load_aliases().items()):
        table.add_row(name, entry["base"], entry.get("adapter") or "", entry.get("description") or "")
    console.print(table)
    console.print(f"user alias file: {user_alias_file()}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``probe generate`` and ``probe models`` to the ``probe`` app."""
    app.command("generate")(generate)
    app.command("models")(models)
