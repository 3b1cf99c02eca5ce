"""Length and form of generated answers, so that a score change can be told apart from a change of answer style.

A gain in exact match or F1 after tuning may come from shorter answers (a tuned model that answers with a bare
span) rather than better reading. For each generative task and model this reports the mean answer length, the
share of answers that are a bare span, and two checks against the gold answer, each with its chance baseline:

- ``filters[f].matches_gold``: the task's own filtered answer (lm-eval's filter output, e.g. GSM8K's extracted
  number) equals the gold after normalization (numbers compared as numbers: ``1,000`` = ``1000.0``; text casefolded
  without punctuation);
- ``gold_in_answer``: the gold occurs in the raw answer as whole tokens (a number as a number: ``2`` is not in
  ``12``, ``1,000`` is in ``"1000 apples"``).

``chance`` is the same check against a shuffled gold: the mean over every pairing of one item's answer with another
item's gold (the exact expectation over random shuffles). A plain substring test said another item's wrong GSM8K
solution "contains the gold" 19% of the time; a check is informative only as far as it rises above its chance.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal, InvalidOperation

import numpy as np

#: An answer of at most this many words on a single line counts as a bare span.
BARE_SPAN_MAX_WORDS = 5

_NUMBER = re.compile(r"(?<![\w.,])-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|[.,]\d)")
_NUMERIC = re.compile(r"\s*-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?\.?\s*")


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _number(text: str) -> str | None:
    """The canonical form of a number written as ``text`` (``$1,000.50`` -> ``1000.5``), None if not a number."""
    cleaned = text.strip().rstrip(".").replace(",", "").replace("$", "").rstrip("%")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    value = value.normalize()
    return format(value.quantize(Decimal(1)) if value == value.to_integral() else value, "f")


def normalize_answer(text) -> str | None:
    """An answer or gold in comparable form: a number as its canonical value, other text casefolded without
    punctuation; None for None or empty text."""
    if text is None:
        return None
    text = str(text)
    if _NUMERIC.fullmatch(text):
        num = _number(text)
        if num is not None:
            return num
    norm = _norm(text)
    return norm or None


def contains_answer(answer: str | None, gold: str | None) -> bool:
    """True when ``gold`` occurs in ``answer`` as whole tokens: a numeric gold as one of the answer's numbers (by
    value), other text as a run of whole normalized words."""
    if not answer or not gold:
        return False
    g = normalize_answer(gold)
    if g is None:
        return False
    if _NUMERIC.fullmatch(gold):
        return any(_number(m.group()) == g for m in _NUMBER.finditer(answer))
    return f" {g} " in f" {_norm(answer)} "


def gold_answer(target) -> str | None:
    """The short gold answer of a target: the part after a final ``#### `` (GSM8K), else the target; None if empty."""
    if isinstance(target, list):
        target = target[0] if target else None
    if target is None:
        return None
    text = str(target)
    if "####" in text:
        text = text.rsplit("####", 1)[1]
    text = text.strip()
    return text or None


def is_bare_span(answer: str) -> bool:
    """True when the stripped answer is one line of 1 to ``BARE_SPAN_MAX_WORDS`` words."""
    text = answer.strip()
    return bool(text) and "\n" not in text and len(text.split()) <= BARE_SPAN_MAX_WORDS


def equality_with_chance(answers: list[str | None], golds: list[str | None]) -> dict:
    """Share of items whose normalized answer equals the normalized gold, and the same share when the golds are
    shuffled (exact expectation over all pairings of an answer with another item's gold). ``n`` counts items with a
    gold; ``chance`` is None with fewer than two."""
    pairs = [(normalize_answer(a), normalize_answer(g)) for a, g in zip(answers, golds) if normalize_answer(g)]
    n = len(pairs)
    if n == 0:
        return {"n": 0, "share": None, "chance": None}
    same = sum(a == g for a, g in pairs)
    ca, cg = Counter(a for a, _ in pairs if a), Counter(g for _, g in pairs)
    cross = sum(ca[v] * cg[v] for v in ca) - same  # pairs i != j with answer_i == gold_j
    return {"n": n, "share": same / n, "chance": cross / (n * (n - 1)) if n > 1 else None}


def containment_with_chance(answers: list[str], golds: list[str | None]) -> dict:
    """Share of items whose answer contains the gold (``contains_answer``) and the same against every other item's
    gold (the shuffled-gold chance). Quadratic in the items; fine for benchmark sizes (GSM8K: 1.7M checks)."""
    pairs = [(a, g) for a, g in zip(answers, golds) if g]
    n = len(pairs)
    if n == 0:
        return {"n": 0, "share": None, "chance": None}
    own = sum(contains_answer(a, g) for a, g in pairs)
    if n < 2:
        return {"n": n, "share": own / n, "chance": None}
    # numbers: count the distinct numeric values in each answer once, then match golds by value
    gold_norm = [normalize_answer(g) if _NUMERIC.fullmatch(g) else None for _, g in pairs]
    numeric_golds = Counter(v for v in gold_norm if v is not None)
    cross = 0
    for (a, g), own_norm in zip(pairs, gold_norm):
        values = {_number(m.group()) for m in _NUMBER.finditer(a)}
        cross += sum(numeric_golds[v] for v in values if v is not None)
        words = f" {_norm(a)} "
        cross += sum(f" {normalize_answer(h)} " in words for (_, h), hv in zip(pairs, gold_norm) if hv is None and h)
        cross -= contains_answer(a, g)
    return {"n": n, "share": own / n, "chance": cross / (n * (n - 1))}


def answer_form(records: list[dict]) -> dict | None:
    """Form statistics of the generated answers in ``records`` (one task, one model; None when not generative).

    Returns ``n, mean_words, median_words, mean_chars, bare_span_share``, ``gold_in_answer`` (``n``, ``share``,
    ``chance``: the raw answer contains the gold) and ``filters`` (per lm-eval filter: ``n``, ``share``, ``chance``
    of the filtered answer equal to the gold). See the module doc.
    """
    first: dict[int, dict] = {}
    by_filter: dict[str, list[dict]] = {}
    for r in records:
        if r.get("response") is None:
            continue
        first.setdefault(r["doc_id"], r)
        by_filter.setdefault(r.get("filter", "none"), []).append(r)
    if not first:
        return None
    answers = [r["response"] for r in first.values()]
    golds = [gold_answer(r.get("target")) for r in first.values()]
    words = np.array([len(a.split()) for a in answers], dtype=np.float64)
    filters = {}
    for filt, recs in sorted(by_filter.items()):
        if any(r.get("filtered") is not None for r in recs):
            filters[filt] = equality_with_chance([r.get("filtered") for r in recs],
                                                 [gold_answer(r.get("target")) for r in recs])
    return {
        "n": len(answers),
        "mean_words": float(words.mean()),
        "median_words": float(np.median(words)),
        "mean_chars": float(np.mean([len(a.strip()) for a in answers])),
        "bare_span_share": float(np.mean([is_bare_span(a) for a in answers])),
        "gold_in_answer": containment_with_chance(answers, golds),
        "filters": filters,
    }
