"""``probe train``: LoRA fine-tuning of a base model on a NER corpus rendered in one output format."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from nerprobe.cli.common import console, deprecated_alias, one_line_errors, take_alias
from nerprobe.errors import OptionError


@one_line_errors
def train(
    model: str = typer.Option(..., "--model", help="Base model: alias, local directory or hub id."),
    train_file: Path = typer.Option(..., "--train", help="Training corpus (CoNLL, JSONL, GENIA, alpaca JSON)."),
    format_name: str = typer.Option("xml", "--format", help="Output format the model learns to write."),
    out: Path = typer.Option(..., "--out", help="Adapter directory to create."),
    labels: Optional[str] = typer.Option(
        None, "--labels", help="Label set: conll2003, wnut17, genia, a JSON file or comma-separated labels "
        "(default: from the corpus)."
    ),
    preset: Optional[str] = typer.Option(None, "--preset", help="Hyperparameter preset: llms4ner."),
    rank: Optional[int] = typer.Option(None, "--rank", help="LoRA rank [16; llms4ner 256]."),
    lora_alpha: Optional[int] = typer.Option(None, "--lora-alpha", help="LoRA alpha [32; llms4ner 512]."),
    old_alpha: Optional[int] = deprecated_alias("--alpha", "--lora-alpha"),
    dropout: Optional[float] = typer.Option(None, "--dropout", help="LoRA dropout [0.05]."),
    target_modules: Optional[str] = typer.Option(
        None, "--target-modules", help="'all-linear' or comma-separated module names [all-linear]."
    ),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate [2e-4; llms4ner 2e-5]."),
    epochs: Optional[float] = typer.Option(None, "--epochs", help="Epochs [3; llms4ner 2]."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Stop after this many steps (overrides epochs)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Batch size per device [8]."),
    grad_accum: Optional[int] = typer.Option(None, "--grad-accum", help="Gradient accumulation steps [1]."),
    max_length: Optional[int] = typer.Option(None, "--max-length", help="Longest example in tokens [1024]."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="linear, cosine, constant [linear; llms4ner cosine]."),
    warmup: Optional[float] = typer.Option(None, "--warmup", help="Warmup ratio [0.03; llms4ner 0.1]."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed [0]."),
    symbolize: Optional[str] = typer.Option(
        None, "--symbolize", help="Rename labels A, B, C, ...: with-definitions or symbols-only."
    ),
    name_refresh: Optional[str] = typer.Option(
        None, "--name-refresh", help="Give every entity a fresh made-up name of the same shape in every epoch "
        "(shape): the adapter learns to copy and type names from context, not to memorize them."
    ),
    save_steps: Optional[int] = typer.Option(None, "--save-steps", help="Checkpoint every N steps (resumable)."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out that nerprobe wrote (an adapter or run folder) once "
        "training is done; other folders are never replaced."
    ),
    template: Optional[str] = typer.Option(None, "--template", help="chat template to train through: model (the "
                                           "tokenizer's own, default), llama3, qwen, alpaca, default (as LLaMA-Factory "
                                           "writes them) or a Jinja file; the manifest records it for later commands"),
    system: Optional[str] = typer.Option(None, "--system", help="system prompt to train with (default: none, or the "
                                         "template's); the manifest records it"),
    lenient: bool = typer.Option(False, "--lenient", help="Skip bad records of --train instead of stopping."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="A progress bar on a terminal, a line "
                                  "per few steps with the loss on stderr otherwise (a log file)."),
) -> None:
    """Fine-tune a LoRA adapter for generative NER (loss on the response only) and write its manifest."""
    from nerprobe.data.io import read_corpus
    from nerprobe.formats.labels import resolve_label_set
    from nerprobe.formats import get_format
    from nerprobe.models.registry import resolve
    from nerprobe.models.chat_training import train_lora_prompted
    from nerprobe.models.training import TrainConfig, check_adapter_dir, read_manifest
    from nerprobe.safe_io import check_input_file
    from nerprobe.templates import resolve_template

    lora_alpha = take_alias(lora_alpha, old_alpha, "--alpha", "--lora-alpha")
    get_format(format_name)
    if preset not in (None, "llms4ner"):
        raise OptionError("--preset", f"unknown preset '{preset}' (known: llms4ner)")
    check_input_file(train_file)
    resolve_template(template)  # an unknown name or a broken file fails before any data or model is read
    label_file = labels if labels is not None and Path(labels).exists() else None
    check_adapter_dir(out, [train_file, label_file], overwrite=overwrite)  # before reading data or loading a model
    config = TrainConfig.llms4ner() if preset == "llms4ner" else TrainConfig()
    overrides = {
        "rank": rank, "alpha": lora_alpha, "dropout": dropout, "learning_rate": lr, "epochs": epochs,
        "batch_size": batch_size, "grad_accum": grad_accum, "max_length": max_length, "lr_scheduler": scheduler,
        "warmup_ratio": warmup, "seed": seed, "symbolize": symbolize, "max_steps": max_steps, "save_steps": save_steps,
        "name_refresh": name_refresh,
    }
    if target_modules is not None:
        mods = tuple(m.strip() for m in target_modules.split(",") if m.strip())
        if not mods:
            raise OptionError("--target-modules", "give 'all-linear' or module names")
        overrides["target_modules"] = "all-linear" if mods == ("all-linear",) else mods
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None}).validate()

    corpus = read_corpus(train_file, lenient=lenient)
    if corpus.skipped:
        console.print(f"skipped {len(corpus.skipped)} bad record(s) of {train_file}")
    if len(corpus) == 0:
        raise OptionError("--train", f"{train_file} holds no sentences")
    labelset = resolve_label_set(labels, corpus.labels)
    # adapter="" keeps an alias's bundled adapter from being resolved (or built): training starts from the base
    spec = resolve(model, adapter="", format_name=format_name)
    adapter = train_lora_prompted(spec, list(corpus), format_name, labelset, out, config, template=template,
                                  system=system, overwrite=overwrite, progress=progress)
    m = read_manifest(adapter)
    t = m["training"]
    console.print(
        f"adapter {adapter}: {m['data']['n_sentences']} sentences, {t['steps']} steps, "
        f"train loss {t['train_loss']:.4f}, {t['seconds']:.1f} s"
    )
    if m.get("template") or m.get("system") is not None:
        console.print(f"chat template {(m.get('template') or {}).get('name', 'model')}, system prompt "
                      f"{m.get('system')!r} (recorded: generate and memorization prompt the adapter so by default)")
    if m["labels"]["symbol_map"]:
        console.print("labels: " + ", ".join(f"{k}→{v}" for k, v in m["labels"]["symbol_map"].items()))


def register(app: typer.Typer) -> None:
    """Add ``probe train`` to the ``probe`` app."""
    app.command("train")(train)
