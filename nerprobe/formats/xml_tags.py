"""The inline XML format: ``<LABEL>Entity Text</LABEL>``, nested for nested entities.

Crossing tags (``<A>x <B>y</A> z</B>``) close the nearest open tag of their label and count ``crossing_tags``;
unmatched tags count ``unbalanced_tag``; a ``<`` or ``>`` that the sentence has is read as text.
"""

from __future__ import annotations

import re
from typing import Sequence

from nerprobe.data.model import Sentence
from nerprobe.formats.align import MAX_OUTPUT_CHARS, Tok, parse_inline
from nerprobe.formats.base import Parse
from nerprobe.formats.inline import render_inline

_MARKUP = re.compile(r"<(/?)([^\s<>/]+)\s*>")
#: ``_MARKUP`` with the whole tag captured too, for ``re.split``: text, tag, slash, label, text, ..., text
_SPLIT = re.compile(r"(<(/?)([^\s<>/]+)\s*>)")
_NEW = tuple.__new__


def _classify(m: re.Match) -> tuple[str, str | None]:
    return ("close" if m.group(1) else "open", m.group(2))


def _tokenize(output: str) -> list[Tok]:
    """``tokenize(output, _MARKUP, _classify)`` from one ``re.split`` (in C) instead of a match object and three
    calls per tag (``tests/test_speed_equivalence.py`` holds the two equal)."""
    parts = _SPLIT.split(output)
    toks: list[Tok] = []
    append = toks.append
    if parts[0]:
        append(_NEW(Tok, ("text", parts[0], None)))
    for k in range(1, len(parts), 4):
        append(_NEW(Tok, ("close" if parts[k + 1] else "open", parts[k], parts[k + 2])))
        if parts[k + 3]:
            append(_NEW(Tok, ("text", parts[k + 3], None)))
    return toks


class XmlFormat:
    """``<LABEL>text</LABEL>`` inline."""

    name = "xml"
    position_free = False

    def render(self, sentence: Sentence, labels: Sequence[str] | None = None) -> str:
        """The sentence with every entity written as ``<LABEL>text</LABEL>``."""
        return render_inline(sentence, lambda e: f"<{e.label}>", lambda e: f"</{e.label}>")

    def parse(
        self, output: str, sentence: Sentence, labels: Sequence[str] | None = None, lenient: bool = False
    ) -> Parse:
        """The entities ``output`` marks in ``sentence`` (see ``align`` for statuses); never raises."""
        output = (output or "")[:MAX_OUTPUT_CHARS]
        return parse_inline(output, sentence, _tokenize(output), True, "<>", labels, lenient)
