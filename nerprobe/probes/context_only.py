"""The context-only control: tags a demo sentence from its template alone, blind to the entity names.

The demo corpus (``nerprobe.data.demo``) builds every dev and test sentence from a ``Template`` whose words around
each slot give the slot's type (in train, its list lines and cross-context names are typed by the name alone). This
predictor matches the sentence text against each template's regex and labels every captured slot with the template's
slot type, whatever the name in it is; inside an ORG slot it also marks the location of the demo's nested patterns
("Bank of {}", "{} City Council", ...), again from the pattern words, not the name. It is the opposite end from the lookup baseline: it cannot lose anything when names are replaced by unseen
ones, and it knows no entity→label pair at all (an entity presented alone gets nothing).

A sentence that matches no template gets no entities.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from typing import Sequence

from nerprobe.data.model import Entity, Sentence


class ContextOnlyPredictor:
    """Rules over the demo templates; ``label_map`` renames the slot types (e.g. for a renamed label set)."""

    def __init__(self, templates=None, nested_patterns=None, label_map: dict[str, str] | None = None):
        from nerprobe.data import demo

        self.templates = tuple(templates if templates is not None else demo.TEMPLATES)
        self.nested_patterns = tuple(nested_patterns if nested_patterns is not None else demo.NESTED_ORG_PATTERNS)
        self.label_map = dict(label_map or {})
        digest = hashlib.sha256(
            repr((sorted(t.text for t in self.templates), self.nested_patterns, sorted(self.label_map.items())))
            .encode()
        ).hexdigest()[:24]
        self.fingerprint = f"context-only:{digest}"

    @cached_property
    def _nested(self) -> list[re.Pattern]:
        # the location slot of a nested pattern: a run of capitalized words (the pattern words do the typing)
        return [re.compile("^" + re.escape(p).replace(r"\{\}", r"(?P<loc>.+?)") + "$") for p in self.nested_patterns]

    def _label(self, slot_type: str) -> str:
        return self.label_map.get(slot_type, slot_type)

    def entities(self, sentence: Sentence) -> list[Entity]:
        """The slots of the first template whose regex matches ``sentence.text`` (none when no template does)."""
        text = sentence.text
        for template in self.templates:
            m = template.regex.match(text)
            if not m:
                continue
            found = []
            for i, slot_type in enumerate(template.slots):
                a, b = m.span(f"s{i}")
                found.append(Entity(a, b, self._label(slot_type)))
                if slot_type == "ORG":
                    for pat in self._nested:
                        n = pat.match(text[a:b])
                        if n:
                            found.append(Entity(a + n.start("loc"), a + n.end("loc"), self._label("LOC")))
                            break
            return found
        return []

    def predict(self, requests: Sequence, *, progress: bool = True) -> list[str]:
        """Each request's slots rendered in the request's output format (``Predictor`` protocol)."""
        from nerprobe.models.predictors import render_predictions

        return render_predictions(requests, self.entities, "context-only", progress=progress)
