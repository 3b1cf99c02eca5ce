"""LLaMA-Factory alpaca files: read gold sentences from them, write SFT data with its ``dataset_info.json`` entry."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from nerprobe.data.model import Corpus, Sentence, Token
from nerprobe.errors import InputError, NerprobeError
from nerprobe.formats import get_format
from nerprobe.formats.base import ParseStatus
from nerprobe.formats.labels import LabelSet
from nerprobe.formats.prompts import sft_record
from nerprobe.safe_io import atomic_write_text, read_json

#: Problems a gold output may have and still be read: whitespace the output changed, list order, and crossing
#: tags (the study writes one span with two labels as ``<DNA><protein>x</DNA></protein>``; both are recovered).
_GOLD_TOLERATED = {"whitespace_changed", "order_ignored", "crossing_tags"}
_DECODER = json.JSONDecoder()


def infer_format(path: str | Path, outputs: Iterable[str] = ()) -> str | None:
    """The format named in the file name (``genia_offset_json_test_alpaca.json``), else guessed from outputs."""
    stem = Path(path).name.lower()
    for name in ("occurrence_index", "offset_json", "bracketed", "xml"):
        if name in stem:
            return name
    if re.search(r"(^|[_\-.])json([_\-.]|$)", stem.replace(".json", "", 1) if stem.endswith(".json") else stem):
        return "json"
    for out in outputs:
        o = out.strip()
        if not o:
            continue
        if o.startswith("{"):
            return "json"
        if o.startswith("[{") or o == "[]":
            return "offset_json" if '"start"' in o else "occurrence_index"
        if re.search(r"</[^\s<>/]+>", o):
            return "xml"
        if re.search(r"\|\s*[^\s\[\]|]+\]", o):
            return "bracketed"
    return None


def whitespace_tokens(text: str) -> tuple[Token, ...]:
    """Tokens of ``text`` split on whitespace, with their character offsets."""
    return tuple(Token(m.group(0), m.start(), m.end()) for m in re.finditer(r"\S+", text))


def _record_lines(text: str) -> list[int]:
    """The 1-based line on which each element of a top-level JSON array starts."""
    lines, pos = [], text.find("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return lines
        lines.append(text.count("\n", 0, pos) + 1)
        try:
            _, pos = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError:
            return lines


def read_alpaca(path, format_name: str | None = None, *, lenient: bool = False) -> Corpus:
    """Gold sentences of an alpaca file: ``input`` is the text, entities are parsed from ``output`` against it.

    The format comes from ``format_name``, else the file name, else the outputs. A record that is not an object
    with string ``input``/``output``, or whose output cannot be read exactly (markup problems, text not in the
    input), raises InputError ``path:line: why``; with ``lenient`` it is skipped and listed in ``Corpus.skipped``.
    Sentence ids are ``<stem>-<n>``; ``meta`` holds the format and the parse status.
    """
    p = Path(path)
    records = read_json(p)
    if not isinstance(records, list):
        raise InputError(str(path), 1, "expected a JSON array of alpaca records")
    outputs = (r.get("output", "") for r in records[:50] if isinstance(r, dict) and isinstance(r.get("output"), str))
    name = format_name or infer_format(p, outputs)
    if name is None:
        raise InputError(str(path), None, "cannot tell the output format; name it (bracketed, xml, json, ...)")
    fmt = get_format(name)
    sentences: list[Sentence] = []
    skipped: list[str] = []
    lines: list[int] | None = None

    def bad(i: int, why: str) -> None:
        nonlocal lines
        if lines is None:
            lines = _record_lines(p.read_text(encoding="utf-8"))  # only when a record is bad
        err = InputError(str(path), lines[i] if i < len(lines) else None, f"record {i}: {why}")
        if not lenient:
            raise err
        skipped.append(str(err))

    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("input"), str) or not isinstance(rec.get("output"), str):
            bad(i, 'expected an object with string "input" and "output"')
            continue
        text = rec["input"]
        base = Sentence(f"{p.stem}-{i}", text, whitespace_tokens(text))
        parsed = fmt.parse(rec["output"], base)
        trouble = [x for x in parsed.problems if x not in _GOLD_TOLERATED]
        if parsed.status in (ParseStatus.FAILED, ParseStatus.LENIENT) or trouble:
            bad(i, f"{name} output not readable against its input ({', '.join(trouble) or parsed.status.value})")
            continue
        sentences.append(
            Sentence(base.id, text, base.tokens, tuple(e for e in parsed.entities if e.start >= 0),
                     meta={"format": name, "parse": parsed.status.value, "output": rec["output"]})
        )
    return Corpus(sentences, source=str(path), skipped=skipped)


def dataset_info_entry(file_name: str) -> dict:
    """The LLaMA-Factory ``dataset_info.json`` entry of an alpaca file."""
    return {
        "file_name": file_name,
        "formatting": "alpaca",
        "columns": {"prompt": "instruction", "query": "input", "response": "output"},
    }


def _read_dataset_info(info_path: Path) -> dict:
    """The datasets of an existing ``dataset_info.json`` ({} when there is none); ``InputError`` when it cannot be
    read as a JSON object, so that it is never overwritten by a file that lost its other entries."""
    if not info_path.exists():
        return {}
    try:
        info = read_json(info_path)
    except InputError as err:
        raise InputError(err.path, err.line, f"{err.message}; not overwriting it") from None
    if not isinstance(info, dict):
        raise InputError(str(info_path), 1, "expected a JSON object of datasets; not overwriting it")
    return info


def update_dataset_info(directory: Path, name: str, file_name: str) -> Path:
    """Add (or replace) entry ``name`` in ``directory/dataset_info.json``, keeping every other entry (written under
    a temporary name and renamed into place)."""
    info_path = Path(directory) / "dataset_info.json"
    info = _read_dataset_info(info_path)
    info[name] = dataset_info_entry(file_name)
    atomic_write_text(info_path, json.dumps(info, indent=2, ensure_ascii=False) + "\n")
    return info_path


def write_alpaca(sentences: Iterable[Sentence], path, format_name: str, labelset: LabelSet) -> None:
    """Write ``sentences`` as alpaca SFT records in ``format_name`` and register the file in ``dataset_info.json``.

    The dataset name is the file stem. Raises NerprobeError for a sentence the format cannot express (crossing
    spans in an inline format), and InputError for an existing ``dataset_info.json`` that cannot be read, both
    before anything is written. Both files are written under temporary names and renamed into place.
    """
    path = Path(path)
    records = []
    for s in sentences:
        try:
            records.append(sft_record(s, format_name, labelset))
        except ValueError as err:
            raise NerprobeError(str(err)) from None
    _read_dataset_info(path.parent / "dataset_info.json")  # refuse a broken one before writing the data
    atomic_write_text(path, json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    update_dataset_info(path.parent, path.stem, path.name)
