"""Probe items and probe sets: controlled test sentences that keep their lineage.

A probe maps ``(train corpus, test corpus, seed)`` to a ``ProbeSet``. Each ``ProbeItem`` holds the sentence to
present (with its expected entities), the id of the original sentence it came from, and one ``Change`` per entity
that was replaced, renamed or cut out, saying what it was, what it became and how. Probe sets are saved as JSONL in
a run directory (one header line, then one item per line) and read back exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from nerprobe.data.model import Entity, Sentence, Token
from nerprobe.errors import InputError

PROBES_DIR = "probes"
"""Sub-folder of a run directory that holds the probe sets."""


@dataclass(frozen=True)
class Change:
    """One change made to an original sentence.

    ``original`` is the entity of the original sentence (None when nothing was there), ``new`` the entity of the
    probe sentence that stands for it (None when it was dropped); ``how`` names the operation (``"pool"``,
    ``"faker"``, ``"type_swap"``, ``"relabel"``, ``"alone"``, ``"enclosing"`` ...) and ``source`` where the new
    surface came from (e.g. the id of the sentence of the pool mention).
    """

    original: Entity | None
    original_text: str | None
    new: Entity | None
    new_text: str | None
    how: str
    source: str | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict (entities as ``[start, end, label]``)."""
        return {
            "original": _ent(self.original),
            "original_text": self.original_text,
            "new": _ent(self.new),
            "new_text": self.new_text,
            "how": self.how,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Change":
        """The inverse of ``to_dict``."""
        return cls(
            _unent(d.get("original")), d.get("original_text"), _unent(d.get("new")), d.get("new_text"),
            d["how"], d.get("source"),
        )


@dataclass(frozen=True)
class ProbeItem:
    """One probe sentence and its lineage.

    ``sentence`` is what the predictor sees, with the expected (gold) entities; ``original_id`` the id of the
    sentence it was derived from; ``changes`` what was done to it; ``meta`` probe-specific facts (strata, the
    memorized label of a swapped entity, the group of a pair lookup ...), JSON-ready.
    """

    id: str
    original_id: str
    sentence: Sentence
    changes: tuple[Change, ...] = ()
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "original_id": self.original_id,
            "sentence": sentence_to_dict(self.sentence),
            "changes": [c.to_dict() for c in self.changes],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ProbeItem":
        """The inverse of ``to_dict``."""
        return cls(
            d["id"], d["original_id"], sentence_from_dict(d["sentence"]),
            tuple(Change.from_dict(c) for c in d.get("changes", ())), dict(d.get("meta", {})),
        )


@dataclass
class ProbeSet:
    """A named, seeded list of probe items plus the parameters that built it and the problems met.

    ``problems`` holds one line per thing the builder could not do (an entity with no replacement, a label unknown
    to training ...): the set is still built from everything else.
    """

    name: str
    seed: int
    items: list[ProbeItem]
    params: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[ProbeItem]:
        return iter(self.items)

    @property
    def sentences(self) -> list[Sentence]:
        """The probe sentences, in item order."""
        return [it.sentence for it in self.items]

    def path_in(self, run_dir: str | Path) -> Path:
        """Where this set lives in a run directory: ``<run_dir>/probes/<name>.jsonl``."""
        return Path(run_dir) / PROBES_DIR / f"{self.name}.jsonl"

    def save(self, run_dir: str | Path) -> Path:
        """Write the set as JSONL (a header line, then one item per line); returns the file's path."""
        path = self.path_in(run_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"probe_set": self.name, "seed": self.seed, "params": self.params, "problems": self.problems}
        encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(.., ensure_ascii=False), made once
        with open(path, "w", encoding="utf-8") as f:
            f.write(encode(header) + "\n")
            for it in self.items:
                f.write(encode(it.to_dict()) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "ProbeSet":
        """Read a set written by ``save``; a malformed line raises ``InputError`` naming file and line."""
        path = Path(path)
        items: list[ProbeItem] = []
        header = None
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    d = json.loads(line)
                    if header is None:
                        header = d
                        if "probe_set" not in d:
                            raise KeyError("probe_set")
                    else:
                        items.append(ProbeItem.from_dict(d))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                    raise InputError(str(path), n, f"not a probe-set line ({type(err).__name__}: {err})") from None
        if header is None:
            raise InputError(str(path), None, "empty probe-set file")
        return cls(header["probe_set"], int(header.get("seed", 0)), items, header.get("params", {}),
                   list(header.get("problems", [])))


# -- sentence (de)serialization: only what a probe needs (the original ``meta`` is not carried) -------------------
def _ent(e: Entity | None):
    return None if e is None else [e.start, e.end, e.label]


def _unent(v) -> Entity | None:
    return None if v is None else Entity(int(v[0]), int(v[1]), str(v[2]))


def sentence_to_dict(s: Sentence) -> dict:
    """A compact JSON-ready dict: id, text, token offsets, entities, doc id."""
    return {
        "id": s.id,
        "text": s.text,
        "tokens": [[t.start, t.end] for t in s.tokens],
        "entities": [_ent(e) for e in s.entities],
        "doc_id": s.doc_id,
    }


def sentence_from_dict(d: dict) -> Sentence:
    """The inverse of ``sentence_to_dict`` (token texts are cut from the text)."""
    text = d["text"]
    tokens = tuple(Token(text[a:b], a, b) for a, b in d.get("tokens", ()))
    return Sentence(d["id"], text, tokens, tuple(_unent(e) for e in d.get("entities", ())), d.get("doc_id"))


def whitespace_tokens(text: str, offset: int = 0) -> list[Token]:
    """Tokens of ``text`` split on whitespace, with offsets shifted by ``offset``."""
    out, pos = [], 0
    for part in text.split():
        start = text.index(part, pos)
        out.append(Token(part, start + offset, start + offset + len(part)))
        pos = start + len(part)
    return out


def make_sentence(id: str, text: str, entities: Iterable[Entity] = (), doc_id: str | None = None) -> Sentence:
    """A sentence over ``text`` with whitespace tokens (for probe sentences built from a bare string)."""
    return Sentence(id, text, tuple(whitespace_tokens(text)), tuple(entities), doc_id)
