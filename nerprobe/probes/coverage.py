"""Coverage strata: is a test mention seen in training with the same label, only with other labels, or unseen?

Mentions are compared by their normalized surface form (``normalize`` is configurable: a callable, or one of
``NORMALIZERS``). Label consistency follows Fu et al. (2020, "Rethinking Generalization of Neural Models: A Named
Entity Recognition Case Study"): the share of a mention's training occurrences that carry its label (None when the
mention never occurs in training).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable

from nerprobe.data.model import Sentence, spaced_token_text
from nerprobe.data.stats import normalize_mention
from nerprobe.errors import InputError
from nerprobe.probes.base import ProbeItem, ProbeSet

SEEN_SAME, SEEN_OTHER, UNSEEN = "seen_same", "seen_other", "unseen"
STRATA = (SEEN_SAME, SEEN_OTHER, UNSEEN)


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "casefold": normalize_mention,
    "exact": lambda text: text,
    "whitespace": lambda text: " ".join(text.split()),
    "alnum": lambda text: re.sub(r"[\W_]+", "", text.casefold()),
}
"""Named normalizations of mention surfaces; ``casefold`` (casefold + collapse whitespace) is the default.

Each must be *prefix-closed*: ``normalize(a + " " + b)`` starts with ``normalize(a)`` (the lookup tagger relies on
it to stop growing a candidate early). Every normalizer here is; a custom one should be too.
"""


def get_normalizer(normalize: str | Callable[[str], str] | None) -> Callable[[str], str]:
    """The normalization function for a name in ``NORMALIZERS``, a callable, or None (the default, casefold)."""
    if normalize is None:
        return NORMALIZERS["casefold"]
    if callable(normalize):
        return normalize
    try:
        return NORMALIZERS[normalize]
    except KeyError:
        raise InputError(None, None, f"unknown normalization {normalize!r} (known: {', '.join(NORMALIZERS)})",
                         field="normalize")


def normalizer_name(normalize: str | Callable[[str], str] | None) -> str:
    """The name a normalization is recorded under: its ``NORMALIZERS`` name, else the callable's ``__name__``."""
    if normalize is None:
        return "casefold"
    if isinstance(normalize, str):
        return normalize
    known = [k for k, f in NORMALIZERS.items() if f is normalize]
    return known[0] if known else getattr(normalize, "__name__", "custom")


class MentionIndex:
    """Training mentions by normalized surface: how often each carries each label.

    ``counts[norm]`` is a ``Counter`` label → number of training occurrences.
    """

    def __init__(self, sentences: Iterable[Sentence], normalize: str | Callable[[str], str] | None = None):
        self.normalize = get_normalizer(normalize)
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.first_seen: dict[tuple[str, str], tuple[str, int, int]] = {}
        for s in sentences:
            for e in s.entities:
                key = self.normalize(s.text[e.start : e.end])
                self.counts[key][e.label] += 1
                self.first_seen.setdefault((key, e.label), (s.id, e.start, e.end))
        self.counts = dict(self.counts)

    def __contains__(self, surface: str) -> bool:
        return self.normalize(surface) in self.counts

    def labels_of(self, surface: str) -> Counter:
        """Training label counts of a surface (an empty Counter when unseen)."""
        return self.counts.get(self.normalize(surface), Counter())

    def stratum(self, surface: str, label: str) -> str:
        """``seen_same``, ``seen_other`` or ``unseen`` for a mention ``surface`` labelled ``label``."""
        c = self.counts.get(self.normalize(surface))  # not labels_of: no empty Counter made per unseen mention
        if not c:
            return UNSEEN
        return SEEN_SAME if c.get(label, 0) > 0 else SEEN_OTHER

    def consistency(self, surface: str, label: str) -> float | None:
        """Fu et al.'s label consistency: share of the surface's training occurrences labelled ``label``."""
        c = self.labels_of(surface)
        total = sum(c.values())
        return None if total == 0 else c.get(label, 0) / total

    def majority_label(self, surface: str) -> str | None:
        """The label the surface carries most often in training (ties: alphabetical), None when unseen."""
        c = self.labels_of(surface)
        if not c:
            return None
        return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def training_subspans(surface: str, index: MentionIndex) -> list[str]:
    """The contiguous token sub-sequences of ``surface`` (the whole included) that are training mentions under the
    index's normalization, as they appear in ``surface``; empty when it contains none."""
    words = surface.split()
    out = []
    for i in range(len(words)):
        for j in range(i + 1, len(words) + 1):
            part = " ".join(words[i:j])
            if index.normalize(part) in index.counts:
                out.append(part)
    return out


