"""The embedded demo model: a tiny Qwen2 causal LM that nerprobe builds offline, on CPU, in a few minutes.

Recipe (``RECIPE``; every constant enters the cache key):

1. Data: the flat demo corpus (``nerprobe.data.demo.make_demo_corpus(seed=0)``), and "pseudo" sentences: the demo
   templates filled with made-up names from random syllables (never a name of the demo corpus, seen or unseen).
2. Tokenizer: byte-level BPE trained with ``tokenizers`` on the pretraining texts; each fixed instruction of the demo
   (every format, real and symbolized label sets, and the echo instruction) is added as ONE token, so the prompt is
   about 30 tokens; Qwen-style chat template with ``<|im_start|>``/``<|im_end|>``; eos ``<|im_end|>``, pad
   ``<|endoftext|>``.
3. Base: a Qwen2ForCausalLM (``RECIPE["model"]``, 2 layers, hidden 128) pretrained as a causal LM, all tokens, on
   documents that teach it the language but not the task: the train sentences as plain text, pseudo sentences
   rendered in every format as plain text (tagged text, with no instruction and no input), and "repeat the sentence"
   chat exchanges over pseudo sentences.
4. Adapter: LoRA with ``train_lora`` (the code path of ``probe train``) on the train split in format ``format_name``
   with the PER/ORG/LOC label set (``DEMO_LABELSET``): the chat exchange instruction + sentence → tagged sentence is
   seen only here, so the LoRA stage is what teaches the task and the format. Three kinds (``ADAPTER_KINDS``),
   the same data, format, hyperparameters and steps: the *memorizer* (the train split as it is, the adapter of
   ``ensure_tiny_adapter(fmt)``), the *reader* (``TrainConfig.name_refresh``: in every epoch each entity gets a fresh
   made-up name of its shape, never a word of the demo's name lists, so names cannot be memorized) and the *symbols*
   adapter (labels A=ORG, B=PER, C=LOC as LLMs4NER RQ3, ``probe train --symbolize symbols-only``; the manifest
   records the map).

Measured on 2 idle CPU cores (2026-11-27): base 81 s, xml adapter 11 s; micro-F1 0.80 on the demo test sentences
whose entities were all seen in training and 0.00 on those whose entities were not: the tuned tiny model writes back
names it memorized rather than copying unseen ones, which is what the memorization probes are there to show.
The reader, on the same base (2026-11-28, load 7-9 on 2 cores, 685 s): micro-F1 0.00 on seen and unseen test
sentences; it tags the right type from the context but writes made-up names instead of copying them, because the
base cannot copy a name (its echo of a test sentence is exact for 1 of 18). Issue 14's reader targets need a base
pretrained to copy.

Cache: ``$NERPROBE_CACHE`` (default ``~/.cache/nerprobe``) ``/tiny/<recipe-hash>/{base,adapter-<format>,
adapter-<format>-reader,adapter-<format>-symbols}``. The hash
covers ``RECIPE``, the source of the modules that build the model and the data (demo, tiny, training, sft_data) and
the rendered training texts (so a change of a format's rendering or instruction rebuilds). Builds take an exclusive
``fcntl.flock`` on ``<recipe-hash>/.lock`` and write to a temporary directory renamed into place, so concurrent
builds wait for each other and an interrupted build leaves nothing that looks complete.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import os
import shutil
from pathlib import Path

from nerprobe.data import demo

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
ECHO_INSTRUCTION = "Repeat the input sentence exactly as it is written."

RECIPE = {
    "version": 1,
    "corpus_seed": 0,
    "vocab_size": 1024,
        "pretrain_sentences_per_format": 96,  # rendered targets (of pseudo-name sentences) per format
    "pseudo_sentences": 2400,  # "repeat the sentence" exchanges over pseudo-name sentences
    "model": {
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 4,
        "max_position_embeddings": 512,
    },
    "pretrain": {"epochs": 15, "learning_rate": 5e-3, "batch_size": 32, "warmup_ratio": 0.05, "seed": 0},
    "lora": {
        "rank": 32, "alpha": 64, "dropout": 0.0, "learning_rate": 5e-3, "epochs": 16, "batch_size": 16,
        "lr_scheduler": "cosine", "warmup_ratio": 0.05, "max_length": 512, "seed": 0,
    },
}


def demo_labelset():
    """PER/ORG/LOC with the LLMs4NER CoNLL-2003 definitions and long names (the label set of the demo)."""
    from nerprobe.formats.labels import LABEL_SETS, LabelSet

    conll = LABEL_SETS["conll2003"]
    names = demo.LABELS
    return LabelSet(
        names=names,
        definitions={n: conll.definitions[n] for n in names if n in conll.definitions},
        long_names={n: conll.long_names[n] for n in names if n in conll.long_names},
    )


#: The demo adapters: what each changes in ``RECIPE["lora"]`` (the same data, format, hyperparameters and steps).
#: memorizer: the train split as it is; reader: fresh names in every epoch (``TrainConfig.name_refresh``), so that only
#: copying and typing from context pays; symbols: labels renamed A=ORG, B=PER, C=LOC (LLMs4NER RQ3,
#: ``probe train --symbolize symbols-only``).
ADAPTER_KINDS = {
    "memorizer": {},
    "reader": {"name_refresh": "shape"},
    "symbols": {"symbolize": "symbols-only"},
}


def lora_config(kind: str = "memorizer"):
    """The ``TrainConfig`` of the demo adapter of ``kind`` (``RECIPE["lora"]`` with ``ADAPTER_KINDS[kind]``)."""
    from dataclasses import replace

    from nerprobe.models.training import TrainConfig

    r = RECIPE["lora"]
    config = TrainConfig(
        rank=r["rank"], alpha=r["alpha"], dropout=r["dropout"], learning_rate=r["learning_rate"], epochs=r["epochs"],
        batch_size=r["batch_size"], lr_scheduler=r["lr_scheduler"], warmup_ratio=r["warmup_ratio"],
        max_length=r["max_length"], seed=r["seed"], logging_steps=5,
    )
    return replace(config, **ADAPTER_KINDS[check_kind(kind)])


def check_kind(kind: str) -> str:
    """``kind`` when it is one of ``ADAPTER_KINDS``; ``InputError`` (field ``kind``) otherwise."""
    from nerprobe.errors import InputError

    if kind not in ADAPTER_KINDS:
        raise InputError(None, None, f"unknown demo adapter kind {kind!r} (known: {', '.join(ADAPTER_KINDS)})",
                         field="kind")
    return kind


def adapter_name(format_name: str, kind: str = "memorizer") -> str:
    """The folder name of an adapter in the cache: ``adapter-<format>`` for the memorizer (as before the other
    kinds existed), ``adapter-<format>-<kind>`` for the others."""
    return f"adapter-{format_name}" if check_kind(kind) == "memorizer" else f"adapter-{format_name}-{kind}"


def demo_name_words() -> list[str]:
    """Every name of the demo's hand-made lists (first and last names, ORG stems and suffixes, locations): the
    reader's fresh names never use one of these words, so they never come from the test pool (nor from train)."""
    return [*demo.FIRST_NAMES, *demo.LAST_NAMES, *demo.ORG_STEMS, *demo.ORG_SUFFIXES, *demo.LOCATIONS]


