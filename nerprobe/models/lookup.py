"""The lookup baseline: the pure memorizer every probe compares a model against.

It knows the training mentions and, for each, its majority label; it tags a sentence by matching known mentions on
the sentence's token boundaries, longest match first, left to right, without overlaps, using no context at all.
Its entity set is rendered in the request's output format, so it stands in for a model anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from typing import Iterable, Sequence

from nerprobe.data.model import Entity, Sentence, Token
from nerprobe.models.predictors import Request, render_predictions

_WS = re.compile(r"\S+")


def mention_key(text: str) -> str:
    """A mention as the memorizer sees it: its words joined by single spaces (case kept)."""
    return " ".join(text.split())


def sentence_tokens(sentence: Sentence) -> tuple[Token, ...]:
    """The sentence's own tokens, or whitespace tokens with offsets when it has none."""
    if sentence.tokens:
        return sentence.tokens
    return tuple(Token(m.group(), m.start(), m.end()) for m in _WS.finditer(sentence.text))


class LookupPredictor:
    """A dictionary of training mentions → majority label (ties: alphabetical first), matched longest first."""

    def __init__(self, table: dict[str, str]):
        self.table = dict(table)
        self.max_words = max((len(k.split(" ")) for k in self.table), default=0)
        digest = hashlib.sha256(json.dumps(sorted(self.table.items())).encode()).hexdigest()[:24]
        self.fingerprint = f"lookup:{digest}"

    @classmethod
    def fit(cls, train_sentences: Iterable[Sentence]) -> "LookupPredictor":
        """Count every (mention text, label) of the training sentences and keep each mention's majority label."""
        counts: dict[str, Counter] = defaultdict(Counter)
        for s in train_sentences:
            for e in s.entities:
                key = mention_key(s.surface(e))
                if key:
                    counts[key][e.label] += 1
        table = {k: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for k, c in counts.items()}
        return cls(table)

    def entities(self, sentence: Sentence) -> list[Entity]:
        """The known mentions found in ``sentence`` (token-aligned, longest first, non-overlapping)."""
        tokens = sentence_tokens(sentence)
        found: list[Entity] = []
        i = 0
        while i < len(tokens):
            hit = None
            for j in range(min(len(tokens), i + self.max_words), i, -1):
                key = " ".join(t.text for t in tokens[i:j])
                label = self.table.get(key)
                if label is not None:
                    hit = (j, Entity(tokens[i].start, tokens[j - 1].end, label))
                    break
            if hit:
                i, entity = hit
                found.append(entity)
            else:
                i += 1
        return found

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """The memorizer's entities of each request's sentence, rendered in the request's format."""
        return render_predictions(requests, self.entities, "lookup", progress=progress)
