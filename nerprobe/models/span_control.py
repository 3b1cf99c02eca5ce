"""What the span-labelling controls share: they are handed the gold spans and only choose each span's label.

The form-only control (``nerprobe.models.form_only``) and the context-window control
(``nerprobe.models.context_window``) tag a probe sentence by labelling each of its *expected* spans
(``request.sentence.entities``) from one kind of evidence only: the span's surface, or the words around it. Both are
a scikit-learn vectorizer + ``LogisticRegression`` behind ``SpanControl``, which batches the classification over all
requests and renders the result in each request's output format like any other predictor.

scikit-learn, not a hand-written classifier: a regularized multinomial logistic regression over sparse n-gram
features is the standard text baseline, it is deterministic (lbfgs, no random state), fits CoNLL-2003 dev in about a
second on one core, and its behaviour is documented and version-pinned in the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable, Iterable, Sequence

import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from nerprobe.data.model import Entity, Sentence
from nerprobe.data.stats import normalize_mention
from nerprobe.models.predictors import Request, render_predictions

Normalize = Callable[[str], str]


def gold_spans(sentence: Sentence) -> list[tuple[int, int]]:
    """The distinct ``(start, end)`` spans of the sentence's entities, in order (a span with two labels counts once)."""
    return sorted({e.span for e in sentence.entities})


def mention_surfaces(sentences: Iterable[Sentence], normalize: Normalize = normalize_mention) -> set[str]:
    """The normalized surfaces of every entity of ``sentences``: what a control must not learn from."""
    return {normalize(s.surface(e)) for s in sentences for e in s.entities}


def digest(payload) -> str:
    """24 hex digits of sha256 over ``payload`` as sorted-key JSON."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]


def classifier_versions() -> dict:
    """The library versions a fitted control depends on (part of every fingerprint)."""
    return {"sklearn": sklearn.__version__}


def logistic_regression(C: float, class_weight: str | None = "balanced") -> LogisticRegression:
    """The classifier both controls use: multinomial logistic regression, lbfgs (deterministic).

    Classes are weighted ``balanced`` by default: a held-out mention set loses its most frequent names to the
    exclusion of train and test surfaces (on CoNLL-2003 dev, PER rises from 31% to 60% of what is left), and a
    control should not inherit that artifact as a prior that favours one label."""
    return LogisticRegression(C=C, class_weight=class_weight, max_iter=2000)


class SpanClassifier:
    """``vectorizer`` + logistic regression over feature inputs; with one class only, that class for every input.

    ``fit(inputs, labels)`` returns self; ``predict(inputs)`` returns one label per input. Raises ``ValueError``
    when fitted on nothing (a control that learned nothing is not a control)."""

    def __init__(self, vectorizer, C: float, class_weight: str | None = "balanced"):
        self.vectorizer, self.C, self.class_weight = vectorizer, C, class_weight
        self.pipeline: Pipeline | None = None
        self.constant: str | None = None
        self.classes: tuple[str, ...] = ()

    def fit(self, inputs: Sequence, labels: Sequence[str]) -> "SpanClassifier":
        if not inputs:
            raise ValueError("no mentions left to learn from")
        self.classes = tuple(sorted(set(labels)))
        if len(self.classes) == 1:
            self.constant = self.classes[0]
        else:
            model = logistic_regression(self.C, self.class_weight)
            self.pipeline = make_pipeline(self.vectorizer, model).fit(list(inputs), list(labels))
        return self

    def predict(self, inputs: Sequence) -> list[str]:
        if not inputs:
            return []
        if self.constant is not None:
            return [self.constant] * len(inputs)
        return [str(x) for x in self.pipeline.predict(list(inputs))]


class SpanControl:
    """A predictor that labels each gold span of a request's sentence with a ``SpanClassifier``.

    Subclasses set ``name``, ``classifier``, ``label_map`` and ``fingerprint`` and implement ``span_inputs``: the
    classifier input of each gold span of a sentence, or None for a span the control gives no label (then it
    outputs no entity there)."""

    name = "span-control"
    classifier: SpanClassifier
    label_map: dict[str, str]
    fingerprint: str

    def span_inputs(self, sentence: Sentence) -> list[tuple[tuple[int, int], object | None]]:
        """``[(span, input or None)]`` for the gold spans of ``sentence``."""
        raise NotImplementedError

    def entities_many(self, sentences: Sequence[Sentence]) -> list[list[Entity]]:
        """The labelled gold spans of each sentence, classified in one batch (renamed through ``label_map``)."""
        per_sentence = [self.span_inputs(s) for s in sentences]
        flat = [x for spans in per_sentence for _, x in spans if x is not None]
        labels = iter(self.classifier.predict(flat))
        out = []
        for spans in per_sentence:
            found = []
            for (a, b), x in spans:
                if x is not None:
                    label = next(labels)
                    found.append(Entity(a, b, self.label_map.get(label, label)))
            out.append(found)
        return out

    def entities(self, sentence: Sentence) -> list[Entity]:
        """The labelled gold spans of one sentence."""
        return self.entities_many([sentence])[0]

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """Each request's gold spans with this control's labels, rendered in the request's format (``Predictor``)."""
        sentences = [r.sentence for r in requests]
        # one classifier call for all requests; requests keep their sentences alive, so id() is a sound key here
        found = {id(s): ents for s, ents in zip(sentences, self.entities_many(sentences))}
        return render_predictions(requests, lambda s: found[id(s)], self.name, progress=progress)