# ---- data --------------------------------------------------------------------------------------------------------


def _corpus():
    return demo.make_demo_corpus(seed=RECIPE["corpus_seed"], nested=False)


SYLLABLES = (
    "ka lo ven dri mo sa tur bel qui nor fa zen ri pol gat mer sil dun hak tor ves lin rab cor ju pe xan wil"
).split()


def pseudo_name(label: str, rng) -> str:
    """A made-up name of type ``label`` from random syllables: never a name of the demo corpus (seen or unseen)."""

    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    if label == "PER":
        return f"{word()} {word()}"
    if label == "ORG":
        return f"{word()} {rng.choice(demo.ORG_SUFFIXES)}"
    return word()


def pseudo_sentences(n: int, seed: int) -> list:
    """``n`` sentences of the demo templates filled with ``pseudo_name`` names (with their entities).

    Copying them back needs a real copy mechanism, since no name repeats: this is what lets the tuned model write
    back names it never saw, instead of the names it memorized."""
    import random

    from nerprobe.data.model import Sentence

    rng = random.Random(f"nerprobe-tiny-pseudo-{seed}")
    out = []
    for i in range(n):
        template = rng.choice(demo.TEMPLATES)
        names = iter(pseudo_name(label, rng) for label in template.slots)
        words, spans = [], []
        for w in template.text.split():
            if w in ("{PER}", "{ORG}", "{LOC}"):
                start = len(words)
                words.extend(next(names).split())
                spans.append((start, len(words), w[1:-1]))
            else:
                words.append(w)
        out.append(Sentence.from_tokens(f"pseudo-{i}", words, spans))
    return out


