"""The category-grouped JSON format: ``{"LABEL": ["text", ...], ...}``, one key per label.

Texts carry no position, so the order of each label's list does. **Rule** (render and parse agree on it):
a label's texts are listed in the order of their spans, by end and, for equal ends, inner (later start) first —
the closing order of the XML format, which is also the order of the LLMs4NER files. Parsing reads each list in
order; each text marks the first occurrence of that text in the sentence (occurrences overlapping allowed) that
comes after the span marked by the previous text of the same list in that order and is not yet marked with that
label; when there is none, the first unmarked occurrence (counted ``order_ignored``). Hence a text listed k times
marks k distinct occurrences.

Round trip is exact except where an unannotated occurrence of an entity's text lies (in that order) between two
consecutive entities of the same label; ``tests/test_formats_roundtrip.py`` counts such sentences on the real
corpora.
"""

from __future__ import annotations

import json
from typing import Sequence

from nerprobe.data.model import Sentence
from nerprobe.formats import jsonish
from nerprobe.formats.align import ParseBuilder
from nerprobe.formats.base import Parse


def span_order(span: tuple[int, int]) -> tuple[int, int]:
    """The list order of a span: by end, inner (later start) first."""
    return (span[1], -span[0])


def label_order(sentence: Sentence, labels: Sequence[str] | None) -> list[str]:
    """``labels`` in their order, then any other label of the sentence, sorted."""
    first = list(labels) if labels is not None else []
    return first + sorted(sentence.labels - set(first))


class GroupedJsonFormat:
    """``{"LABEL": [texts]}`` with every label of the set as a key (empty lists included)."""

    name = "json"
    position_free = True  # a text names no occurrence: scored as a multiset of (text, label)

    def render(self, sentence: Sentence, labels: Sequence[str] | None = None) -> str:
        """The JSON object, keys in label order, texts in span order (module doc)."""
        groups: dict[str, list[str]] = {lab: [] for lab in label_order(sentence, labels)}
        for e in sorted(sentence.entities, key=lambda e: span_order(e.span)):
            groups[e.label].append(sentence.surface(e))
        return json.dumps(groups, ensure_ascii=False)

    def parse(
        self, output: str, sentence: Sentence, labels: Sequence[str] | None = None, lenient: bool = False
    ) -> Parse:
        """The entities ``output`` lists, located by the rule of the module doc; never raises."""
        b = ParseBuilder(sentence, labels, lenient)
        output = b.clip(output)
        if output is None:
            return b.failed()
        value, problems = jsonish.load(output, "{")
        b.problems.extend(problems)
        if value is None:
            value = jsonish.salvage_grouped(output)
            if not value:
                return b.failed()
        if not isinstance(value, dict):
            return b.fail("not_an_object")
        for label, texts in value.items():
            if isinstance(texts, str):
                b.problem("bad_value")
                texts = [texts]
            if not isinstance(texts, list):
                b.problem("bad_value")
                if b.label_ok(str(label)):
                    b.spurious(str(label))  # one prediction of this label that names no text
                continue
            if not texts or not b.label_ok(str(label)):
                continue
            self._locate_list(b, str(label), texts)
        return b.result()

    @staticmethod
    def _locate_list(b: ParseBuilder, label: str, texts: list) -> None:
        taken: set[tuple[int, int]] = set()
        prev = (-1, 1)  # span_order of "before everything"
        for t in texts:
            if not isinstance(t, str) or not t.strip():
                b.problem("bad_value")
                b.spurious(label)
                continue
            found = b.locate(t, label)
            if found is None:
                continue
            spans, status = found
            free = sorted((s for s in spans if s not in taken), key=span_order)
            if not free:  # listed more often than the sentence has it
                b.problem("duplicate_entity")
                b.spurious(label)
                continue
            after = [s for s in free if span_order(s) > prev]
            if not after:
                b.problem("order_ignored")
            chosen = after[0] if after else free[0]
            taken.add(chosen)
            prev = span_order(chosen)
            b.add(chosen[0], chosen[1], label, status)
