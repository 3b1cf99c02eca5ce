"""The data model every part of nerprobe shares: sentences, tokens and character-span entities.

Entities are ``(start, end, label)`` in *character* offsets of the sentence text, end exclusive. Nested and
overlapping entities are normal, the same span may carry several labels, and exact duplicates collapse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add
from typing import Iterable, NamedTuple, Sequence


@dataclass(frozen=True, order=True)
class Entity:
    """One mention: characters ``start:end`` of the sentence text carry ``label``."""

    start: int
    end: int
    label: str

    @property
    def span(self) -> tuple[int, int]:
        """The character span ``(start, end)`` without the label."""
        return (self.start, self.end)

    def contains(self, other: "Entity") -> bool:
        """True when ``other`` lies inside this entity's span (and is not the same span)."""
        return self.start <= other.start and other.end <= self.end and self.span != other.span


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed so that ``text[start:end]`` has no white space at either end."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class Token(NamedTuple):
    """A token and its character offsets in the sentence text (end exclusive).

    An immutable named tuple rather than a frozen dataclass: readers make one per token (200,000 for CoNLL-2003
    train), and a tuple can be made in C (``tuple.__new__(Token, (text, start, end))``) where a frozen dataclass
    runs ``object.__setattr__`` per field. Construction, attributes, equality, hash and ``repr`` are those of the
    dataclass it replaced.
    """

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Sentence:
    """A sentence: its id, text, tokens with offsets, and its set of entities.

    ``entities`` is normalised on construction: sorted by (start, end, label), exact duplicates removed, and every
    span checked against the text (``ValueError`` names the bad span).
    """

    id: str
    text: str
    tokens: tuple[Token, ...] = ()
    entities: tuple[Entity, ...] = ()
    doc_id: str | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.text)
        for e in self.entities:
            if not (0 <= e.start < e.end <= n):
                raise ValueError(
                    f"entity ({e.start}, {e.end}, {e.label}) is outside the sentence text of length {n}"
                )
            if not e.label:
                raise ValueError(f"entity ({e.start}, {e.end}) has an empty label")
        object.__setattr__(self, "entities", tuple(sorted(set(self.entities))))
        object.__setattr__(self, "tokens", tuple(self.tokens))

    # -- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_tokens(
        cls,
        id: str,
        words: Sequence[str],
        token_spans: Iterable[tuple[int, int, str]] = (),
        doc_id: str | None = None,
        meta: dict | None = None,
    ) -> "Sentence":
        """Build a sentence from words joined by single spaces.

        ``token_spans`` are ``(first_token, last_token_exclusive, label)``; they become character spans.
        Raises ``ValueError`` for a token span outside the sentence.
        """
        tokens: list[Token] = []
        pos = 0
        for w in words:
            tokens.append(Token(w, pos, pos + len(w)))
            pos += len(w) + 1
        text = " ".join(words)
        entities = []
        for s, e, label in token_spans:
            if not (0 <= s < e <= len(tokens)):
                raise ValueError(f"token span ({s}, {e}, {label}) is outside the sentence of {len(tokens)} tokens")
            entities.append(Entity(tokens[s].start, tokens[e - 1].end, label))
        return cls(id=id, text=text, tokens=tuple(tokens), entities=tuple(entities), doc_id=doc_id, meta=meta or {})

    def with_entities(self, entities: Iterable[Entity]) -> "Sentence":
        """The same sentence with another entity set (used for predictions)."""
        return Sentence(self.id, self.text, self.tokens, tuple(entities), self.doc_id, dict(self.meta))

    # -- views ----------------------------------------------------------------------------------------------
    def surface(self, entity: Entity) -> str:
        """The text an entity covers."""
        return self.text[entity.start : entity.end]

    @property
    def labels(self) -> set[str]:
        """The labels used in this sentence."""
        return {e.label for e in self.entities}

    def token_span(self, entity: Entity) -> tuple[int, int] | None:
        """The ``(first, last_exclusive)`` token indices an entity covers exactly, or None if it cuts a token."""
        first = next((i for i, t in enumerate(self.tokens) if t.start == entity.start), None)
        last = next((i for i, t in enumerate(self.tokens) if t.end == entity.end), None)
        if first is None or last is None or last < first:
            return None
        return (first, last + 1)

    def nesting_depth(self) -> int:
        """The largest number of entity spans that cover one character (0 without entities, 1 when flat)."""
        spans = {e.span for e in self.entities}
        events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
        depth = best = 0
        for _, d in events:
            depth += d
            best = max(best, depth)
        return best

    def is_flat(self) -> bool:
        """True when no two entities overlap and no span carries two labels."""
        ents = self.entities
        for a, b in zip(ents, ents[1:]):
            if b.start < a.end:
                return False
        return True


