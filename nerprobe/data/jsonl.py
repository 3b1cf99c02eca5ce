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

from nerprobe import safe_io
from nerprobe.data.model import Corpus, Entity, Sentence, Token
from nerprobe.errors import InputError
from nerprobe.safe_io import quote


class _RecordError(Exception):
    """A bad record; the message says why (the caller adds file and line)."""


def _label_of(m: dict) -> str:
    for key in ("entity_type", "type", "label"):
        if key in m:
            return _check_label(m[key], m)
    raise _RecordError(f"entity {quote(m)} has no entity_type/type/label")


def _check_label(label, entity) -> str:
    """``label`` when it is a non-empty string; a null, number or list label is an error, not the label "None"."""
    if not isinstance(label, str) or not label.strip():
        raise _RecordError(f"entity {quote(entity)} has label {quote(label)}; a label must be a non-empty string")
    return label


def _token_record(rec: dict, default_id: str) -> Sentence:
    """A sentence from a nested token JSONL record (token-index entities)."""
    words = rec["tokens"]
    if not isinstance(words, list):
        raise _RecordError(f"tokens must be a list of strings, found {type(words).__name__} {quote(words)}")
    if not all(isinstance(w, str) for w in words):
        raise _RecordError("tokens must all be strings")
    mentions = rec.get("entity_mentions", rec.get("entities", []))
    if not isinstance(mentions, list):
        raise _RecordError(f"entities must be a list, found {type(mentions).__name__}")
    spans = []
    for m in mentions:
        if isinstance(m, dict):
            s, e, label = m.get("start"), m.get("end"), _label_of(m)
        elif isinstance(m, (list, tuple)) and len(m) == 3:
            s, e, label = m
        else:
            raise _RecordError(f"entity {quote(m)} is neither an object nor [start, end, label]")
        label = _check_label(label, m)
        if not (_is_int(s) and _is_int(e)):
            raise _RecordError(f"entity {quote(m)} needs integer start and end")
        if not (0 <= s < e <= len(words)):
            raise _RecordError(f"entity token span [{s}, {e}) is outside the sentence of {len(words)} tokens")
        spans.append((s, e, label))
    sid = rec.get("sent_id", rec.get("id", default_id))
    return Sentence.from_tokens(_id(sid, "id"), words, spans, doc_id=_doc_id(rec))


def _nerprobe_record(rec: dict, default_id: str) -> Sentence:
    """A sentence from a nerprobe JSONL record (character offsets)."""
    text = rec["text"]
    if not isinstance(text, str):
        raise _RecordError("text must be a string")
    n = len(text)
    tokens = []
    raw_tokens = rec.get("tokens", [])
    if not isinstance(raw_tokens, list):
        raise _RecordError(f"tokens must be a list of [text, start, end], found {type(raw_tokens).__name__} "
                           f"{quote(raw_tokens)}")
    for t in raw_tokens:
        if not (isinstance(t, (list, tuple)) and len(t) == 3):
            raise _RecordError(f"token {quote(t)} is not [text, start, end]")
        tt, s, e = t
        if not isinstance(tt, str):
            raise _RecordError(f"token {quote(t)}: its text must be a string")
        if not (_is_int(s) and _is_int(e) and 0 <= s <= e <= n):
            raise _RecordError(f"token {quote(t)} has offsets outside the text of length {n}")
        tokens.append(Token(tt, s, e))
    ents = []
    raw_entities = rec.get("entities", [])
    if not isinstance(raw_entities, list):
        raise _RecordError(f"entities must be a list, found {type(raw_entities).__name__}")
    for x in raw_entities:
        if isinstance(x, dict):
            s, e, label = x.get("start"), x.get("end"), _label_of(x)
        elif isinstance(x, (list, tuple)) and len(x) == 3:
            s, e, label = x
        else:
            raise _RecordError(f"entity {quote(x)} is not [start, end, label]")
        label = _check_label(label, x)
        if not (_is_int(s) and _is_int(e)):
            raise _RecordError(f"entity {quote(x)} needs integer start and end")
        if not (0 <= s < e <= n):
            raise _RecordError(f"entity [{s}, {e}, {quote(label)}] is outside the sentence text of length {n}")
        ents.append(Entity(s, e, label))
    meta = rec.get("meta") or {}
    if not isinstance(meta, dict):
        raise _RecordError("meta must be an object")
    return Sentence(_id(rec.get("id", default_id), "id"), text, tuple(tokens), tuple(ents), _doc_id(rec), meta)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _id(value, field: str) -> str:
    """A sentence id from a string or integer field (a list or object is an error, not its repr)."""
    if isinstance(value, str) or _is_int(value):
        return str(value)
    raise _RecordError(f"{field} must be a string or an integer, found {quote(value)}")


def _doc_id(rec: dict) -> str | None:
    value = rec.get("doc_id")
    return None if value is None else _id(value, "doc_id")


def parse_record(rec, default_id: str) -> Sentence:
    """A Sentence from one decoded JSON record of either kind; ``_RecordError`` says what is wrong."""
    if not isinstance(rec, dict):
        raise _RecordError("a record must be a JSON object")
    try:
        if "text" in rec:
            return _nerprobe_record(rec, default_id)
        if "tokens" in rec:
            return _token_record(rec, default_id)
    except (ValueError, TypeError) as err:  # from the data model's own checks
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
    data = safe_io.read_bytes(p)
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
                raise _RecordError(safe_io.utf8_error(spath, raw, err, line=n).message) from None
            try:
                rec = safe_io.loads(line)
            except safe_io.JSONError as err:
                col = f", column {err.column}" if err.column is not None else ""
                raise _RecordError(f"{err.message}{col}") from None
            try:
                sentences.append(parse_record(rec, default_id))
            except KeyError as err:
                raise _RecordError(f"missing field {quote(err.args[0])}") from None
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


def jsonl_text(sentences) -> str:
    """The nerprobe JSONL text of ``sentences``: what :func:`write_jsonl` writes."""
    return "".join(json.dumps(sentence_to_record(s), ensure_ascii=False) + "\n" for s in sentences)


def write_jsonl(sentences, path) -> None:
    """Write sentences (any nesting) as nerprobe JSONL; :func:`read_jsonl` reads them back identically. The file is
    written under a temporary name and renamed into place (an error leaves the old file)."""
    with safe_io.atomic_writer(path) as f:
        for sent in sentences:
            f.write(json.dumps(sentence_to_record(sent), ensure_ascii=False))
            f.write("\n")
