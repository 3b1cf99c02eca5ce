"""The occurrence-indexed JSON format: ``[{"text", "label", "occurrence_index"}]``.

``occurrence_index`` is 1-based: the k-th occurrence of ``text`` in the sentence, overlapping occurrences counted
(``str.find`` from one past the previous start) — this reproduces every index of the LLMs4NER GENIA files.
Objects are listed in span order (by end, inner first), as in those files.
"""

from __future__ import annotations

import json
from typing import Sequence

from nerprobe.data.model import Sentence
from nerprobe.formats import jsonish
from nerprobe.formats.align import ParseBuilder, find_all
from nerprobe.formats.base import NO_LABEL, Parse, ParseStatus
from nerprobe.formats.grouped_json import span_order


def read_object_list(b: ParseBuilder, output: str | None) -> list[dict] | None:
    """The objects of a JSON list output (salvaged when truncated), or None when it is blank or nothing could be
    read (the problems are recorded in ``b``)."""
    output = b.clip(output)
    if output is None:
        return None
    value, problems = jsonish.load(output, "[")
    b.problems.extend(problems)
    if value is None:
        objs = jsonish.salvage_objects(output)
        return objs or None
    if not isinstance(value, list):
        b.problem("not_a_list")
        return None
    objs = []
    for item in value:
        if isinstance(item, dict):
            objs.append(item)
        else:
            b.problem("bad_value")
    return objs


def as_int(x) -> int | None:
    """An int from an int or a string of digits, else None (bools are not ints here)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and x.strip().lstrip("-").isdigit():
        return int(x.strip())
    return None


class OccurrenceJsonFormat:
    """``[{"text", "label", "occurrence_index"}]``."""

    name = "occurrence_index"
    position_free = False

    def render(self, sentence: Sentence, labels: Sequence[str] | None = None) -> str:
        """The JSON list, one object per entity, in span order."""
        items = []
        for e in sorted(sentence.entities, key=lambda e: (span_order(e.span), e.label)):
            t = sentence.surface(e)
            k = find_all(t, sentence.text).index(e.start) + 1
            items.append({"text": t, "label": e.label, "occurrence_index": k})
        return json.dumps(items, ensure_ascii=False)

    def parse(
        self, output: str, sentence: Sentence, labels: Sequence[str] | None = None, lenient: bool = False
    ) -> Parse:
        """Each object located at the ``occurrence_index``-th occurrence of its text; never raises.

        A text that is not in the sentence as written is looked up ignoring case and whitespace (``aligned``).
        A missing or out-of-range index is resolved only when the text occurs once (``aligned``, counted
        ``bad_occurrence``); otherwise only the lenient mode credits the first unused occurrence.
        """
        b = ParseBuilder(sentence, labels, lenient)
        objs = read_object_list(b, output)
        if objs is None:
            return b.failed()
        for o in objs:
            t, label = o.get("text"), o.get("label")
            if not isinstance(label, str):
                b.problem("bad_value")
                b.spurious(NO_LABEL)
                continue
            if not b.label_ok(label):
                continue
            if not isinstance(t, str) or not t:
                b.problem("bad_value")
                b.spurious(label)
                continue
            found = b.locate(t, label)
            if found is None:
                continue
            spans, status = found
            k = as_int(o.get("occurrence_index"))
            if k is not None and 1 <= k <= len(spans):
                b.add(*spans[k - 1], label, status)
                continue
            b.problem("bad_occurrence")
            if len(spans) == 1:
                b.add(*spans[0], label, ParseStatus.ALIGNED)
            else:
                b.credit_by_text(t, label)
        return b.result()