class _SpaceSeparatedTokens:
    """``Sentence.tokens`` of a sentence made by :func:`trusted_sentence` without tokens: its words are the text
    split at single spaces (the text is its words joined by single spaces, none holding white space), made into
    tokens on first access and kept. Every other sentence holds its tokens in its instance dict, which this
    non-data descriptor never shadows; on the class it reads as the field's default ``()``."""

    def __get__(self, obj, cls=None):
        if obj is None:
            return ()
        words = obj.text.split(" ")
        lens = list(map(len, words))
        starts = list(accumulate(map(add, lens, repeat(1)), initial=0))
        tokens = tuple(map(_TUPLE_NEW, repeat(Token), zip(words, starts, map(add, starts, lens))))
        obj.__dict__["tokens"] = tokens
        return tokens


_TUPLE_NEW = tuple.__new__
Sentence.tokens = _SpaceSeparatedTokens()  # after @dataclass, so that __init__ keeps its default () and sets tokens


def trusted_sentence(id: str, text: str, entities: tuple[Entity, ...], doc_id: str | None, meta: dict,
                     tokens: tuple[Token, ...] | None = None) -> Sentence:
    """A Sentence made without ``__post_init__``'s checks, for readers that guarantee them: ``entities`` a tuple
    sorted and without duplicates, every span inside ``text`` with a label. ``tokens`` None means the words of
    ``text`` split at single spaces (``text`` must then be non-empty words, without white space, joined by single
    spaces), made on first access: a reader saves one object per token for callers that never look at them. Equal,
    in every field, to ``Sentence(id, text, tokens, entities, doc_id, meta)``."""
    sentence = _NEW(Sentence)
    fields = sentence.__dict__
    fields.update(id=id, text=text, entities=entities, doc_id=doc_id, meta=meta)
    if tokens is not None:
        fields["tokens"] = tokens
    return sentence


_NEW = object.__new__


def spaced_token_text(sentence: Sentence) -> str:
    """The texts of ``sentence``'s tokens joined by single spaces (its text when it has no tokens). A sentence
    whose tokens are made on first access (``trusted_sentence`` without tokens) is its words joined by single
    spaces already: its text is the answer, and no token is made for the question (14,000 sentences' tokens cost
    ~0.4 s on CoNLL-2003 train)."""
    if "tokens" not in sentence.__dict__:
        return sentence.text
    tokens = sentence.tokens
    return " ".join(t.text for t in tokens) if tokens else sentence.text


@dataclass
class Corpus:
    """Sentences read from one source, with the records a lenient reading skipped.

    ``skipped`` holds one message per skipped record (``path:line: why``), so a lenient reading reports what it
    dropped and keeps every valid record.
    """

    sentences: list[Sentence]
    source: str | None = None
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sentences)

    def __iter__(self):
        return iter(self.sentences)

    def __getitem__(self, i):
        return self.sentences[i]

    @property
    def labels(self) -> list[str]:
        """All labels used in the corpus, sorted."""
        return sorted({e.label for s in self.sentences for e in s.entities})

    def n_entities(self) -> int:
        """The number of entities (after duplicate collapse) over all sentences."""
        return sum(len(s.entities) for s in self.sentences)
