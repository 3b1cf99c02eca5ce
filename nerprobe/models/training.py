"""LoRA fine-tuning for generative NER: ``train_lora`` renders sentences with the formats layer and runs SFT.

The loss is on the response only (see ``nerprobe.models.sft_data``). Training uses the transformers ``Trainer`` with
``DataCollatorForSeq2Seq`` (pads ``labels`` with -100). The adapter directory is written under a ``<out>.partial``
directory and renamed into place at the end, so a directory named ``out_dir`` is always complete; the Trainer's
checkpoints go to ``<out>.partial/checkpoints`` and an interrupted run resumes from them when run again with the same
``out_dir`` (``TrainConfig.save_steps`` sets how often they are written).

``out_dir/nerprobe_adapter.json`` (``MANIFEST_NAME``) records the base and its fingerprint, the data hash, the format,
the label set with its definitions (and the symbol mapping of a symbolized run), the instruction the adapter was
trained with, the hyperparameters, the seed, the loss history, and the provenance every nerprobe manifest carries
(``nerprobe.provenance``: command, UTC time, library versions).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from nerprobe.data.model import Entity, Sentence
from nerprobe.errors import InputError, NerprobeError

MANIFEST_NAME = "nerprobe_adapter.json"
SYMBOLIZE_MODES = ("with-definitions", "symbols-only")
NAME_REFRESH_MODES = ("shape",)
#: The symbols of LLMs4NER's RQ3 (A=ORG, B=PER, C=LOC, D=MISC): these labels take their letters in this order,
#: whatever the order of the label set; any other label follows, in the label set's order.
LLMS4NER_SYMBOL_ORDER = ("ORG", "PER", "LOC", "MISC")


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of a LoRA SFT run. Defaults (a common small-budget LoRA setting):

    rank 16, alpha 32, dropout 0.05, all linear layers of the transformer blocks, learning rate 2e-4, 3 epochs,
    batch size 8 (no accumulation), max length 1024 tokens, linear schedule with warmup 0.03 of the steps,
    no weight decay, seed 0, no symbolization, no intermediate checkpoints.
    ``TrainConfig.llms4ner()`` gives the LLMs4NER settings.

    ``target_modules`` is "all-linear" (PEFT's name for every linear layer but the output head) or a list of module
    names. ``max_steps`` > 0 overrides ``epochs``. ``symbolize`` renames the labels A, B, C, ... (see
    ``SYMBOLIZE_MODES``): "with-definitions" keeps the definitions in the instruction, "symbols-only" drops them.
    ``name_refresh`` ("shape", see ``NAME_REFRESH_MODES``) renders the examples anew for every epoch with every
    entity name replaced by a fresh made-up name of the same shape (``refresh_names``): the adapter cannot learn
    names, only to copy them from the input and type them from their context.
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"
    learning_rate: float = 2e-4
    epochs: float = 3.0
    batch_size: int = 8
    grad_accum: int = 1
    max_length: int = 1024
    lr_scheduler: str = "linear"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    seed: int = 0
    symbolize: str | None = None
    max_steps: int = -1
    save_steps: int | None = None
    logging_steps: int = 10
    name_refresh: str | None = None

    @classmethod
    def llms4ner(cls, **overrides: Any) -> "TrainConfig":
        """The LLMs4NER settings: rank 256, alpha 512, all linear layers, lr 2e-5, 2 epochs, cosine, warmup 0.1."""
        base = cls(
            rank=256, alpha=512, target_modules="all-linear", learning_rate=2e-5, epochs=2.0,
            lr_scheduler="cosine", warmup_ratio=0.1,
        )
        return replace(base, **overrides)

    def validate(self) -> "TrainConfig":
        """Raise ``InputError`` naming the field (``rank``, ``learning_rate``, ...; the CLI maps it to its option)
        for a value that cannot work; return self."""
        checks = [
            ("rank", self.rank > 0, "must be a positive integer"),
            ("alpha", self.alpha > 0, "must be positive"),
            ("dropout", 0.0 <= self.dropout < 1.0, "must be in [0, 1)"),
            ("learning_rate", self.learning_rate > 0, "must be positive"),
            ("epochs", self.epochs > 0 or self.max_steps > 0, "must be positive"),
            ("batch_size", self.batch_size > 0, "must be a positive integer"),
            ("grad_accum", self.grad_accum > 0, "must be a positive integer"),
            ("max_length", self.max_length > 8, "must be more than 8 tokens"),
            ("warmup_ratio", 0.0 <= self.warmup_ratio < 1.0, "must be a ratio in [0, 1)"),
            ("lr_scheduler", self.lr_scheduler in ("linear", "cosine", "constant", "constant_with_warmup"),
             "must be one of linear, cosine, constant, constant_with_warmup"),
            ("symbolize", self.symbolize in (None, *SYMBOLIZE_MODES), f"must be one of {', '.join(SYMBOLIZE_MODES)}"),
            ("name_refresh", self.name_refresh in (None, *NAME_REFRESH_MODES),
             f"must be one of {', '.join(NAME_REFRESH_MODES)}"),
        ]
        for name, ok, message in checks:
            if not ok:
                raise InputError(None, None, f"{name} {getattr(self, name)!r} {message}", field=name)
        return self


# ---- labels and data -----------------------------------------------------------------------------------------------


def symbolize_sentences(sentences: Sequence[Sentence], mapping: dict[str, str]) -> list[Sentence]:
    """The sentences with every entity label renamed through ``mapping`` (original → symbol)."""
    return [s.with_entities(Entity(e.start, e.end, mapping[e.label]) for e in s.entities) for s in sentences]


def symbol_order(names: Sequence[str]) -> list[str]:
    """The labels in the order they take the letters A, B, C, ...: ``LLMS4NER_SYMBOL_ORDER`` first, then the rest."""
    known = [n for n in LLMS4NER_SYMBOL_ORDER if n in names]
    return known + [n for n in names if n not in known]


def prepare_labels(labelset, mode: str | None):
    """``(labelset used in prompts, original → symbol mapping or None)`` for a symbolize ``mode``.

    The letters are LLMs4NER's (A=ORG, B=PER, C=LOC, D=MISC, then the other labels in label-set order); the prompt
    label set lists A, B, C, ... in order, with the definitions only in mode "with-definitions"."""
    if mode is None:
        return labelset, None
    from nerprobe.formats.labels import LabelSet

    ordered = LabelSet(tuple(symbol_order(labelset.names)), dict(labelset.definitions), dict(labelset.long_names))
    return ordered.symbolized(with_definitions=(mode == "with-definitions"))


def data_hash(sentences: Sequence[Sentence]) -> str:
    """``sha256:<hex>`` over the sentences' ids, texts and entities, in order: the identity of a training set (the
    same digest every nerprobe manifest records for the same corpus, ``provenance.sentences_sha256``)."""
    from nerprobe.provenance import sentences_sha256

    return sentences_sha256(sentences)


def labelset_dict(labelset) -> dict:
    """A label set as a manifest records it: ``{"names", "definitions", "long_names"}``."""
    return {"names": list(labelset.names), "definitions": dict(labelset.definitions),
            "long_names": dict(labelset.long_names)}


def render_records(sentences: Sequence[Sentence], format_name: str, labelset) -> list[dict]:
    """Alpaca records (instruction/input/output) for the sentences, rendered by the formats layer.

    Raises ``NerprobeError`` when a sentence uses a label outside ``labelset``.
    """
    from nerprobe.formats.prompts import sft_record

    known = set(labelset.names)
    for s in sentences:
        unknown = s.labels - known
        if unknown:
            raise NerprobeError(
                f"sentence {s.id} has label(s) {', '.join(sorted(unknown))} outside the label set "
                f"{', '.join(labelset.names)}"
            )
    return [sft_record(s, format_name, labelset) for s in sentences]


# ---- name refresh ------------------------------------------------------------------------------------------------

_ONSETS = "b c d f g h j k l m n p r s t v w z br ch cr dr fr gr kr pl pr sh sl st tr th".split() + [""]
_VOWELS = "a e i o u a e i o ai ea ou ie".split()
_CODAS = ["", "", "", "n", "r", "s", "l", "m", "k", "t", "nd", "rt", "st", "x", "sh"]


def fresh_word(like: str, rng, avoid: frozenset[str] = frozenset(), extra: int = 0) -> str:
    """A made-up word shaped like ``like``: random syllables, about as long (``extra`` more syllables), Title-case
    (or upper case when ``like`` is); never a word of ``avoid`` (compared case-folded)."""
    n = max(1, min(4, round(len(like) / 3.5 + rng.uniform(-0.5, 0.5)))) + extra
    while True:
        w = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(n))
        if len(w) > 1 and w not in avoid:
            return w.upper() if like.isupper() and len(like) > 1 else w.capitalize()


def _is_name_word(word: str) -> bool:
    return word.isalpha() and word[0].isupper()


def refresh_sentence(s: Sentence, rng, used: set[str], avoid: frozenset[str] = frozenset()) -> Sentence | None:
    """``s`` with the words of every outermost entity that start with a capital replaced by fresh words (``fresh_word``; the
    other words, "of" or "11", stay); each new entity surface is not in ``used`` (and is added to it). Token spans
    stay; None when the sentence cannot be rebuilt from its tokens (an entity that cuts a token)."""
    spans = [s.token_span(e) for e in s.entities]
    if not s.tokens or any(sp is None for sp in spans):
        return None
    words = [t.text for t in s.tokens]
    outer = [sp for sp in set(spans) if not any(o != sp and o[0] <= sp[0] and sp[1] <= o[1] for o in spans)]
    for a, b in sorted(outer):
        for attempt in range(1000):  # a longer word every 10 tries: short names run out, the search never does
            new = [fresh_word(w, rng, avoid, attempt // 10) if _is_name_word(w) else w for w in words[a:b]]
            if " ".join(new) not in used:
                break
        used.add(" ".join(new))
        words[a:b] = new
    return Sentence.from_tokens(s.id, words, [(a, b, e.label) for (a, b), e in zip(spans, s.entities)],
                                s.doc_id, dict(s.meta))


def refresh_names(sentences: Sequence[Sentence], rng, used: set[str], avoid: frozenset[str] = frozenset()
                  ) -> list[Sentence]:
    """The sentences with fresh entity names (``refresh_sentence``); a sentence that cannot be rebuilt stays as is."""
    out = []
    for s in sentences:
        new = refresh_sentence(s, rng, used, avoid)
        out.append(s if new is None else new)
    return out


class EpochExamples:
    """A training set that is a different list of examples in each epoch (``set_epoch``), all of one length."""

    def __init__(self, epochs: list[list[dict]]):
        self.epochs = epochs
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.epochs[0])

    def __getitem__(self, i: int) -> dict:
        return self.epochs[self.epoch % len(self.epochs)][i]


def _epoch_callback(dataset: EpochExamples):
    """A TrainerCallback that points ``dataset`` at the epoch about to start."""
    from transformers import TrainerCallback

    class SetEpoch(TrainerCallback):
        def on_epoch_begin(self, args, state, control, **kw):
            dataset.set_epoch(round(state.epoch or 0))

    return SetEpoch()


def epochs_to_render(config: "TrainConfig", n_examples: int) -> int:
    """How many epochs a run of ``config`` starts over ``n_examples`` examples (the epochs ``name_refresh`` renders)."""
    import math

    if config.max_steps > 0:
        per_epoch = max(1, math.ceil(n_examples / (config.batch_size * config.grad_accum)))
        return max(1, math.ceil(config.max_steps / per_epoch))
    return max(1, math.ceil(config.epochs))


def refreshed_examples(tokenizer, sentences: Sequence[Sentence], config: "TrainConfig", format_name: str,
                       prompt_labels, mapping: dict | None, avoid: frozenset[str]):
    """``(EpochExamples, stats of the first epoch, refresh record for the manifest)``: each epoch's sentences with
    fresh names (``refresh_names``, seeded by ``config.seed``), symbolized by ``mapping`` and tokenized."""
    import random

    from nerprobe.models.sft_data import build_sft_examples

    rng = random.Random(f"nerprobe-name-refresh-{config.seed}")
    used: set[str] = set()
    n_epochs = epochs_to_render(config, len(sentences))
    epochs, stats = [], None
    for _ in range(n_epochs):
        fresh = refresh_names(sentences, rng, used, avoid)
        fresh = symbolize_sentences(fresh, mapping) if mapping else fresh
        examples, st = build_sft_examples(tokenizer, render_records(fresh, format_name, prompt_labels),
                                          config.max_length)
        stats = stats or st
        epochs.append(examples)
    n = min(len(e) for e in epochs)
    record = {"mode": config.name_refresh, "epochs_rendered": n_epochs, "fresh_names": len(used),
              "avoided_words": len(avoid), "seed": config.seed}
    return EpochExamples([e[:n] for e in epochs]), stats, record


# ---- base model --------------------------------------------------------------------------------------------------


def _base_ref(base) -> str:
    if isinstance(base, (str, Path)):
        return str(base)
    if hasattr(base, "base"):  # a ModelSpec
        return str(base.base)
    if isinstance(base, tuple):  # (model, tokenizer): the directory or id the model was loaded from
        return str(getattr(base[0], "name_or_path", "") or "<in-memory model>")
    return "<in-memory model>"


def base_fingerprint(base_ref: str, revision: str | None = None) -> str:
    """The base model's fingerprint as the loading layer computes it (``sha256:...`` or ``hub:<id>@<rev>``)."""
    from nerprobe.models.fingerprint import base_fingerprint as fp

    return fp(base_ref, revision)