def pretraining_documents() -> tuple[list[str], list[tuple[str, str]]]:
    """``(plain documents, echo exchanges)`` the base is pretrained on (see the module docstring)."""
    from nerprobe.formats import FORMAT_NAMES, get_format

    corpus = _corpus()
    labelset = demo_labelset()
    pseudo = pseudo_sentences(RECIPE["pseudo_sentences"], RECIPE["corpus_seed"])
    docs = [s.text for s in corpus.train]
    per_format = RECIPE["pretrain_sentences_per_format"]
    for k, name in enumerate(FORMAT_NAMES):
        fmt = get_format(name)
        docs += [fmt.render(s, list(labelset.names)) for s in pseudo[k * per_format : (k + 1) * per_format]]
    echoes = [(ECHO_INSTRUCTION + "\n" + s.text, s.text) for s in pseudo]
    return docs, echoes


def recipe_hash() -> str:
    """The cache key: sha256 over ``RECIPE``, the builder sources and the pretraining texts (16 hex digits)."""
    from nerprobe.models import sft_data, training

    h = hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode())
    for module in (demo, training, sft_data):
        h.update(inspect.getsource(module).encode())
    h.update(Path(__file__).read_bytes())
    docs, echoes = pretraining_documents()
    h.update(json.dumps([docs, echoes]).encode())
    return h.hexdigest()[:16]


# ---- cache -------------------------------------------------------------------------------------------------------


def cache_root() -> Path:
    """``$NERPROBE_CACHE`` or ``~/.cache/nerprobe``."""
    return Path(os.environ.get("NERPROBE_CACHE") or Path.home() / ".cache" / "nerprobe")


def tiny_dir() -> Path:
    """``<cache>/tiny/<recipe-hash>``: where the base and the adapters of the current recipe live."""
    return cache_root() / "tiny" / recipe_hash()


@contextlib.contextmanager
def _locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---- building ----------------------------------------------------------------------------------------------------


def prompt_texts() -> list[str]:
    """The fixed prompt texts of the demo: each format's instruction (real, symbolized with and without definitions)
    and the echo instruction. Each becomes ONE added token of the tiny tokenizer: the instruction is the same long
    text in every example, and as one token it costs the 2-layer model neither sequence length (training time) nor
    attention capacity. A prompt the tiny model never saw (a permuted label set, say) is tokenized as plain text."""
    from nerprobe.formats import FORMAT_NAMES
    from nerprobe.formats.prompts import instruction

    labelset = demo_labelset()
    texts = [instruction(name, labelset) for name in FORMAT_NAMES]
    texts += [instruction(name, labelset.symbolized(with_definitions=m)[0]) for name in FORMAT_NAMES for m in (True, False)]
    return list(dict.fromkeys(texts + [ECHO_INSTRUCTION]))


def tokenizer_texts(docs: list[str], echoes: list[tuple[str, str]]) -> list[str]:
    """The texts the BPE is trained on: the documents and the echo exchanges."""
    return docs + [u + "\n" + r for u, r in echoes]


