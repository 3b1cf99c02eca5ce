"""One entry point for reading any corpus nerprobe knows: :func:`read_corpus` picks the reader from the file.

Detection (when ``format_name`` is None):

- ``.tgz``/``.tar.gz``/``.tar`` or ``.xml`` → GENIA 3.02 XML (:func:`nerprobe.data.genia.read_genia_xml`);
- ``.jsonl``/``.jsonlines``/``.ndjson`` → JSONL (:func:`nerprobe.data.jsonl.read_jsonl`);
- ``.json`` whose content starts with ``[`` → LLaMA-Factory alpaca (:func:`nerprobe.formats.alpaca.read_alpaca`);
  ``.json`` starting with ``{`` → JSONL;
- anything else: JSONL when the first non-blank byte is ``{``, otherwise CoNLL.

``format_name`` forces one: "conll", "jsonl", "genia", "alpaca" or "alpaca:<output format>" (e.g. "alpaca:xml").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nerprobe import safe_io
from nerprobe.data.conll import read_conll
from nerprobe.data.genia import read_genia_xml
from nerprobe.data.jsonl import read_jsonl
from nerprobe.data.model import Corpus
from nerprobe.errors import InputError

# The one entry point over every reader sits above both data and formats: formats.alpaca depends on data.model and
# safe_io only (never on this module), so importing it here at module level makes no cycle.
from nerprobe.formats.alpaca import read_alpaca

READERS = ("conll", "jsonl", "genia", "alpaca")


def read_json(path) -> Any:
    """The value of a JSON file; ``InputError`` (``path:line: why``) when it is missing, a directory, not UTF-8
    (line and column), not valid JSON or nested too deeply. Callers check the value's shape themselves."""
    return safe_io.read_json(path)


def _first_byte(p: Path) -> bytes:
    try:
        with p.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return b""  # unreadable or a folder: the reader says so, naming the file
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1]


def detect_kind(path) -> str:
    """The reader name ("conll", "jsonl", "genia", "alpaca") that :func:`read_corpus` would use for ``path``."""
    p = Path(path)
    name = p.name.lower()
    if name.endswith((".tgz", ".tar.gz", ".tar", ".xml")):
        return "genia"
    if name.endswith((".jsonl", ".jsonlines", ".ndjson")):
        return "jsonl"
    first = _first_byte(p)
    if name.endswith(".json"):
        return "alpaca" if first == b"[" else "jsonl"
    return "jsonl" if first == b"{" else "conll"


def read_corpus(
    path,
    *,
    lenient: bool = False,
    scheme: str = "auto",
    tag_column: int = -1,
    format_name: str | None = None,
) -> Corpus:
    """Read ``path`` with the reader its kind calls for (see the module docstring) and return the Corpus.

    ``scheme`` and ``tag_column`` apply to CoNLL files only. A missing file raises ``InputError``; an unknown
    ``format_name`` raises ``InputError`` (field ``format``).
    """
    p = safe_io.check_input_file(path)
    kind = format_name or detect_kind(p)
    out_format = None
    if kind.startswith("alpaca:"):
        kind, out_format = "alpaca", kind.split(":", 1)[1]
    if kind == "conll":
        return read_conll(p, scheme=scheme, tag_column=tag_column, lenient=lenient)
    if kind == "jsonl":
        return read_jsonl(p, lenient=lenient)
    if kind == "genia":
        return read_genia_xml(p, lenient=lenient)
    if kind == "alpaca":
        return read_alpaca(p, out_format, lenient=lenient)
    raise InputError(None, None, f"unknown corpus format {kind!r}; use one of {', '.join(READERS)}", field="format")
