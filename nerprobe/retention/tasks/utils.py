"""Per-item scoring for nerprobe's local lm-eval tasks (lm-eval loads this file next to the task YAMLs).

lm-eval's built-in ``f1`` metric is a corpus-level classification F1 and its SQuAD metric loads the ``evaluate``
package from the hub; the SQuAD token F1 below is a few lines, needs nothing downloaded, and gives one number per
item, which the paired retention statistics need.
"""

from __future__ import annotations

import re
import string
from collections import Counter

_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lower case, drop punctuation and articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between two answers after ``normalize_answer`` (1.0 when both are empty)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def first_line(text: str) -> str:
    """The answer as scored: the first non-empty line of the generation, stripped."""
    for line in text.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def process_completion(doc: dict, results: list[str]) -> dict[str, float]:
    """``exact_match`` (0/1) and token ``f1`` of the generated continuation against ``doc["target"]``."""
    answer = first_line(results[0])
    gold = doc["target"]
    return {
        "exact_match": float(normalize_answer(answer) == normalize_answer(gold)),
        "f1": token_f1(answer, gold),
    }


from lm_eval.api.task import ConfigurableTask  # noqa: E402  (lm-eval loads this file; the scoring above needs none)


class SubjectFewshotTask(ConfigurableTask):
    """``local_mmlu``: lm-eval's ``mmlu`` few-shot examples in one task over all subjects.

    lm-eval's ``mmlu`` is a group of one task per subject, each taking the first ``n`` dev items of its own subject
    (``fewshot_config.sampler: first_n``). Here the one task's ``first_n`` sampler is given, for each question, the
    dev items of that question's subject (lm-eval's sampler is not told the question when the few-shot split is
    another split), so every prompt is the one lm-eval's ``mmlu_<subject>`` writes. The task's acc over all items is
    the ``mmlu`` group's (``weight_by_size``).
    """

    def __init__(self, config=None, **kwargs):
        # lm-eval hands a Python task its YAML config with the ``class`` key that named it; TaskConfig has no such field
        super().__init__(config={k: v for k, v in (config or {}).items() if k != "class"}, **kwargs)

    def _subject_pools(self) -> dict:
        if getattr(self, "_pools", None) is None:
            self._pools = {}
            for d in self.fewshot_docs() or []:
                self._pools.setdefault(d["subject"], []).append(d)
        return self._pools

    def fewshot_context(self, doc, num_fewshot, *args, **kwargs):
        if num_fewshot and hasattr(self, "sampler"):
            self.sampler.df = self._subject_pools().get(doc["subject"], [])
            self.sampler._loaded = True
        return super().fewshot_context(doc, num_fewshot, *args, **kwargs)