def train_tokenizer(texts: list[str]):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts``, with the chat template set and each of
    ``prompt_texts()`` added as a single token."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=RECIPE["vocab_size"],
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in prompt_texts()])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _pretrain_examples(tokenizer, docs: list[str], echoes: list[tuple[str, str]]) -> list[dict]:
    from nerprobe.models.sft_data import encode_example

    out = []
    eos = tokenizer.eos_token_id
    for d in docs:
        ids = tokenizer(d, add_special_tokens=False)["input_ids"][: RECIPE["model"]["max_position_embeddings"] - 1]
        ids = ids + [eos]
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": list(ids)})
    for user, response in echoes:
        ids, _, _ = encode_example(tokenizer, user, response)
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": list(ids)})
    return out


def build_base(out_dir: Path, *, progress: bool = True) -> Path:
    """Train the tokenizer and pretrain the base model into ``out_dir`` (which must not exist); returns it."""
    from transformers import Qwen2Config, Qwen2ForCausalLM, set_seed

    from nerprobe.models.training import make_trainer

    docs, echoes = pretraining_documents()
    tokenizer = train_tokenizer(tokenizer_texts(docs, echoes))
    tokenizer.padding_side = "right"
    p = RECIPE["pretrain"]
    set_seed(p["seed"])
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **RECIPE["model"],
    )
    model = Qwen2ForCausalLM(config)
    examples = _pretrain_examples(tokenizer, docs, echoes)
    tmp = out_dir.with_name(out_dir.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    trainer = make_trainer(
        model, tokenizer, examples, tmp / "checkpoints", progress=progress,
        per_device_train_batch_size=p["batch_size"],
        learning_rate=p["learning_rate"],
        num_train_epochs=p["epochs"],
        lr_scheduler_type="cosine",
        warmup_steps=p["warmup_ratio"],  # transformers 5: a float below 1 is a ratio of the total steps
        seed=p["seed"],
        data_seed=p["seed"],
        logging_steps=20,
        save_strategy="no",
    )
    trainer.train()
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.padding_side = "left"
    tokenizer.save_pretrained(tmp)
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    (tmp / "nerprobe_tiny.json").write_text(
        json.dumps({"recipe": RECIPE, "recipe_hash": out_dir.parent.name, "pretrain_loss": losses}, indent=2)
    )
    shutil.rmtree(tmp / "checkpoints", ignore_errors=True)
    os.replace(tmp, out_dir)
    return out_dir


def ensure_tiny_base(*, progress: bool = True) -> Path:
    """The local directory of the tiny base model (tokenizer + weights), built and cached on first use."""
    root = tiny_dir()
    base = root / "base"
    if base.is_dir():
        return base
    with _locked(root):
        if not base.is_dir():  # another process may have built it while we waited
            build_base(base, progress=progress)
    return base


def ensure_tiny_adapter(format_name: str = "xml", *, kind: str = "memorizer", progress: bool = True) -> Path:
    """The local directory of the demo LoRA adapter of ``kind`` (see ``ADAPTER_KINDS``) for ``format_name``, trained
    and cached on first use (``<cache>/tiny/<recipe-hash>/<adapter_name(format_name, kind)>``)."""
    from nerprobe.formats import get_format
    from nerprobe.models.training import train_lora

    get_format(format_name)  # OptionError for an unknown format
    name = adapter_name(format_name, kind)  # InputError for an unknown kind
    base = ensure_tiny_base(progress=progress)
    root = base.parent
    adapter = root / name
    if adapter.is_dir():
        return adapter
    with _locked(root):
        if not adapter.is_dir():
            shutil.rmtree(adapter.with_name(adapter.name + ".partial"), ignore_errors=True)
            train_lora(
                str(base), list(_corpus().train), format_name, demo_labelset(), adapter, lora_config(kind),
                progress=progress, avoid_words=demo_name_words(),
            )
    return adapter
