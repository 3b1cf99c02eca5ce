"""The contract every output format follows: ``render`` a sentence to a target string, ``parse`` output back.

Parsing never raises on model output: it returns a ``Parse`` with the entities found, a status and the problems met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, Sequence

from nerprobe.data.model import Entity, Sentence


class ParseStatus(str, Enum):
    """How the entities of a parse were located in the input sentence.

    - ``exact``: the output matches the sentence (or gives offsets that do) and every entity was located as written;
    - ``aligned``: the output rewrote the sentence, and entities were located where that was unambiguous;
    - ``lenient``: some entity could only be credited by its text, with no position (only in the named lenient mode);
    - ``failed``: the output could not be read at all (no entity is credited).
    """

    EXACT = "exact"
    ALIGNED = "aligned"
    LENIENT = "lenient"
    FAILED = "failed"


@dataclass(frozen=True)
class Parse:
    """The result of parsing one model output against its input sentence.

    ``problems`` names each kind of error met (``"unbalanced_tag"``, ``"unknown_label"``, ``"truncated_json"``,
    ``"not_in_sentence"``, ...), once per occurrence, so that callers can count them.

    Every entity the output predicts is in ``entities``: those located in the sentence with their span, and those
    that have no place in it (an invented label, text that is not in the sentence, a duplicate beyond the first)
    with negative offsets (``unplaced_entity``), so that scoring counts them as false positives of their label.
    """

    entities: tuple[Entity, ...]
    status: ParseStatus
    problems: tuple[str, ...] = field(default_factory=tuple)


#: The label given to an unplaced prediction that came without a readable label.
NO_LABEL = "(no label)"


def unplaced_entity(k: int, label: str) -> Entity:
    """The ``k``-th (from 0) prediction of a sentence that has no place in its text: an entity with negative
    offsets ``(-1 - k, -1 - k)``, distinct per ``k``, which counts as a predicted ``label`` and never matches gold."""
    return Entity(-1 - k, -1 - k, label or NO_LABEL)


def is_placed(entity: Entity) -> bool:
    """True when ``entity`` lies on the sentence text (False for ``unplaced_entity`` predictions)."""
    return entity.start >= 0


class OutputFormat(Protocol):
    """One of the five generative NER output formats."""

    name: str
    position_free: bool
    """True when outputs carry no positions (grouped JSON): they are scored as per-sentence multisets of
    (text, label), not by span."""

    def render(self, sentence: Sentence, labels: Sequence[str] | None = None) -> str:
        """The training target for ``sentence``."""
        ...

    def parse(
        self, output: str, sentence: Sentence, labels: Sequence[str] | None = None, lenient: bool = False
    ) -> Parse:
        """The entities that ``output`` marks in ``sentence``; never raises."""
        ...
