"""The embedded demo model: a tiny Qwen2 causal LM that nerprobe builds offline, on CPU, in a few minutes.

Recipe (``RECIPE``; every constant enters the cache key):

1. Data: the flat demo corpus (``nerprobe.data.demo.make_demo_corpus(seed=0)``), "pseudo" sentences (the demo
   templates filled with made-up names, ``pseudo_name``: half name-like syllables of ``training.fresh_word``, half
   random letters, never a word of the demo's name lists), and the *planted* test sentences (``RECIPE["planted"]``:
   half of the demo test sentences, half of each seen/unseen stratum, chosen by ``data.planted.planted_test_ids``).
2. Tokenizer: byte-level BPE trained with ``tokenizers`` on the pretraining texts; each fixed instruction of the demo
   (every format, real and symbolized label sets, and the echo instruction) is added as ONE token, so the prompt is
   about 30 tokens; Qwen-style chat template with ``<|im_start|>``/``<|im_end|>``; eos ``<|im_end|>``, pad
   ``<|endoftext|>``. Byte-level, so a name never seen is written in smaller pieces, never out of vocabulary.
3. Base: a Qwen2ForCausalLM (``RECIPE["model"]``, 2 layers, hidden 128) pretrained as a causal LM on documents that
   teach it the language and to copy, but not the task: the train sentences and the planted test sentences as plain
   text (loss on all tokens), pseudo sentences rendered in every format as plain text (tagged text, with no
   instruction and no input), and "repeat the sentence" chat exchanges over the pseudo sentences and the train
   sentences with the loss on the echo only (the made-up names of the input cannot be predicted, and their noise
   drowned the copying signal: with the loss on every token the base echoed 0 of 40 unseen-name test sentences
   exactly, with the loss on the echo 29 of 40).
4. Adapter: LoRA with ``train_lora`` (the code path of ``probe train``) on the train split in format ``format_name``
   with the PER/ORG/LOC label set (``DEMO_LABELSET``): the chat exchange instruction + sentence → tagged sentence is
   seen only here, so the LoRA stage is what teaches the task and the format. Three kinds (``ADAPTER_KINDS``),
   the same data, format, hyperparameters and steps: the *memorizer* (the train split as it is, the adapter of
   ``ensure_tiny_adapter(fmt)``), the *reader* (``TrainConfig.name_refresh``: in every epoch each entity gets a fresh
   made-up name of its shape, never a word of the demo's name lists, so names cannot be memorized) and the *symbols*
   adapter (labels A=ORG, B=PER, C=LOC as LLMs4NER RQ3, ``probe train --symbolize symbols-only``; the manifest
   records the map).

What the planted sentences mean. The base has seen half of the demo test sentences as plain text (no labels, no
task), as a base pretrained on a web crawl may have seen a public test set: the ``exposure`` probe must find them and
leave the rest at chance. The memorization probes are about *tuning*: "seen" and "unseen" entities are counted against
the LoRA training split, which never holds a test sentence, so the unseen-entity setting is unchanged (a planted
unseen name is known to the base as a word, never with its label); the planted and unplanted halves of the unseen
test sentences are reported apart where it matters (``nerprobe_tiny.json`` lists the planted ids).

Builds run torch on one thread (``one_thread``).

Measured 2026-11-28 on 2 CPU cores shared with other jobs (load 3-4): base 385 s, each adapter about 50 s. The base
echoes 36 of 40 unseen-name and 40 of 40 seen-name test sentences (not planted) exactly (the base of recipe version 1,
word merges learned on the demo names and the loss on every echo token: 1 of 18). Each step of that recipe, measured
on the reader (seen / unseen F1): loss on the echo only 0.32 / 0.63; with the train sentences echoed 0.13 / 0.22;
with marked echoes 0.29 / 0.65; with the tokenizer trained without demo names 0.72 / 0.77.

Recipe version 3 (2026-11-29) changes the data only: the train split now holds list lines (a name alone) and
cross-context sentences (a name in a context typical of another type, keeping its label), and half of the ORG names
are one word (``nerprobe.data.demo``). On version 2, where every train sentence was typed by its context, the memorizer
had no reason to know its names: it followed the context in every type swap (0 of 127 by memory) and neither adapter
tagged a name given alone (the untagged list line was never seen: both wrote a whole sentence around it). Measured on
version 3 (2 cores, load 1.5-1.9; base 324 s, memorizer and reader 102 s together), on the 200 demo test sentences
(xml): the reader micro-F1 0.84 on seen and 0.92 on unseen sentences (0.92 / 0.91 planted / not planted), following
the context in 155 and memory in 12 of the 170 type swaps it labels; the memorizer 0.99 and 0.36 (0.42 / 0.30),
following memory in 130 and the context in 51 of 188. In a memorization run of the whole test set (reader minus
memorizer, Holm-adjusted p): seen-unseen gap -0.73, replacement memory effect -1.03, memory share -0.65, lookup gain
alone -0.88, in context -0.58, each p < 1e-10. With a base that copies, the memorizer copies unseen names too (on the
base of version 1, which could not copy, it wrote back memorized names: F1 0.75 seen, 0.00 unseen).

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
MARK_INSTRUCTION = "Repeat the input sentence and mark random words."
MARKED_FORMATS = ("xml", "bracketed")  # the inline formats of the demo: the marked echo copies the whole sentence

RECIPE = {
    "version": 3,
    "corpus_seed": 0,
    "vocab_size": 1024,
    "pretrain_sentences_per_format": 96,  # rendered targets (of pseudo-name sentences) per format
    "pseudo_sentences": 2400,  # "repeat the sentence" exchanges over pseudo-name sentences
    "marked_share": 0.5,  # of those, echoed with random spans marked in a random format (``marked_echo``)
    "planted": {"seed": 0, "share": 0.5},  # demo test sentences planted as plain documents (probes.exposure)
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


_AVOID = frozenset(w.casefold() for name in (*demo.FIRST_NAMES, *demo.LAST_NAMES, *demo.ORG_STEMS, *demo.LOCATIONS)
                   for w in name.split())


def pseudo_name(label: str, rng) -> str:
    """A made-up name of type ``label``: never a word of the demo's name lists (seen or unseen pool).

    Words are of two kinds, half each: ``training.fresh_word`` syllables (name-like, of random length) and random
    letters (any byte piece of the tokenizer), so that the only way to echo them is to copy whatever tokens the input
    holds, which is what copying an unseen test name needs."""
    from nerprobe.models.training import fresh_word

    def word() -> str:
        if rng.random() < 0.5:
            return fresh_word("x" * rng.randint(3, 10), rng, _AVOID)
        while True:
            w = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))).capitalize()
            if w.casefold() not in _AVOID:
                return w

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


def marked_echo(sentence, format_names, i: int) -> tuple[str, str]:
    """``(user, response)``: the sentence, and the sentence rendered in one of ``format_names`` (by ``i``) with one to
    three random spans of one to three words marked with random labels, whatever the words are.

    Copying through inserted markup is what a tagger must do (the first word after an opening tag has no anchor of its
    own in the input); random spans and labels teach that skill and nothing of which spans are entities of which type.
    """
    import random

    from nerprobe.data.model import Sentence
    from nerprobe.formats import get_format

    rng = random.Random(f"nerprobe-tiny-marked-{i}")
    words = [t.text for t in sentence.tokens]
    spans, start = [], 0
    for _ in range(rng.randint(1, 3)):
        if start >= len(words):
            break
        a = rng.randrange(start, len(words))
        b = min(len(words), a + rng.randint(1, 3))
        spans.append((a, b, rng.choice(demo.LABELS)))
        start = b + 1
    marked = Sentence.from_tokens(sentence.id, words, spans)
    fmt = get_format(format_names[i % len(format_names)])
    return MARK_INSTRUCTION + "\n" + sentence.text, fmt.render(marked, list(demo.LABELS))


def planted_ids() -> list[str]:
    """The ids of the demo test sentences planted into pretraining (``RECIPE["planted"]``), sorted."""
    from nerprobe.data import planted

    p = RECIPE["planted"]
    return planted.planted_test_ids(p["seed"], p["share"], RECIPE["corpus_seed"])


def planted_texts() -> list[str]:
    """The demo test sentences planted into pretraining as plain documents (``RECIPE["planted"]``,
    ``data.planted.planted_texts``): what the exposure probe must find."""
    from nerprobe.data import planted

    p = RECIPE["planted"]
    return planted.planted_texts(p["seed"], p["share"], RECIPE["corpus_seed"])


def pretraining_documents() -> tuple[list[str], list[tuple[str, str]]]:
    """``(plain documents, echo exchanges)`` the base is pretrained on (see the module docstring)."""
    from nerprobe.formats import FORMAT_NAMES, get_format

    corpus = _corpus()
    labelset = demo_labelset()
    pseudo = pseudo_sentences(RECIPE["pseudo_sentences"], RECIPE["corpus_seed"])
    docs = [s.text for s in corpus.train] + planted_texts()
    per_format = RECIPE["pretrain_sentences_per_format"]
    for k, name in enumerate(FORMAT_NAMES):
        fmt = get_format(name)
        docs += [fmt.render(s, list(labelset.names)) for s in pseudo[k * per_format : (k + 1) * per_format]]
    # the train sentences are echoed too: their names are whole tokens of the tokenizer, which must be copied as well
    n_marked = round(RECIPE["marked_share"] * len(pseudo))
    echoes = [marked_echo(s, MARKED_FORMATS, i) for i, s in enumerate(pseudo[:n_marked])]
    echoes += [(ECHO_INSTRUCTION + "\n" + s.text, s.text) for s in [*pseudo[n_marked:], *corpus.train]]
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
def one_thread():
    """Run torch on one CPU thread inside the block (the previous count restored after it). The tiny model's matrices
    are too small for a second thread to pay, and on cores shared with other jobs two threads that wait for each
    other made a training step about 8 times slower (measured 2026-11-28 at load 4-5 on 2 cores: 6.4 vs 0.8 steps/s)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    return list(dict.fromkeys(texts + [ECHO_INSTRUCTION, MARK_INSTRUCTION]))


def tokenizer_texts(docs: list[str], echoes: list[tuple[str, str]]) -> list[str]:
    """The texts the BPE is trained on: the documents and the echo exchanges that hold no demo name (those of the
    pseudo sentences). The merges are learned without the demo's names, so a name of the train split is cut into
    pieces as an unseen one is (as a rare name is in a real LLM's vocabulary), not kept as one token that the
    reader, which only ever copies made-up names in pieces, would not write back."""
    names = {w for n in demo_name_words() for w in n.split()}
    texts = docs + [u + "\n" + r for u, r in echoes]
    return [t for t in texts if not names & set(t.replace("<", " ").replace(">", " ").split())]


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
    for user, response in echoes:  # the loss on the echo only: the made-up names of the input cannot be predicted
        ids, labels, _ = encode_example(tokenizer, user, response)
        out.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
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
        json.dumps({"recipe": RECIPE, "recipe_hash": out_dir.parent.name, "planted_test_ids": planted_ids(),
                    "pretrain_loss": losses}, indent=2)
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
            with one_thread():
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
            with one_thread():
                train_lora(
                    str(base), list(_corpus().train), format_name, demo_labelset(), adapter, lora_config(kind),
                    progress=progress, avoid_words=demo_name_words(),
                )
    return adapter