class TrainingText:
    """The training sentences as sequences of normalized tokens, to ask whether a phrase occurs in them.

    A phrase occurs when the tuple of its whitespace tokens, each normalized alone (empty ones dropped), equals a
    contiguous run of a training sentence's normalized tokens. Looked up through the positions of each token.
    """

    def __init__(self, sentences: Iterable[Sentence], normalize: str | Callable[[str], str] | None = None):
        self.normalize = get_normalizer(normalize)
        self._memo: dict[str, str] = {}  # token → normalized token: each distinct token is normalized once
        self.sentences: list[list[str]] = []
        self.positions: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for k, s in enumerate(sentences):
            toks = self.tokens_of(spaced_token_text(s))
            self.sentences.append(toks)
            for i, t in enumerate(toks):
                self.positions[t].append((k, i))
        self.positions = dict(self.positions)

    def tokens_of(self, text: str) -> list[str]:
        """The normalized, non-empty whitespace tokens of ``text``."""
        memo = self._memo
        out = []
        for t in text.split():
            n = memo.get(t)
            if n is None:
                n = memo[t] = self.normalize(t)
            if n:
                out.append(n)
        return out

    def __contains__(self, phrase: str) -> bool:
        toks = self.tokens_of(phrase)
        if not toks:
            return False
        rarest = min(range(len(toks)), key=lambda i: len(self.positions.get(toks[i], ())))
        for k, i in self.positions.get(toks[rarest], ()):
            start = i - rarest
            if start >= 0 and self.sentences[k][start : start + len(toks)] == toks:
                return True
        return False


def consistency_bin(value: float | None) -> str:
    """A coarse bin for label consistency: ``unseen``, ``0``, ``(0,0.5)``, ``[0.5,1)``, ``1``."""
    if value is None:
        return "unseen"
    if value == 0:
        return "0"
    if value < 0.5:
        return "(0,0.5)"
    if value < 1:
        return "[0.5,1)"
    return "1"


def entity_facts(index: MentionIndex, sentence: Sentence) -> list[dict]:
    """One dict per gold entity of ``sentence``: span, label, text, stratum, consistency, training count."""
    out = []
    for e in sentence.entities:
        surface = sentence.surface(e)
        c = index.labels_of(surface)
        out.append({
            "start": e.start, "end": e.end, "label": e.label, "text": surface,
            "stratum": index.stratum(surface, e.label),
            "consistency": index.consistency(surface, e.label),
            "train_count": int(sum(c.values())),
            "n_tokens": len(surface.split()),
        })
    return out


def build_coverage(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0,
    normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``coverage`` probe set: the test sentences unchanged, each item's ``meta["entities"]`` giving every gold
    entity's stratum and label consistency (see ``entity_facts``). ``seed`` is recorded only (nothing is sampled).

    Labels of the test set that training never had are reported in ``problems`` (their mentions are still kept).
    """
    train = list(train)
    index = index or MentionIndex(train, normalize)
    train_labels = {e.label for s in train for e in s.entities}
    items, unknown = [], Counter()
    for s in test:
        facts = entity_facts(index, s)
        for f in facts:
            if f["label"] not in train_labels:
                unknown[f["label"]] += 1
        items.append(ProbeItem(s.id, s.id, s, (), {"entities": facts}))
    problems = [f"label {lab!r} of {n} test mention(s) never occurs in training" for lab, n in sorted(unknown.items())]
    params = {"normalize": normalize if isinstance(normalize, str) or normalize is None else normalizer_name(normalize)}
    return ProbeSet("coverage", seed, items, params, problems)


def strata_counts(probe_set: ProbeSet) -> dict[str, int]:
    """How many gold mentions of a coverage set fall in each stratum."""
    c = Counter(f["stratum"] for it in probe_set.items for f in it.meta.get("entities", ()))
    return {k: c.get(k, 0) for k in STRATA}


@dataclass(frozen=True)
class StratumScore:
    """Recall of gold mentions and precision of predicted mentions in one stratum."""

    stratum: str
    gold: int
    found: int
    predicted: int
    correct: int

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0


def score_strata(probe_set: ProbeSet, predictions, index: MentionIndex) -> dict[str, StratumScore]:
    """Recall per stratum of gold mentions and precision per stratum of predicted mentions.

    ``predictions[i]`` are the entities predicted for ``probe_set.items[i]``. A predicted mention falls in the
    stratum of its own surface and predicted label (so a prediction that copies a training pair is ``seen_same``).
    """
    gold_n, found, pred_n, correct = Counter(), Counter(), Counter(), Counter()
    for item, pred in zip(probe_set.items, predictions, strict=True):
        s = item.sentence
        gold = {(e.start, e.end, e.label) for e in s.entities}
        pred_set = {(e.start, e.end, e.label) for e in pred}
        for f in item.meta["entities"]:
            gold_n[f["stratum"]] += 1
            found[f["stratum"]] += (f["start"], f["end"], f["label"]) in pred_set
        for a, b, label in pred_set:
            st = index.stratum(s.text[a:b], label)
            pred_n[st] += 1
            correct[st] += (a, b, label) in gold
    return {k: StratumScore(k, gold_n[k], found[k], pred_n[k], correct[k]) for k in STRATA}
