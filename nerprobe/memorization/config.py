"""Options of a memorization run and the corpora it reads."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from nerprobe.errors import InputError

DEFAULT_PROBES = ("coverage", "unseen-entities", "type-swaps", "swapped-labels", "pair-lookup")
"""The probes a run makes by default: every probe that generates (``likelihood`` and ``exposure`` score token
log-probabilities of the language models and are asked for by name)."""


@dataclass
class MemorizationConfig:
    """Options of a memorization run (``probe memorization``); ``train``/``test`` None means the demo corpus.

    ``adapters``: named adapters of one base, ``((name, dir), ...)``, each a subject of the run (``--adapter
    NAME=DIR``); a single unnamed ``adapter`` is the subject ``model``. ``dev``: a corpus of held-out mentions
    (neither train nor test) that the form-only and context-only controls learn from; the demo has its own."""

    model: str = "tiny"
    adapter: str | None = None
    adapters: tuple[tuple[str, str], ...] = ()
    baseline: str = "base"
    train: Path | None = None
    test: Path | None = None
    dev: Path | None = None
    format_name: str | None = None  # None: the adapter's (its manifest), else xml
    labels: str | None = None  # a label-set spec (formats.labels.resolve_label_set); None: the adapter's, else the corpus's
    template: str | None = None  # chat template: a built-in name or a Jinja file; None: the adapter's, else the model's
    system: str | None = None  # system prompt; None: the adapter's, else none
    probes: tuple[str, ...] = DEFAULT_PROBES
    controls: bool = True
    limit: int | None = None
    seed: int = 0
    out: Path = Path("runs/memorization")
    n_resamples: int | None = None  # None: chosen from the declared family (significance.resamples_for_family)
    normalize: str = "casefold"
    pool: Path | None = None
    replacement_source: str = "auto"
    pair_samples: int = 500
    min_context: int = 3
    cache_dir: Path | None = None
    batch_size: int = 8
    max_new_tokens: int | None = None
    device: str | None = None
    dtype: str | None = None
    lenient: bool = False
    progress: bool = True
    export: Path | None = None
    predictions: Path | None = None
    command: str = ""


@dataclass
class Corpora:
    """The corpora of a run and where they came from; ``dev`` the held-out mentions' corpus (None without one)."""

    train: list
    test: list
    pool: list | None
    demo: bool
    dev: list | None = None
    hashes: dict = field(default_factory=dict)


def limited(test: list, limit: int | None, seed: int) -> list:
    """``--limit``: a seeded random subset of ``limit`` test sentences, in corpus order (all of them without a limit).

    Not the first N: corpora are often ordered (the demo test set puts its seen-entity sentences first, CoNLL by
    document), so a prefix would be a biased sample."""
    if not limit or limit >= len(test):
        return list(test)
    keep = sorted(random.Random(f"nerprobe-limit-{seed}").sample(range(len(test)), limit))
    return [test[i] for i in keep]


def _demo_dev() -> list:
    """The demo's held-out sentences: the demo templates with fresh names (``data.demo_dev``)."""
    from nerprobe.data.demo_dev import make_demo_dev

    corpus = make_demo_dev(seed=0)
    return list(getattr(corpus, "sentences", corpus))


def load_corpora(cfg: MemorizationConfig, problems: list[str]) -> Corpora:
    """Read ``--train``/``--test`` (and ``--pool``, ``--dev``), or make the demo corpus when neither is given."""
    from nerprobe.provenance import file_sha256, sentences_sha256

    if cfg.train is None and cfg.test is None:
        from nerprobe.data.demo import make_demo_corpus

        d = make_demo_corpus(seed=0)
        train, test = list(d.train), list(d.test)
        dev = _demo_dev()
        hashes = {"train": sentences_sha256(train), "test": sentences_sha256(test), "source": "demo:flat:seed=0"}
        if dev:
            hashes["dev"] = sentences_sha256(dev)
        return Corpora(train, test, None, True, dev, hashes)
    if cfg.train is None or cfg.test is None:
        raise InputError(None, None, "give both a training and a test corpus (or neither, for the demo corpus)",
                         field="train" if cfg.train is None else "test")
    from nerprobe.data.io import read_corpus

    read = {}
    paths = (("train", cfg.train), ("test", cfg.test), ("pool", cfg.pool), ("dev", cfg.dev))
    for role, path in paths:
        if path is None:
            continue
        if not Path(path).exists():
            raise InputError(None, None, f"{path} does not exist", field=role)
        corpus = read_corpus(path, lenient=cfg.lenient)
        for msg in corpus.skipped:
            problems.append(f"skipped: {msg}")
        if not corpus.sentences:
            raise InputError(None, None, f"{path} has no sentences", field=role)
        read[role] = corpus.sentences
    # the corpus as read (the digest every nerprobe manifest records, e.g. an adapter's training data) and its file
    hashes = {k: sentences_sha256(v) for k, v in read.items()}
    hashes["files"] = {k: file_sha256(p) for k, p in paths if p is not None}
    return Corpora(read["train"], read["test"], read.get("pool"), False, read.get("dev"), hashes)
