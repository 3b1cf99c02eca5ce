"""The inline bracketed format: ``[Entity Text | LABEL]``, nested for nested entities.

Parsing accepts ``[C$| MISC]`` (no space before ``|``, as in the LLMs4NER CoNLL files) and reads a ``[`` or ``]``
as text where the sentence has it (see ``align.parse_inline``).
"""

from __future__ import annotations

import re
from typing import Sequence

from nerprobe.data.model import Sentence
from nerprobe.formats.align import MAX_OUTPUT_CHARS, Tok, parse_inline
from nerprobe.formats.base import Parse
from nerprobe.formats.inline import render_inline

_MARKUP = re.compile(r"\[|[ \t]?\|[ \t]*([^\s\[\]|]+)[ \t]*\]")
#: ``_MARKUP`` with the whole token captured too, for ``re.split``: text, token, label, text, token, label, ..., text
_SPLIT = re.compile(r"(\[|[ \t]?\|[ \t]*([^\s\[\]|]+)[ \t]*\])")
_NEW = tuple.__new__


def _classify(m: re.Match) -> tuple[str, str | None]:
    return ("open", None) if m.group(0) == "[" else ("close", m.group(1))


def _tokenize(output: str) -> list[Tok]:
    """``tokenize(output, _MARKUP, _classify)`` from one ``re.split`` (in C) instead of a match object and two
    calls per markup token (``tests/test_speed_equivalence.py`` holds the two equal)."""
    parts = _SPLIT.split(output)
    toks: list[Tok] = []
    append = toks.append
    if parts[0]:
        append(_NEW(Tok, ("text", parts[0], None)))
    for k in range(1, len(parts), 3):
        token = parts[k]
        append(_NEW(Tok, ("open", token, None)) if token == "[" else _NEW(Tok, ("close", token, parts[k + 1])))
        if parts[k + 2]:
            append(_NEW(Tok, ("text", parts[k + 2], None)))
    return toks


class BracketedFormat:
    """``[text | LABEL]`` inline."""

    name = "bracketed"
    position_free = False

    def render(self, sentence: Sentence, labels: Sequence[str] | None = None) -> str:
        """The sentence with every entity written as ``[text | LABEL]``."""
        return render_inline(sentence, lambda e: "[", lambda e: f" | {e.label}]")

    def parse(
        self, output: str, sentence: Sentence, labels: Sequence[str] | None = None, lenient: bool = False
    ) -> Parse:
        """The entities ``output`` marks in ``sentence`` (see ``align`` for statuses); never raises."""
        output = (output or "")[:MAX_OUTPUT_CHARS]
        return parse_inline(output, sentence, _tokenize(output), False, "[]", labels, lenient)
