"""Length and form of generated answers, so that a score change can be told apart from a change of answer style.

A gain in exact match or F1 after tuning may come from shorter answers (a tuned model that answers with a bare
span) rather than better reading. For each generative task and model this reports the mean answer length, the
share of answers that are a bare span, and the share that contain the gold answer at all: when base answers
already contain the gold answer but are long, a gain of the tuned model is a gain of form.
"""

from __future__ import annotations

import re

import numpy as np

#: An answer of at most this many words on a single line counts as a bare span.
BARE_SPAN_MAX_WORDS = 5


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


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


def answer_form(records: list[dict]) -> dict | None:
    """Form statistics of the generated answers in ``records`` (one per document; None when not generative).

    Returns ``n, mean_words, median_words, mean_chars, bare_span_share, gold_in_answer_share`` (the last over
    items with a gold answer; None when there are none).
    """
    seen, answers, golds = set(), [], []
    for r in records:
        if r.get("response") is None or r["doc_id"] in seen:
            continue
        seen.add(r["doc_id"])
        answers.append(r["response"])
        golds.append(gold_answer(r.get("target")))
    if not answers:
        return None
    words = np.array([len(a.split()) for a in answers], dtype=np.float64)
    with_gold = [(a, g) for a, g in zip(answers, golds) if g]
    return {
        "n": len(answers),
        "mean_words": float(words.mean()),
        "median_words": float(np.median(words)),
        "mean_chars": float(np.mean([len(a.strip()) for a in answers])),
        "bare_span_share": float(np.mean([is_bare_span(a) for a in answers])),
        "gold_in_answer_share": float(np.mean([_norm(g) in _norm(a) for a, g in with_gold])) if with_gold else None,
    }
