"""JSON Lines corpora: nerprobe's own JSONL and the nested token JSONL of nested-NER releases.

nerprobe JSONL (what :func:`write_jsonl` writes), one sentence per line::

    {"id": "test-0", "doc_id": "test-doc0", "text": "EU rejects German call",
     "tokens": [["EU", 0, 2], ["rejects", 3, 10], ...],
     "entities": [[0, 2, "ORG"], [11, 17, "MISC"]], "meta": {...}}

``tokens`` are ``[text, start, end]`` and ``entities`` ``[start, end, label]`` in *character* offsets of ``text``
(end exclusive). ``doc_id`` and ``meta`` may be absent.

Nested token JSONL (../shared/data/genia/nested_jsonl, ACE/GENIA releases of nested-NER papers): ``tokens`` is a
list of strings, and ``entity_mentions`` (or ``entities``) holds ``{"start", "end", "entity_type"|"type"|"label"}``
dicts or ``[start, end, label]`` lists in *token* indices, end exclusive. The text joins the tokens with single
spaces; the id is ``sent_id``/``id`` when present, else ``<stem>-<n>``; ``doc_id`` is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from nerprobe.data.model import Corpus, Entity, Sentence, Token
from nerprobe.errors import InputError


class _RecordError(Exception):
    """A bad record; the message says why (the caller adds file and line)."""


def _label_of(m: dict) -> str:
    for key in ("entity_type", "type", "label"):
        if key in m:
            return m[key]
    raise _RecordError(f"entity {m!r} has no entity_type/type/label")


def _token_record(rec: dict, default_id: str) -> Sentence:
    """A sentence from a nested token JSONL record (token-index entities)."""
    words = rec["tokens"]
    if not all(isinstance(w, str) for w in words):
        raise _RecordError("tokens must all be strings")
    mentions = rec.get("entity_mentions", rec.get("entities", []))
    spans = []
    for m in mentions:
        if isinstance(m, dict):
            s, e, label = m.get("start"), m.get("end"), _label_of(m)
        elif isinstance(m, (list, tuple)) and len(m) == 3:
            s, e, label = m
        else:
            raise _RecordError(f"entity {m!r} is neither an object nor [start, end, label]")
        if not (isinstance(s, int) and isinstance(e, int)):
            raise _RecordError(f"entity {m!r} needs integer start and end")
        if not (0 <= s < e <= len(words)):
            raise _RecordError(f"entity token span [{s}, {e}) is outside the sentence of {len(words)} tokens")
        spans.append((s, e, str(label)))
    sid = rec.get("sent_id", rec.get("id", default_id))
    return Sentence.from_tokens(str(sid), words, spans, doc_id=rec.get("doc_id"))


def _nerprobe_record(rec: dict, default_id: str) -> Sentence:
    """A sentence from a nerprobe JSONL record (character offsets)."""
    text = rec["text"]
    if not isinstance(text, str):
        raise _RecordError("text must be a string")
    n = len(text)
    tokens = []
    for t in rec.get("tokens", []):
        if not (isinstance(t, (list, tuple)) and len(t) == 3):
            raise _RecordError(f"token {t!r} is not [text, start, end]")
        tt, s, e = t
        if not (isinstance(s, int) and isinstance(e, int) and 0 <= s <= e <= n):
            raise _RecordError(f"token {t!r} has offsets outside the text of length {n}")
        tokens.append(Token(str(tt), s, e))
    ents = []
    for x in rec.get("entities", []):
        if isinstance(x, dict):
            s, e, label = x.get("start"), x.get("end"), _label_of(x)
        elif isinstance(x, (list, tuple)) and len(x) == 3:
            s, e, label = x
        else:
            raise _RecordError(f"entity {x!r} is not [start, end, label]")
        if not (isinstance(s, int) and isinstance(e, int)):
            raise _RecordError(f"entity {x!r} needs integer start and end")
        if not (0 <= s < e <= n):
            raise _RecordError(f"entity [{s}, {e}, {label!r}] is outside the sentence text of length {n}")
        ents.append(Entity(s, e, str(label)))
    meta = rec.get("meta") or {}
    if not isinstance(meta, dict):
        raise _RecordError("meta must be an object")
    return Sentence(str(rec.get("id", default_id)), text, tuple(tokens), tuple(ents), rec.get("doc_id"), meta)


def parse_record(rec, default_id: str) -> Sentence:
    """A Sentence from one decoded JSON record of either kind; ``_RecordError`` says what is wrong."""
    if not isinstance(rec, dict):
        raise _RecordError("a record must be a JSON object")
    try:
        if "text" in rec:
            return _nerprobe_record(rec, default_id)
        if "tokens" in rec:
            return _token_record(rec, default_id)
    except ValueError as err:  # from the data model's own checks
        raise _RecordError(str(err)) from None
    raise _RecordError("record has neither 'text' (nerprobe JSONL) nor 'tokens' (nested token JSONL)")


def read_jsonl(path, *, lenient: bool = False) -> Corpus:
    """Read nerprobe JSONL or nested token JSONL (decided per record) into a Corpus.

    A line that is not UTF-8, not JSON, or not a valid record (an entity past the end of the sentence, a missing
    field) raises ``InputError`` naming ``path:line``; with ``lenient=True`` it is skipped and listed in
    ``Corpus.skipped``. Blank lines are ignored; a file without records raises ``InputError``.
    """
    spath = str(path)
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise InputError(spath, None, f"cannot read: {err.strerror or err}") from None
    stem = p.stem
    sentences: list[Sentence] = []
    skipped: list[str] = []
    n_records = 0
    for n, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        default_id = f"{stem}-{n_records}"
        n_records += 1
        try:
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise _RecordError(f"not UTF-8 (byte 0x{raw[err.start]:02x})") from None
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise _RecordError(f"not valid JSON ({err.msg}, column {err.colno})") from None
            try:
                sentences.append(parse_record(rec, default_id))
            except KeyError as err:
                raise _RecordError(f"missing field {err.args[0]!r}") from None
        except _RecordError as err:
            if not lenient:
                raise InputError(spath, n, str(err)) from None
            skipped.append(f"{spath}:{n}: {err}")
    if n_records == 0:
        raise InputError(spath, 1, "empty file: no JSON records found")
    return Corpus(sentences, source=spath, skipped=skipped)


def sentence_to_record(sent: Sentence) -> dict:
    """The nerprobe JSONL record of a sentence (``meta`` only when non-empty and JSON-serialisable)."""
    rec = {
        "id": sent.id,
        "doc_id": sent.doc_id,
        "text": sent.text,
        "tokens": [[t.text, t.start, t.end] for t in sent.tokens],
        "entities": [[e.start, e.end, e.label] for e in sent.entities],
    }
    if sent.meta:
        rec["meta"] = sent.meta
    return rec


def write_jsonl(sentences, path) -> None:
    """Write sentences (any nesting) as nerprobe JSONL; :func:`read_jsonl` reads them back identically."""
    with open(path, "w", encoding="utf-8") as f:
        for sent in sentences:
            f.write(json.dumps(sentence_to_record(sent), ensure_ascii=False))
            f.write("\n")
