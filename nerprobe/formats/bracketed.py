"""The inline bracketed format: ``[Entity Text | LABEL]``, nested for nested entities.

Parsing accepts ``[C$| MISC]`` (no space before ``|``, as in the LLMs4NER CoNLL files) and reads a ``[`` or ``]``
as text where the sentence has it (see ``align.parse_inline``).
"""

from __future__ import annotations

import re
from typing import Sequence

from nerprobe.data.model import Sentence
from nerprobe.formats.align import MAX_OUTPUT_CHARS, parse_inline, tokenize
from nerprobe.formats.base import Parse
from nerprobe.formats.inline import render_inline

_MARKUP = re.compile(r"\[|[ \t]?\|[ \t]*([^\s\[\]|]+)[ \t]*\]")


def _classify(m: re.Match) -> tuple[str, str | None]:
    return ("open", None) if m.group(0) == "[" else ("close", m.group(1))


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
        toks = tokenize(output, _MARKUP, _classify)
        return parse_inline(output, sentence, toks, False, "[]", labels, lenient)
