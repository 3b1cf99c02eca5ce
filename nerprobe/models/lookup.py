"""The lookup baseline: the pure memorizer every probe compares a model against.

It knows the training mentions and, for each, its majority label; it tags a sentence by matching known mentions on
the sentence's token boundaries, longest match first, left to right, without overlaps, using no context at all.
Mentions are compared under the coverage index's normalization (``probes.coverage``, casefold by default), so the
memorizer fires on exactly the mentions the index calls seen.
Its entity set is rendered in the request's output format, so it stands in for a model anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from typing import Callable, Iterable, Sequence

from nerprobe.data.model import Entity, Sentence, Token
from nerprobe.models.predictors import Request, render_predictions
from nerprobe.probes.coverage import NORMALIZERS, get_normalizer, normalizer_name

_WS = re.compile(r"\S+")

SPACE_JOINED = ("casefold", "whitespace", "exact")
"""Normalizations under which a candidate grows by a space and the next token's form (or stays, for an empty one):
for these a key's leading words suffice as the tagger's prefixes; any other gets every character prefix."""


def mention_key(text: str, normalize: str | Callable[[str], str] | None = None) -> str:
    """A mention as the memorizer sees it: normalized as the coverage index does (casefold by default)."""
    return get_normalizer(normalize)(text)


def sentence_tokens(sentence: Sentence) -> tuple[Token, ...]:
    """The sentence's own tokens, or whitespace tokens with offsets when it has none."""
    if sentence.tokens:
        return sentence.tokens
    return tuple(Token(m.group(), m.start(), m.end()) for m in _WS.finditer(sentence.text))


def key_prefixes(keys: Iterable[str], every_char: bool) -> set[str]:
    """Every key, and every part of a key that ends before one of its spaces (or, with ``every_char``, before any
    of its characters): tagging grows a candidate only while its normalized text is in this set."""
    out = set(keys)
    for k in list(out):
        if every_char:
            out.update(k[:i] for i in range(1, len(k)))
            continue
        i = k.find(" ")
        while i >= 0:
            out.add(k[:i])
            i = k.find(" ", i + 1)
    return out


class LookupPredictor:
    """A dictionary of normalized training mentions → majority label (ties: alphabetical first), matched longest
    first on token boundaries.

    ``normalize`` (a ``NORMALIZERS`` name or a callable; default casefold, as ``MentionIndex``) is applied to the
    text of every candidate window; ``table`` keys are expected in normalized form (``fit`` makes them so), so the
    memorizer finds exactly the mentions the coverage index calls seen.
    """

    def __init__(self, table: dict[str, str], normalize: str | Callable[[str], str] | None = None):
        self.table = dict(table)
        self.normalize = get_normalizer(normalize)
        self.normalize_name = normalizer_name(normalize)
        self.max_words = max((len(k.split(" ")) for k in self.table), default=0)
        # how a candidate grows: by the raw join ("exact"), by the tokens' own forms (the other space-joined ones),
        # or by normalizing the joined window again (any other normalization)
        self._mode = next((k for k in SPACE_JOINED if NORMALIZERS[k] is self.normalize), "other")
        self._prefixes = key_prefixes(self.table, every_char=self._mode == "other")
        self._memo: dict[str, str] = {}  # token text → normalized token text (space-joined normalizations only)
        blob = json.dumps([self.normalize_name, sorted(self.table.items())])
        self.fingerprint = f"lookup:{hashlib.sha256(blob.encode()).hexdigest()[:24]}"

    @classmethod
    def fit(cls, train_sentences: Iterable[Sentence],
            normalize: str | Callable[[str], str] | None = None) -> "LookupPredictor":
        """Count every (normalized mention, label) of the training sentences and keep each mention's majority
        label; ``normalize`` as in ``MentionIndex`` (casefold by default)."""
        norm = get_normalizer(normalize)
        counts: dict[str, Counter] = defaultdict(Counter)
        for s in train_sentences:
            for e in s.entities:
                key = norm(s.surface(e))
                if key:
                    counts[key][e.label] += 1
        table = {k: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for k, c in counts.items()}
        return cls(table, normalize)

    def _grow(self, key: str, raw: str, token: str) -> tuple[str, str]:
        """``(key, raw)`` after appending ``token``: ``raw`` the window's words joined by spaces, ``key`` its
        normalized form (built from the tokens' own normalized forms when the normalization is space-joined)."""
        raw = raw + " " + token
        if self._mode == "exact":
            return raw, raw
        if self._mode != "other":
            t = self._memo.get(token)
            if t is None:
                t = self._memo[token] = self.normalize(token)
            return (key + " " + t if key and t else key or t), raw
        return self.normalize(raw), raw

    def _first(self, token: str) -> str:
        """The normalized form of a one-token window."""
        if self._mode == "exact":
            return token
        t = self._memo.get(token)
        if t is None:
            t = self._memo[token] = self.normalize(token)
        return t

    def entities(self, sentence: Sentence) -> list[Entity]:
        """The known mentions found in ``sentence`` (token-aligned, longest first, non-overlapping).

        The result is that of trying, from each token, every window of up to ``max_words`` tokens, longest first,
        and taking the first whose normalized text (``normalize`` of its words joined by spaces) is a key. From
        each token the candidate grows one token at a time while its normalized text is a key or a key's prefix
        (``key_prefixes``); as normalizations are prefix-closed, none of a pruned candidate's extensions is a key.
        Time is linear in the sentence length times the words of the longest key met.
        """
        tokens = sentence_tokens(sentence)
        table, prefixes = self.table, self._prefixes
        n = len(tokens)
        found: list[Entity] = []
        i = 0
        while i < n:
            raw = tokens[i].text
            key = self._first(raw)
            hit, hit_key = 0, ""
            j = i + 1
            limit = min(n, i + self.max_words)
            while key in prefixes or not key:
                if key in table:
                    hit, hit_key = j, key
                if j >= limit:
                    break
                key, raw = self._grow(key, raw, tokens[j].text)
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
