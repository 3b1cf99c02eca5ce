"""Locating predicted entities in the input sentence, for every format.

Three ways to locate, tried in this order, each with its own status:

- **exact**: the output, with its markup removed, is the sentence; or a JSON entity's text/offsets point into it.
  For inline formats the markup is read *from the sentence*: a ``[`` or ``<X>`` that the sentence has at that point
  may be text, and a small least-cost search (``_search``) decides which reading reproduces the sentence.
- **aligned**: the output rewrote the sentence (whitespace, case, a changed or dropped word). Inline outputs are
  aligned to the sentence character by character with ``difflib.SequenceMatcher``; an entity is kept only when both
  of its ends fall in matching blocks and the sentence text there equals the entity text (ignoring case and spaces).
  An output that shares too little with the sentence (``MIN_COVERAGE``) counts as having dropped it: nothing is
  credited by position.
- **lenient** (only with ``lenient=True``): an entity that could not be located is credited at the first unused
  occurrence of its text in the sentence, ignoring case and whitespace: position-free credit, named as such.

We hand-write the search because difflib knows nothing of markup: it cannot tell whether a ``[`` is text or markup.
"""

from __future__ import annotations

import difflib
import heapq
import re
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Sequence

from nerprobe.data.model import Entity, Sentence, strip_span
from nerprobe.formats.base import Parse, ParseStatus, unplaced_entity

#: An aligned output must match at least this share of the sentence's characters and of its own (markup-free) text.
MIN_COVERAGE = 0.75
#: Outputs longer than this many characters are cut before parsing (they are noise; work stays linear).
MAX_OUTPUT_CHARS = 200_000
#: Expansions allowed to the markup search, per character of output plus sentence.
SEARCH_BUDGET_PER_CHAR = 40

_RANK = {ParseStatus.EXACT: 0, ParseStatus.ALIGNED: 1, ParseStatus.LENIENT: 2, ParseStatus.FAILED: 3}


@dataclass
class ParseBuilder:
    """Collects entities, problems and the worst status met while parsing one output.

    Every predicted entity ends up in ``entities``: located ones with their span, the others (invented label, text
    not in the sentence, a duplicate) as ``unplaced_entity`` false positives of their label (``spurious``).
    """

    sentence: Sentence
    labels: Sequence[str] | None = None
    lenient: bool = False
    entities: list[Entity] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    status: ParseStatus = ParseStatus.EXACT
    n_unplaced: int = 0

    def problem(self, kind: str) -> None:
        self.problems.append(kind)

    def worsen(self, status: ParseStatus) -> None:
        if _RANK[status] > _RANK[self.status]:
            self.status = status

    def spurious(self, label: str) -> None:
        """Keep a predicted ``label`` that has no place in the sentence: a false positive, never a match."""
        self.entities.append(unplaced_entity(self.n_unplaced, label))
        self.n_unplaced += 1

    def label_ok(self, label: str) -> bool:
        """False for a label outside ``labels`` (when labels are given) or an empty one: counted ``unknown_label``
        and kept as a false positive of that label (its own row in the scores)."""
        if not label or (self.labels is not None and label not in self.labels):
            self.problem("unknown_label")
            self.spurious(label)
            return False
        return True

    def add(self, start: int, end: int, label: str, status: ParseStatus = ParseStatus.EXACT) -> None:
        if 0 <= start < end <= len(self.sentence.text):
            self.entities.append(Entity(start, end, label))
            self.worsen(status)
        else:
            self.problem("empty_entity")
            self.spurious(label)

    def credit_by_text(self, text: str, label: str) -> bool:
        """Lenient mode only: credit ``text`` at its first not yet credited occurrence; True when credited."""
        if not self.lenient:
            self.problem("not_located")
            self.spurious(label)
            return False
        taken = {(e.start, e.end) for e in self.entities if e.label == label}
        for start, end in find_loose(text, self.sentence.text):
            if (start, end) not in taken:
                self.add(start, end, label, ParseStatus.LENIENT)
                return True
        self.problem("not_in_sentence")
        self.spurious(label)
        return False

    def clip(self, output: str | None) -> str | None:
        """The output capped at ``MAX_OUTPUT_CHARS``, or None (and an ``empty_output`` problem) when it is blank."""
        output = (output or "")[:MAX_OUTPUT_CHARS]
        if not output.strip():
            self.problem("empty_output")
            return None
        return output

    def locate(self, text: str, label: str) -> tuple[list[tuple[int, int]], ParseStatus] | None:
        """The spans where ``text`` occurs in the sentence: its exact occurrences (status exact), else its case- and
        space-insensitive ones (aligned); None when it does not occur at all (counted ``not_in_sentence``, and the
        prediction of ``label`` kept as a false positive)."""
        haystack = self.sentence.text
        spans = [(p, p + len(text)) for p in find_all(text, haystack)]
        if spans:
            return spans, ParseStatus.EXACT
        spans = find_loose(text, haystack)
        if spans:
            return spans, ParseStatus.ALIGNED
        self.problem("not_in_sentence")
        self.spurious(label)
        return None

    def fail(self, kind: str) -> Parse:
        """A failed parse (nothing credited) that adds problem ``kind``."""
        self.problem(kind)
        return self.failed()

    def failed(self) -> Parse:
        """A failed parse (nothing credited; the unplaced predictions met so far stay) with the problems met."""
        kept = tuple(e for e in self.entities if e.start < 0)
        return Parse(kept, ParseStatus.FAILED, tuple(self.problems))

    def result(self) -> Parse:
        """The parse: located entities once each, a repeat of one (same span and label) counted
        ``duplicate_entity`` and kept as a false positive, then the unplaced predictions."""
        distinct = set(self.entities)
        if not self.n_unplaced and len(distinct) == len(self.entities):  # the common case: nothing to set apart
            return Parse(tuple(sorted(distinct)), self.status, tuple(self.problems))
        seen: set[Entity] = set()
        for e in list(self.entities):
            if e.start < 0:
                continue
            if e in seen:
                self.problem("duplicate_entity")
                self.spurious(e.label)
            seen.add(e)
        unplaced = [e for e in self.entities if e.start < 0]
        return Parse(tuple(sorted(seen)) + tuple(unplaced), self.status, tuple(self.problems))


