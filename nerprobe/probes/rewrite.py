"""Rebuild a sentence with some entity spans replaced by new text, keeping every other offset consistent.

The text is rebuilt once, left to right, with an offset map: a position outside the replaced spans moves by the
total length change of the replacements before it, so enclosing entities still enclose their (new) inner
entities, and entities elsewhere still point at their own characters. Replaced spans must be disjoint, and no kept
entity may cross one (start inside it and end outside): ``replaceable_spans`` picks the spans for which that holds.
"""

from __future__ import annotations

import bisect
from typing import Mapping

from nerprobe.data.model import Entity, Sentence, Token
from nerprobe.probes.base import whitespace_tokens


_TUPLE_NEW = tuple.__new__  # Token(text, start, end) made in C (Token is a named tuple)


def leaf_entities(sentence: Sentence) -> list[Entity]:
    """Entities that contain no other entity span (the innermost ones), in sentence order."""
    ents = sentence.entities
    return [e for e in ents if not any(e.contains(o) for o in ents)]


def replaceable_spans(sentence: Sentence) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """``(spans, crossing)``: the distinct innermost spans that may be replaced, and those that may not because
    another entity crosses them (overlaps without nesting) or they overlap each other."""
    spans = sorted({e.span for e in leaf_entities(sentence)})
    ok, bad = [], []
    for a, b in spans:
        crossing = any(
            (o.start < a < o.end < b) or (a < o.start < b < o.end) for o in sentence.entities
        ) or any((c < b and a < d) and (c, d) != (a, b) for c, d in spans)
        (bad if crossing else ok).append((a, b))
    return ok, bad


def replace_spans(sentence: Sentence, replacements: Mapping[tuple[int, int], str], new_id: str,
                  relabel: Mapping[tuple[int, int], str] | None = None) -> tuple[Sentence, list[tuple[Entity, Entity]]]:
    """``(new_sentence, pairs)``: the sentence with each span ``(start, end)`` of ``replacements`` replaced by its
    new text, and each original entity paired with the entity that stands for it in the new sentence.

    Every entity is carried over with mapped offsets (a replaced span's entities cover the new text); ``relabel``
    optionally gives the label of the entities on a replaced span (all labels of that span become it). Tokens: those
    outside the replaced spans are kept and shifted, the new text is split on whitespace; if a replaced span cuts a
    token, the whole text is re-split on whitespace. Raises ``ValueError`` for overlapping spans or a kept entity
    that crosses a replaced span.
    """
    spans = sorted(replacements)
    for (a1, b1), (a2, b2) in zip(spans, spans[1:]):
        if a2 < b1:
            raise ValueError(f"replaced spans ({a1}, {b1}) and ({a2}, {b2}) overlap")
    text = sentence.text
    parts, pos, delta = [], 0, 0
    starts, deltas_after = [], []  # for mapping: replaced span i starts at starts[i]; total delta after it
    new_span = {}
    for a, b in spans:
        new = replacements[(a, b)]
        parts.append(text[pos:a])
        new_start = a + delta
        parts.append(new)
        new_span[(a, b)] = (new_start, new_start + len(new))
        delta += len(new) - (b - a)
        starts.append(b)
        deltas_after.append(delta)
        pos = b
    parts.append(text[pos:])
    new_text = "".join(parts)

    def move(p: int) -> int:
        """New position of an original boundary ``p`` that is not strictly inside a replaced span."""
        i = bisect.bisect_right(starts, p) - 1  # last replaced span that ends at or before p
        return p + (deltas_after[i] if i >= 0 else 0)

    def inside(p: int) -> bool:
        return any(a < p < b for a, b in spans)

    pairs = []
    for e in sentence.entities:
        if e.span in new_span:
            s, t = new_span[e.span]
            label = relabel.get(e.span, e.label) if relabel else e.label
            pairs.append((e, Entity(s, t, label)))
            continue
        if inside(e.start) or inside(e.end):
            raise ValueError(f"entity ({e.start}, {e.end}, {e.label}) crosses a replaced span")
        pairs.append((e, Entity(move(e.start), move(e.end), e.label)))

    tok_starts = [t.start for t in sentence.tokens]

    def cuts(p: int) -> bool:
        """True when position ``p`` lies strictly inside a token (bisect: tokens are in text order)."""
        i = bisect.bisect_right(tok_starts, p) - 1
        return i >= 0 and sentence.tokens[i].start < p < sentence.tokens[i].end

    cuts_token = any(cuts(a) or cuts(b) for a, b in spans)
    if cuts_token or not sentence.tokens:
        tokens = whitespace_tokens(new_text)
    else:
        # No replaced span cuts a token, so a kept token lies between two replaced spans, and both its ends move by
        # the length change of the spans before it (what ``move`` finds by bisection): ``shift``, kept per stretch.
        tokens = []
        j, n_spans, shift = 0, len(spans), 0
        for t in sentence.tokens:
            start = t.start
            while j < n_spans and spans[j][1] <= start:
                a, b = spans[j]
                tokens.extend(whitespace_tokens(replacements[(a, b)], new_span[(a, b)][0]))
                shift = deltas_after[j]
                j += 1
            if j < n_spans and spans[j][0] <= start:
                continue  # a token of a replaced span: its new tokens are added above
            tokens.append(_TUPLE_NEW(Token, (t.text, start + shift, t.end + shift)))
        for a, b in spans[j:]:
            tokens.extend(whitespace_tokens(replacements[(a, b)], new_span[(a, b)][0]))
        tokens.sort(key=lambda tok: tok.start)
    new = Sentence(new_id, new_text, tuple(tokens), tuple(n for _, n in pairs), sentence.doc_id)
    return new, pairs