def _load_base(base):
    """``(model, tokenizer)`` for a path/hub id/ModelSpec (through ``nerprobe.models.loading.load_base``), or a
    ``(model, tokenizer)`` pair as it is."""
    if isinstance(base, tuple) and len(base) == 2:
        return base
    from nerprobe.models.loading import load_base

    return load_base(
        _base_ref(base),
        revision=getattr(base, "revision", None),
        trust_remote_code=bool(getattr(base, "trust_remote_code", False)),
    )


# ---- training ----------------------------------------------------------------------------------------------------


def _progress_callback(total_hint: int | None):
    """A TrainerCallback that shows a rich progress bar with steps/s and the last loss."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        def __init__(self):
            self.progress = None
            self.task = None

        def on_train_begin(self, args, state, control, **kw):
            self.progress = Progress(
                TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} steps/s loss {task.fields[loss]}"), TimeRemainingColumn(),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=state.max_steps or total_hint, rate="-", loss="-")
            self.t0 = time.monotonic()

        def on_step_end(self, args, state, control, **kw):
            rate = state.global_step / max(time.monotonic() - self.t0, 1e-9)
            self.progress.update(self.task, completed=state.global_step, rate=f"{rate:.2f}")

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs and self.progress is not None:
                self.progress.update(self.task, loss=f"{logs['loss']:.4f}")

        def on_train_end(self, args, state, control, **kw):
            if self.progress is not None:
                self.progress.stop()

    return RichProgress()


def _line_progress_callback(stream=None):
    """A TrainerCallback that writes plain progress lines (for a log file, where a bar cannot show): one at the
    start, then ``train step N/M (epoch E) loss L, R steps/s`` at the logged steps, at most about 20 in a run, and one
    at the end with the last logged loss."""
    import sys

    from transformers import TrainerCallback

    class LineProgress(TrainerCallback):
        def __init__(self):
            self.last = 0
            self.loss = None
            self.t0 = time.monotonic()

        def write(self, text: str) -> None:
            out = stream or sys.stderr
            print(text, file=out, flush=True)

        def on_train_begin(self, args, state, control, **kw):
            self.t0 = time.monotonic()
            self.write(f"train: {state.max_steps} steps")

        def on_log(self, args, state, control, logs=None, **kw):
            every = max(1, state.max_steps // 20)
            step = state.global_step
            if logs and "loss" in logs:
                self.loss = logs["loss"]
            if not logs or "loss" not in logs or (step - self.last < every and step < state.max_steps):
                return
            self.last = step
            rate = step / max(time.monotonic() - self.t0, 1e-9)
            self.write(f"train step {step}/{state.max_steps} (epoch {state.epoch or 0:.1f}) "
                       f"loss {logs['loss']:.4f}, {rate:.2f} steps/s")

        def on_train_end(self, args, state, control, **kw):
            loss = f", last loss {self.loss:.4f}" if self.loss is not None else ""
            self.write(f"train: done, {state.global_step} steps in {time.monotonic() - self.t0:.1f} s{loss}")

    return LineProgress()


def progress_callback(progress: bool):
    """The progress callback of a training run: None without ``progress``, the rich bar on a terminal, plain lines
    on stderr otherwise (a log file, a pipe)."""
    import sys

    if not progress:
        return None
    return _progress_callback(None) if sys.stderr.isatty() else _line_progress_callback()


def make_trainer(model, tokenizer, examples: list[dict], output_dir: Path, *, progress: bool = True, **arguments):
    """A ``transformers.Trainer`` over tokenized causal-LM ``examples`` (input_ids, attention_mask, labels).

    What every nerprobe training run shares: labels padded with -100, CPU when no GPU, AdamW, no reporting
    integrations, and ``progress_callback`` (a rich bar on a terminal, plain lines on stderr otherwise) instead of
    tqdm and raw log dicts on stdout. ``arguments`` are the run's
    own ``TrainingArguments`` (batch size, learning rate, schedule, seed, ...)."""
    import torch
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Trainer, TrainingArguments

    args = TrainingArguments(
        output_dir=str(output_dir),
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        use_cpu=not torch.cuda.is_available(),
        optim="adamw_torch",
        **arguments,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=examples,
        data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100, padding=True),
        callbacks=[cb for cb in [progress_callback(progress)] if cb is not None],
    )
    trainer.remove_callback(PrinterCallback)
    return trainer


def train_lora(
    base,
    train_sentences: Sequence[Sentence],
    format_name: str,
    labelset,
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
    avoid_words: Iterable[str] = (),
) -> Path:
    """Fine-tune a LoRA adapter on ``train_sentences`` rendered in ``format_name``; returns the adapter directory.

    ``base`` is a hub id, a local path, a ``ModelSpec`` or a ``(model, tokenizer)`` pair. ``labelset`` is the label
    set of the prompts (symbolized here when ``config.symbolize`` is set). The directory holds the PEFT adapter, the
    tokenizer and ``nerprobe_adapter.json``. Raises ``NerprobeError`` before any training when ``out_dir`` cannot be
    used (see :func:`check_adapter_dir`: an existing folder is replaced only with ``overwrite`` and only when
    nerprobe wrote it) or the data cannot be used. With ``config.name_refresh`` each epoch sees the sentences with
    fresh entity names (``refreshed_examples``), none of them a word of ``avoid_words`` (a test pool, say).
    """
    from peft import LoraConfig, get_peft_model
    from transformers import set_seed

    from nerprobe.formats import get_format
    from nerprobe.formats.prompts import instruction
    from nerprobe.models.sft_data import build_sft_examples
    from nerprobe.provenance import write_manifest

    config = (config or TrainConfig()).validate()
    get_format(format_name)  # InputError for an unknown format, before any work
    out_dir = check_adapter_dir(out_dir, overwrite=overwrite)
    if not train_sentences:
        raise NerprobeError("no training sentences")

    prompt_labels, mapping = prepare_labels(labelset, config.symbolize)
    sentences = symbolize_sentences(train_sentences, mapping) if mapping else list(train_sentences)
    records = render_records(sentences, format_name, prompt_labels)

    base_ref = _base_ref(base)
    model, tokenizer = _load_base(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    saved_padding_side = tokenizer.padding_side
    tokenizer.padding_side = "right"  # positions count from the first token in training; generation pads left
    refresh = None
    if config.name_refresh:
        avoid = frozenset(w.casefold() for name in avoid_words for w in name.split())
        examples, sft_stats, refresh = refreshed_examples(tokenizer, train_sentences, config, format_name,
                                                          prompt_labels, mapping, avoid)
    else:
        examples, sft_stats = build_sft_examples(tokenizer, records, config.max_length)
    if not len(examples):
        raise InputError(None, None, f"every training record is longer than the maximum length of "
                         f"{config.max_length} tokens", field="max_length")

    partial = out_dir.with_name(out_dir.name + ".partial")
    ckpt_dir = partial / "checkpoints"
    resume = ckpt_dir.is_dir() and any(ckpt_dir.glob("checkpoint-*"))
    partial.mkdir(parents=True, exist_ok=True)

    set_seed(config.seed)
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=config.target_modules if isinstance(config.target_modules, str) else list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, lora)
    trainer = make_trainer(
        peft_model, tokenizer, examples, ckpt_dir, progress=progress,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float below 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if config.save_steps else "no",
        save_steps=config.save_steps or 500,
        save_total_limit=2,
    )
    if refresh:
        trainer.add_callback(_epoch_callback(examples))
    t0 = time.monotonic()
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    seconds = time.monotonic() - t0

    peft_model.save_pretrained(partial)
    tokenizer.padding_side = saved_padding_side
    tokenizer.save_pretrained(partial)
    losses = [
        {"step": e["step"], "loss": e["loss"]} for e in trainer.state.log_history if "loss" in e and "step" in e
    ]
    base_fp = base_fingerprint(base_ref, getattr(base, "revision", None))
    manifest = {
        "kind": "nerprobe-lora-adapter",
        "base": {"name": base_ref, "fingerprint": base_fp},
        "base_fingerprint": base_fp,  # read by nerprobe.models.loading to refuse an adapter on another base
        "data": {
            "sha256": data_hash(train_sentences),
            "n_sentences": len(train_sentences),
            "n_entities": sum(len(s.entities) for s in train_sentences),
            "tokenization": sft_stats.as_dict(),
        },
        "format": format_name,
        "labels": {
            "names": list(labelset.names),
            "prompt_names": list(prompt_labels.names),
            "symbolize": config.symbolize,
            "symbol_map": mapping,
            "definitions_in_prompt": bool(prompt_labels.definitions),
        },
        # how the adapter was prompted in training: generate and memorization prompt it the same way by default
        "labelset": labelset_dict(labelset),
        "prompt_labelset": labelset_dict(prompt_labels),
        "instruction": instruction(format_name, prompt_labels),
        # None, or how the names were replaced in each epoch (the adapter never saw a training name twice)
        "name_refresh": refresh,
        "hyperparameters": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "seed": config.seed,
        "training": {
            "steps": trainer.state.global_step,
            "train_loss": result.training_loss,
            "loss_history": losses,
            "seconds": round(seconds, 2),
            "resumed": resume,
        },
    }
    write_manifest(partial / MANIFEST_NAME, manifest)  # + command, created (UTC), versions
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    _swap_in(partial, out_dir)
    return out_dir


#: Files that mark a folder as written by nerprobe: an adapter's manifest, a run directory's manifest.
NERPROBE_MARKERS = (MANIFEST_NAME, "manifest.json")


def check_adapter_dir(out_dir: str | Path, inputs=(), *, overwrite: bool = False) -> Path:
    """``Path(out_dir)`` once an adapter may be written there; ``NerprobeError`` otherwise, before any work.

    Refused: a path that is a file, the current folder or a root, a folder holding one of ``inputs``, an unwritable
    parent, and an existing non-empty folder unless ``overwrite`` is set *and* nerprobe wrote it (it holds
    ``nerprobe_adapter.json`` or a run's ``manifest.json``): a folder of the user's own is never replaced.
    """
    from nerprobe.safe_io import check_output_dir, is_nerprobe_output

    p = check_output_dir(out_dir, inputs, what="adapter folder")
    if p.is_dir() and any(p.iterdir()):
        if not overwrite:
            raise NerprobeError(f"{p}: already exists (choose another output folder, or allow overwriting)")
        if not is_nerprobe_output(p, NERPROBE_MARKERS):
            raise NerprobeError(f"{p}: not written by nerprobe (no {MANIFEST_NAME} or manifest.json in it); "
                                "refusing to replace it even with overwrite")
    return p


def _swap_in(new: Path, out_dir: Path) -> None:
    """Rename the finished folder ``new`` onto ``out_dir``; an old ``out_dir`` is moved aside first and deleted only
    once the new one is in place, so that a failure leaves one complete folder."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    try:
        os.replace(new, out_dir)
    except OSError:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(adapter_dir: str | Path) -> dict:
    """The ``nerprobe_adapter.json`` of an adapter directory (``NerprobeError`` when missing or unreadable)."""
    from nerprobe.safe_io import read_json_object

    path = Path(adapter_dir) / MANIFEST_NAME
    if not path.exists():
        raise NerprobeError(f"{path}: no nerprobe adapter manifest")
    return read_json_object(path)
