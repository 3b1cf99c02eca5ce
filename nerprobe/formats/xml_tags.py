"""The inline XML format: ``<LABEL>Entity Text</LABEL>``, nested for nested entities.

Crossing tags (``<A>x <B>y</A> z</B>``) close the nearest open tag of their label and count ``crossing_tags``;
unmatched tags count ``unbalanced_tag``; a ``<`` or ``>`` that the sentence has is read as text.
"""

from __future__ import annotations

import re
from typing import Sequence

from nerprobe.data.model import Sentence
from nerprobe.formats.align import MAX_OUTPUT_CHARS, parse_inline, tokenize
from nerprobe.formats.base import Parse
from nerprobe.formats.inline import render_inline

_MARKUP = re.compile(r"<(/?)([^\s<>/]+)\s*>")


def _classify(m: re.Match) -> tuple[str, str | None]:
    return ("close" if m.group(1) else "open", m.group(2))


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
        toks = tokenize(output, _MARKUP, _classify)
        return parse_inline(output, sentence, toks, True, "<>", labels, lenient)
