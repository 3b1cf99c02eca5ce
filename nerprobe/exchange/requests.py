"""The requests of a probe set, built exactly as the memorization run builds them (so exported prompts and a
direct run's prompts are the same strings)."""

from __future__ import annotations

from pathlib import Path

from nerprobe.formats.labels import LabelSet
from nerprobe.models.predictors import Request


def set_labelset(probe_set, labelset: LabelSet) -> LabelSet:
    """The label set the prompts of ``probe_set`` use: the set's own (a relabeled set records it in
    ``params["labelset"]``), else ``labelset``."""
    ls = probe_set.params.get("labelset")
    if ls is None:
        return labelset
    return LabelSet(tuple(ls["names"]), dict(ls.get("definitions", {})))


def probe_requests(probe_set, format_name: str, labelset: LabelSet) -> list[Request]:
    """One ``Request`` per item of ``probe_set``, in item order, with the set's label set (``set_labelset``).

    ``Request.id`` is the item's sentence id, as in the run; the item id (unique within the set) is what exports
    write as ``id``."""
    ls = set_labelset(probe_set, labelset)
    return Request.build_all([it.sentence for it in probe_set.items], format_name, ls)


def read_alpaca_requests(path, format_name: str) -> tuple[list[Request], list[str | None], str | None]:
    """``(requests, gold outputs, system prompt)`` of an alpaca JSON file (an export's ``<set>.json``, or any
    LLaMA-Factory alpaca data): the prompts exactly as written there, as an engine reading the file would build them.

    Request ids are the records' ``id`` (else ``<stem>-<n>``); the system prompt is the records' ``system`` (one for
    the whole file). ``InputError`` ``path:line: why`` for a record without string ``instruction``/``input``."""
    from nerprobe.data.model import Sentence
    from nerprobe.errors import InputError
    from nerprobe.formats.alpaca import whitespace_tokens
    from nerprobe.safe_io import read_json

    records = read_json(path)
    if not isinstance(records, list):
        raise InputError(str(path), 1, "expected a JSON array of alpaca records")
    stem = Path(path).stem
    requests, golds, systems = [], [], set()
    for n, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("input"), str) \
                or not isinstance(rec.get("instruction", ""), str):
            raise InputError(str(path), None, f"record {n}: expected an object with string \"instruction\" and "
                             "\"input\"")
        rid = str(rec["id"]) if rec.get("id") is not None else f"{stem}-{n}"
        text = rec["input"]
        sentence = Sentence(rid, text, whitespace_tokens(text))
        requests.append(Request(rid, sentence, format_name, None, rec.get("instruction", ""), text))
        golds.append(rec.get("output") if isinstance(rec.get("output"), str) else None)
        systems.add(rec.get("system") if isinstance(rec.get("system"), str) else None)
    if len(systems) > 1:
        raise InputError(str(path), None, "records have different system prompts; export one file per system prompt")
    return requests, golds, (systems.pop() if systems else None)


def limited(items: list, limit: int | None, seed: int) -> list:
    """``--limit``: a seeded random subset of ``limit`` items, in their order (all of them without a limit).

    The recipe of the memorization run's ``--limit`` (``random.Random(f"nerprobe-limit-{seed}")``), so that
    ``probe generate --limit N --seed S`` on a test corpus takes the sentences ``probe memorization`` takes. Not the
    first N: corpora are often ordered (by document, or seen entities first), so a prefix is a biased sample."""
    import random

    if not limit or limit >= len(items):
        return list(items)
    keep = sorted(random.Random(f"nerprobe-limit-{seed}").sample(range(len(items)), limit))
    return [items[i] for i in keep]
