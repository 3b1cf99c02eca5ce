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
        # Every key, and every part of a key that ends before one of its spaces: tagging extends a candidate
        # mention token by token only while it is in this set, so each token costs a look-up or two instead of
        # the joins of every window of up to max_words tokens (2.3 M joins on CoNLL-2003 train + test).
        self._prefixes = set(self.table)
        for k in self.table:
            i = k.find(" ")
            while i >= 0:
                self._prefixes.add(k[:i])
                i = k.find(" ", i + 1)
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
        """The known mentions found in ``sentence`` (token-aligned, longest first, non-overlapping).

        From each token, the candidate grows one token at a time while it is a key or a key's leading words; the
        longest candidate that is a key wins. That is the longest window of up to ``max_words`` tokens whose joined
        text is a key: a longer window's text starts with the shorter one's and a space, so once a candidate is
        no key's leading words none of its extensions is a key (and a key of w tokens has at least w words). Time is
        linear in the sentence length times the words of the longest key met, not of the longest key.
        """
        tokens = sentence_tokens(sentence)
        table, prefixes = self.table, self._prefixes
        n = len(tokens)
        found: list[Entity] = []
        i = 0
        while i < n:
            key = tokens[i].text
            hit, hit_key = 0, ""
            j = i + 1
            limit = min(n, i + self.max_words)
            while key in prefixes:
                if key in table:
                    hit, hit_key = j, key
                if j >= limit:
                    break
                key = key + " " + tokens[j].text
                j += 1
            if hit:
                found.append(Entity(tokens[i].start, tokens[hit - 1].end, table[hit_key]))
                i = hit
            else:
                i += 1
        return found

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """The memorizer's entities of each request's sentence, rendered in the request's format."""
        return render_predictions(requests, self.entities, "lookup", progress=progress)
