"""The offset JSON format: ``[{"text", "label", "start", "end"}]``, character offsets into the input, end exclusive.

When the offsets disagree with the text, the text wins: it is located at its occurrence nearest to ``start``
(exact, else ignoring case and whitespace), status ``aligned``, counted ``offset_mismatch``. Without a text, valid
offsets are taken as given (counted ``missing_text``).
"""

from __future__ import annotations

import json
from typing import Sequence

from nerprobe.data.model import Sentence
from nerprobe.formats.align import ParseBuilder
from nerprobe.formats.base import NO_LABEL, Parse, ParseStatus
from nerprobe.formats.grouped_json import span_order
from nerprobe.formats.occurrence_json import as_int, read_object_list


class OffsetJsonFormat:
    """``[{"text", "label", "start", "end"}]``."""

    name = "offset_json"
    position_free = False

    def render(self, sentence: Sentence, labels: Sequence[str] | None = None) -> str:
        """The JSON list, one object per entity, in span order."""
        items = [
            {"text": sentence.surface(e), "label": e.label, "start": e.start, "end": e.end}
            for e in sorted(sentence.entities, key=lambda e: (span_order(e.span), e.label))
        ]
        return json.dumps(items, ensure_ascii=False)

    def parse(
        self, output: str, sentence: Sentence, labels: Sequence[str] | None = None, lenient: bool = False
    ) -> Parse:
        """Each object located by its offsets, or by its text near them (module doc); never raises."""
        b = ParseBuilder(sentence, labels, lenient)
        objs = read_object_list(b, output)
        if objs is None:
            return b.failed()
        text = sentence.text
        for o in objs:
            t, label = o.get("text"), o.get("label")
            start, end = as_int(o.get("start")), as_int(o.get("end"))
            if not isinstance(label, str):
                b.problem("bad_value")
                b.spurious(NO_LABEL)
                continue
            if not b.label_ok(label):
                continue
            valid = start is not None and end is not None and 0 <= start < end <= len(text)
            if isinstance(t, str) and t:
                if valid and text[start:end] == t:
                    b.add(start, end, label)
                    continue
                b.problem("offset_mismatch")
                found = b.locate(t, label)
                if found is None:
                    continue
                spans = found[0]
                near = start if start is not None else 0
                s, e = min(spans, key=lambda sp: (abs(sp[0] - near), sp))
                b.add(s, e, label, ParseStatus.ALIGNED)
            elif valid:
                b.problem("missing_text")
                b.add(start, end, label, ParseStatus.ALIGNED)
            else:
                b.problem("bad_value")
                b.spurious(label)
        return b.result()
