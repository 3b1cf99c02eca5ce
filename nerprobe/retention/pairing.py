"""Per-item results from lm-eval's sample logs, and their pairing across two models by document.

lm-eval logs one record per (document, filter) with the document's index (``doc_id``), hashes of the document and
prompt, the raw and filtered responses, and the per-item value of every metric of the task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from nerprobe.errors import NerprobeError


BINARY_METRICS = frozenset({"acc", "acc_norm", "acc_mutual_info", "exact_match", "em"})
"""lm-eval metrics that are right/wrong per item by definition (tested with McNemar). Any other metric is graded
(paired bootstrap), even when a sample's values happen to be all 0 or 1: F1 of one-word answers often is."""


def _scalar(value: Any) -> float | None:
    """A per-item metric value as a float, or None when it is not a plain number (e.g. a corpus-level tuple)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return None


def _text(resps: Any) -> str | None:
    """The generated text of a generative item (first request, first repeat), else None."""
    try:
        first = resps[0][0]
    except (IndexError, TypeError, KeyError):
        return None
    return first if isinstance(first, str) else None


def item_records(task: str, samples: Iterable[dict], output_type: str | None = None) -> list[dict]:
    """Slim per-item records of one leaf task from lm-eval's logged samples.

    Each: ``task, doc_id, filter, metrics {name: float}, response (generated text or None), filtered, target,
    doc_hash, prompt_hash``. Non-scalar metric values (corpus-level metrics) are left out of ``metrics``.
    """
    records = []
    for s in samples:
        metrics = {}
        for name in s.get("metrics", []):
            v = _scalar(s.get(name))
            if v is not None:
                metrics[name] = v
        response = _text(s.get("resps")) if output_type in (None, "generate_until") else None
        filtered = s.get("filtered_resps")
        records.append(
            {
                "task": task,
                "doc_id": int(s["doc_id"]),
                "filter": s.get("filter", "none"),
                "metrics": metrics,
                "response": response,
                "filtered": filtered[0] if isinstance(filtered, list) and len(filtered) == 1 and response is not None else None,
                "target": s.get("target") if isinstance(s.get("target"), (str, int, float, list)) else str(s.get("target")),
                "doc_hash": s.get("doc_hash"),
                "prompt_hash": s.get("prompt_hash"),
            }
        )
    return records


def write_records(records: list[dict], path: Path) -> None:
    """Write records as JSON Lines (non-JSON values as strings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


def read_records(path: Path) -> list[dict]:
    """Read records written by ``write_records``."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class PairedMetric:
    """One metric of one leaf task under one filter, for the same documents in both runs (sorted by doc_id)."""

    task: str
    metric: str
    filter: str
    doc_ids: list[int]
    base: np.ndarray
    tuned: np.ndarray
    prompts_differ: int = 0  # items whose prompt hash differs between the runs (0 when the settings were identical)
    items: list[dict] = field(default_factory=list)

    binary_by_task: bool = False  # the metric is binary by definition (``BINARY_METRICS``), see ``pair_records``

    @property
    def binary(self) -> bool:
        """True when the metric is binary by definition (``binary_by_task``), never because its values happen to be
        0 or 1."""
        return self.binary_by_task


def _by_key(records: list[dict], task: str, which: str) -> dict[tuple[str, int], dict]:
    """Records by (filter, doc_id); a second record for the same key is an error, not silently dropped."""
    out: dict[tuple[str, int], dict] = {}
    for r in records:
        key = (r["filter"], r["doc_id"])
        if key in out:
            raise NerprobeError(f"task {task}: the {which} run logged document {key[1]} twice under filter "
                                f"{key[0]!r}; a run must have one record per (filter, doc_id)")
        out[key] = r
    return out


def _binary_metric(metric: str, base: np.ndarray, tuned: np.ndarray, binary_metrics) -> bool:
    """Binary when the name says so and the values agree (a task that redefines, say, ``exact_match`` as a share of
    answers is tested as graded)."""
    values = np.concatenate([base, tuned])
    return metric in binary_metrics and bool(np.all((values == 0) | (values == 1)))


def pair_records(base: list[dict], tuned: list[dict], binary_metrics=BINARY_METRICS) -> list[PairedMetric]:
    """Pair two runs' records of the same leaf task by (filter, doc_id), one ``PairedMetric`` per (metric, filter).

    A metric is binary when it is in ``binary_metrics`` and its values are 0/1. Raises ``NerprobeError``
    when the runs did not see the same documents (different doc sets or doc hashes), or when a run has two
    records for one (filter, doc_id).
    """
    task = base[0]["task"] if base else (tuned[0]["task"] if tuned else "?")
    by_key_b = _by_key(base, task, "base")
    by_key_t = _by_key(tuned, task, "tuned")
    if set(by_key_b) != set(by_key_t):
        only_b, only_t = len(set(by_key_b) - set(by_key_t)), len(set(by_key_t) - set(by_key_b))
        raise NerprobeError(f"task {task}: runs cover different items ({only_b} only in base, {only_t} only in tuned)")
    out = []
    for filt in sorted({k[0] for k in by_key_b}):
        keys = sorted(k for k in by_key_b if k[0] == filt)
        for key in keys:
            if by_key_b[key]["doc_hash"] != by_key_t[key]["doc_hash"]:
                raise NerprobeError(f"task {task}: document {key[1]} differs between the runs (data changed?)")
        metrics = sorted(set.intersection(*(set(by_key_b[k]["metrics"]) & set(by_key_t[k]["metrics"]) for k in keys)))
        differ = sum(by_key_b[k]["prompt_hash"] != by_key_t[k]["prompt_hash"] for k in keys)
        for m in metrics:
            b_vals = np.array([by_key_b[k]["metrics"][m] for k in keys], dtype=np.float64)
            t_vals = np.array([by_key_t[k]["metrics"][m] for k in keys], dtype=np.float64)
            out.append(
                PairedMetric(
                    task=task,
                    metric=m,
                    filter=filt,
                    doc_ids=[k[1] for k in keys],
                    base=b_vals,
                    tuned=t_vals,
                    binary_by_task=_binary_metric(m, b_vals, t_vals, binary_metrics),
                    prompts_differ=differ,
                    items=[
                        {
                            "doc_id": k[1],
                            "base": by_key_b[k]["metrics"][m],
                            "tuned": by_key_t[k]["metrics"][m],
                            "base_response": by_key_b[k]["response"],
                            "tuned_response": by_key_t[k]["response"],
                            "target": by_key_b[k]["target"],
                        }
                        for k in keys
                    ],
                )
            )
    return out