# ----------------------------------------------------------------------------------------------------------------
# text search helpers


def find_all(text: str, haystack: str) -> list[int]:
    """Start positions of every occurrence of ``text`` in ``haystack``, overlapping ones included."""
    out: list[int] = []
    if not text:
        return out
    p = haystack.find(text)
    while p != -1:
        out.append(p)
        p = haystack.find(text, p + 1)
    return out


def _squash(s: str) -> tuple[str, list[int]]:
    """``s`` casefolded without whitespace, and for each kept character its index in ``s``."""
    chars, index = [], []
    for i, c in enumerate(s):
        if not c.isspace():
            low = c.lower()
            if len(low) != 1:
                low = c
            chars.append(low)
            index.append(i)
    return "".join(chars), index


def find_loose(text: str, haystack: str) -> list[tuple[int, int]]:
    """Spans of ``haystack`` equal to ``text`` when case and whitespace are ignored, in order of position."""
    needle, _ = _squash(text)
    hay, index = _squash(haystack)
    if not needle:
        return []
    return [(index[p], index[p + len(needle) - 1] + 1) for p in find_all(needle, hay)]


def same_loose(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ only in case and whitespace."""
    return _squash(a)[0] == _squash(b)[0]


# ----------------------------------------------------------------------------------------------------------------
# inline formats: tokens, the markup walk, the sentence-driven search, the difflib alignment


class Tok(NamedTuple):
    """A piece of inline output: ``text`` (one chunk), ``open`` (label or None) or ``close`` (label or None).

    A named tuple (made in C) rather than a frozen dataclass: parsing makes one per chunk and markup token, and the
    markup search one per character."""

    kind: str
    raw: str
    label: str | None = None


def tokenize(output: str, markup: re.Pattern, classify) -> list[Tok]:
    """Split ``output`` into text chunks and markup tokens; ``classify(match)`` gives ``(kind, label)``."""
    toks: list[Tok] = []
    append = toks.append
    new = _TUPLE_NEW  # Tok(kind, raw, label) without the Python-level __new__ of a named tuple
    pos = 0
    for m in markup.finditer(output):
        start, end = m.span()
        if start > pos:
            append(new(Tok, ("text", output[pos:start], None)))
        kind, label = classify(m)
        append(new(Tok, (kind, m.group(0), label)))
        pos = end
    if pos < len(output):
        append(new(Tok, ("text", output[pos:], None)))
    return toks


_TUPLE_NEW = tuple.__new__


def _close_index(stack: Sequence[tuple[str | None, int]], label: str | None, by_label: bool) -> int | None:
    """Which open entry a closer closes: the top (bracketed) or the nearest with its label (xml)."""
    if not stack:
        return None
    if not by_label:
        return len(stack) - 1
    for k in range(len(stack) - 1, -1, -1):
        if stack[k][0] == label:
            return k
    return None


def walk_markup(toks: Sequence[Tok], by_label: bool) -> tuple[str, list[tuple[int, int, str]], list[str]]:
    """Read every markup token as markup: returns (plain text, spans in plain coordinates, problems)."""
    plain: list[str] = []
    pos = 0
    stack: list[tuple[str | None, int]] = []
    spans: list[tuple[int, int, str]] = []
    problems: list[str] = []
    for kind, raw, tag_label in toks:
        if kind == "text":
            plain.append(raw)
            pos += len(raw)
        elif kind == "open":
            stack.append((tag_label, pos))
        else:
            k = _close_index(stack, tag_label, by_label)
            if k is None:
                problems.append("unbalanced_tag")
                continue
            if k != len(stack) - 1:
                problems.append("crossing_tags")
            lab, start = stack.pop(k)
            label = tag_label if tag_label is not None else lab
            if start < pos:
                spans.append((start, pos, label))
            else:
                problems.append("empty_entity")
    problems.extend("unbalanced_tag" for _ in stack)
    return "".join(plain), spans, problems


def _balanced(seg: str, o: str, c: str) -> bool:
    depth = 0
    for ch in seg:
        if ch == o:
            depth += 1
        elif ch == c:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _implausibility(text: str, s: int, e: int) -> int:
    """Tie-break cost of reading ``text[s:e]`` as an entity: unbalanced brackets (1), a boundary inside a word or
    next to a bracket (1 per end), whitespace at an end (2). It only decides between readings that reproduce the
    sentence equally well, e.g. whether ``[[3H]x | L]`` marks ``[3H]x`` or a literal ``[`` and then ``3H]x``."""
    seg = text[s:e]
    cost = 0 if _balanced(seg, "[", "]") and _balanced(seg, "<", ">") else 1
    cost += (s > 0 and not text[s - 1].isspace()) + (e < len(text) and not text[e].isspace())
    if seg[0].isspace() or seg[-1].isspace():
        cost += 2
    return cost


def _search(toks: Sequence[Tok], text: str, by_label: bool, budget: int):
    """Least-cost reading of ``toks`` that reproduces ``text`` exactly, markup tokens read as markup or as text.

    Costs: skipping a whitespace character on either side or a markup problem costs 100; each entity adds its
    ``_implausibility`` (a tie-break between readings that reproduce the sentence equally well).
    Returns ``(spans, problems, n_skips)`` or None when no reading exists within ``budget`` expansions.
    """
    # One item per character of text chunks, so that a state is (item index, sentence position, open stack).
    items: list[Tok] = []
    for t in toks:
        if t.kind == "text":
            items.extend(Tok("char", c) for c in t.raw)
        else:
            items.append(t)
    n_items, n = len(items), len(text)
    start_state = (0, 0, ())
    heap = [(0, 0, start_state, None)]
    seen: set = set()
    counter = 0
    while heap:
        cost, _, state, path = heapq.heappop(heap)
        if state in seen:
            continue
        seen.add(state)
        budget -= 1
        if budget < 0:
            return None
        i, j, stack = state
        if i == n_items and j == n and stack:
            # unclosed openers: close the books with one problem each
            ev_path = path
            for _ in stack:
                ev_path = (("problem", "unbalanced_tag"), ev_path)
            counter += 1
            heapq.heappush(heap, (cost + 100 * len(stack), counter, (i, j, ()), ev_path))
            continue
        if i == n_items and j == n:
            spans, problems, skips = [], [], 0
            while path is not None:
                (ev, path) = path
                if ev[0] == "span":
                    spans.append(ev[1:])
                elif ev[0] == "skip":
                    skips += 1
                else:
                    problems.append(ev[1])
            return spans[::-1], problems[::-1], skips

        def push(c, st, ev=None):
            nonlocal counter
            counter += 1
            heapq.heappush(heap, (c, counter, st, (ev, path) if ev is not None else path))

        if i == n_items:
            if text[j].isspace():
                push(cost + 100, (i, j + 1, stack), ("skip",))
            continue
        t = items[i]
        if j < n and text[j].isspace() and (t.kind != "char" or not t.raw.isspace()):
            push(cost + 100, (i, j + 1, stack), ("skip",))
        if t.kind == "char":
            if j < n and t.raw == text[j]:
                push(cost, (i + 1, j + 1, stack))
            elif t.raw.isspace():
                push(cost + 100, (i + 1, j, stack), ("skip",))
            continue
        # markup read as text
        if text.startswith(t.raw, j):
            push(cost, (i + 1, j + len(t.raw), stack))
        if t.kind == "open":
            push(cost, (i + 1, j, stack + ((t.label, j),)))
            continue
        k = _close_index(stack, t.label, by_label)
        if k is None:
            push(cost + 100, (i + 1, j, stack), ("problem", "unbalanced_tag"))
            continue
        lab, s = stack[k]
        rest = stack[:k] + stack[k + 1 :]
        label = t.label if t.label is not None else lab
        extra = 100 if k != len(stack) - 1 else 0
        if s >= j:
            push(cost + 100, (i + 1, j, rest), ("problem", "empty_entity"))
            continue
        odd = _implausibility(text, s, j)
        ev = ("span", s, j, label)
        if extra:
            # record the crossing problem and the span: two events chained
            counter += 1
            heapq.heappush(heap, (cost + extra + odd, counter, (i + 1, j, rest), (ev, (("problem", "crossing_tags"), path))))
        else:
            push(cost + odd, (i + 1, j, rest), ev)
    return None


def parse_inline(
    output: str,
    sentence: Sentence,
    toks: list[Tok],
    by_label: bool,
    special: str,
    labels: Sequence[str] | None,
    lenient: bool,
) -> Parse:
    """Parse an inline-markup output (bracketed or XML) against ``sentence``; never raises.

    ``special`` holds the characters that markup is made of: when the sentence has none of them, every markup token
    must be markup and the parse is a linear walk; otherwise the sentence-driven search decides.
    """
    b = ParseBuilder(sentence, labels, lenient)
    text = sentence.text
    if not output.strip():
        return b.fail("empty_output")
    plain, spans, problems = walk_markup(toks, by_label)
    if plain == text and not any(c in text for c in special):
        b.problems.extend(problems)
        for s, e, lab in spans:
            if b.label_ok(lab):
                b.add(s, e, lab)
        return b.result()
    if len(output) <= 4 * len(text) + 400:
        found = _search(toks, text, by_label, SEARCH_BUDGET_PER_CHAR * (len(output) + len(text)) + 1000)
        if found is not None:
            s_spans, s_problems, skips = found
            if skips:  # whitespace was skipped: keep spans off the sentence's spaces
                s_spans = [strip_span(text, s, e) + (lab,) for s, e, lab in s_spans]
            b.problems.extend(s_problems)
            if skips:
                b.problem("whitespace_changed")
            for s, e, lab in s_spans:
                if b.label_ok(lab):
                    b.add(s, e, lab, ParseStatus.ALIGNED if skips else ParseStatus.EXACT)
            if skips:
                b.worsen(ParseStatus.ALIGNED)
            return b.result()
    # The output rewrote the sentence: align its markup-free text to the sentence.
    b.problems.extend(problems)
    align_plain(b, plain, spans)
    return b.result()


def align_plain(b: ParseBuilder, plain: str, spans: Iterable[tuple[int, int, str]]) -> None:
    """Locate ``spans`` (in ``plain`` coordinates) in the sentence through a character alignment (see module doc)."""
    text = b.sentence.text
    spans = [sp for sp in spans if b.label_ok(sp[2])]
    mapping = _char_map(plain, text)
    if mapping is None:
        b.problem("sentence_dropped")
        credited = False
        for s, e, lab in spans:
            credited |= b.credit_by_text(plain[s:e], lab)
        if not credited and not b.lenient:
            b.worsen(ParseStatus.FAILED)  # nothing credited; the entities it named stay as false positives
        return
    b.worsen(ParseStatus.ALIGNED)
    b.problem("sentence_rewritten")
    for s, e, lab in spans:
        a, z = mapping.get(s), mapping.get(e - 1)
        if a is not None and z is not None and a <= z and same_loose(text[a : z + 1], plain[s:e]):
            b.add(a, z + 1, lab, ParseStatus.ALIGNED)
        else:
            b.credit_by_text(plain[s:e], lab)


def _char_map(plain: str, text: str) -> dict[int, int] | None:
    """plain index → text index for matched characters, or None when the two share too little (dropped sentence)."""
    if not text or not plain or len(plain) > 3 * len(text) + 200:
        return None
    a, b = plain.lower(), text.lower()
    if len(a) != len(plain) or len(b) != len(text):
        a, b = plain, text
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    blocks = sm.get_matching_blocks()
    matched = sum(m.size for m in blocks)
    if matched < MIN_COVERAGE * len(_squash(text)[0]) or matched < MIN_COVERAGE * len(_squash(plain)[0]):
        return None
    out: dict[int, int] = {}
    for m in blocks:
        for k in range(m.size):
            out[m.a + k] = m.b + k
    return out
