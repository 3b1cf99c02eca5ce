"""Reading JSON out of untrusted model output: code fences, trailing text, truncation, noise.

``json`` itself stops at the first error; model outputs are often cut by the token limit, so we salvage the
complete pieces (objects of a list, strings of a grouped list) with ``json.JSONDecoder.raw_decode`` on bounded
windows, which keeps the work linear even on 100 kB of noise.
"""

from __future__ import annotations

import json
import re

_DECODER = json.JSONDecoder()
#: Largest piece (object or string) that salvage decodes; larger ones are noise.
WINDOW = 4096
#: How many salvage attempts one output may cost.
MAX_ATTEMPTS = 2000

_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.S)
_KEY_LIST = re.compile(r'"((?:[^"\\]|\\.){1,200})"\s*:\s*\[')


def strip_fence(output: str) -> str:
    """The content of a leading ```json fence if there is one, else ``output``."""
    m = _FENCE.search(output)
    return m.group(1) if m and "```" in output[: m.start() + 3] and output.lstrip().startswith("```") else output


def load(output: str, opener: str) -> tuple[object | None, list[str]]:
    """Decode the first JSON value that starts with ``opener`` (``[`` or ``{``).

    Returns ``(value, problems)``; value is None when no complete value could be decoded (problems then say
    ``no_json``, ``truncated_json`` or ``invalid_json``). Text after the value counts ``trailing_text``.
    """
    text = strip_fence(output)
    start = text.find(opener)
    if start == -1:
        return None, ["no_json"]
    try:
        value, end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError:
        return None, ["truncated_json" if _is_truncated(text, start) else "invalid_json"]
    except RecursionError:  # thousands of nested brackets: noise
        return None, ["invalid_json"]
    problems = ["trailing_text"] if text[end:].strip() else []
    return value, problems


def _is_truncated(text: str, start: int) -> bool:
    """True when the JSON from ``start`` ends inside a string or with containers left open (cut-off output)."""
    depth, in_string, escape = 0, False, False
    for ch in text[start:]:
        if in_string:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return False
    return in_string or depth > 0


def salvage_objects(output: str) -> list[dict]:
    """Every complete ``{...}`` object of a broken JSON list, in order (bounded work)."""
    text = strip_fence(output)
    out: list[dict] = []
    pos, attempts = text.find("["), 0
    if pos == -1:
        return out
    while attempts < MAX_ATTEMPTS:
        p = text.find("{", pos)
        if p == -1:
            break
        attempts += 1
        window = text[p : p + WINDOW]
        try:
            value, end = _DECODER.raw_decode(window)
        except (json.JSONDecodeError, RecursionError):
            pos = p + 1
            continue
        if isinstance(value, dict):
            out.append(value)
        pos = p + end
    return out


def salvage_grouped(output: str) -> dict[str, list]:
    """The ``"KEY": ["a", "b", ...`` lists of a broken JSON object, keeping every complete string (bounded work)."""
    text = strip_fence(output)
    out: dict[str, list] = {}
    attempts = 0
    for m in _KEY_LIST.finditer(text):
        if attempts >= MAX_ATTEMPTS:
            break
        try:
            key = json.loads(f'"{m.group(1)}"')
        except json.JSONDecodeError:
            continue
        items = out.setdefault(key, [])
        pos = m.end()
        while attempts < MAX_ATTEMPTS:
            attempts += 1
            while pos < len(text) and text[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(text) or text[pos] != '"':
                break
            try:
                value, end = _DECODER.raw_decode(text[pos : pos + WINDOW])
            except (json.JSONDecodeError, RecursionError):
                break
            items.append(value)
            pos += end
    return out
