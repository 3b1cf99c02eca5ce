"""Reading model predictions: LLaMA-Factory ``generated_predictions.jsonl`` and nerprobe predictions JSONL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nerprobe.errors import InputError


@dataclass(frozen=True)
class PredictionRecord:
    """One prediction: the prompt, the model's output (``predict``), the gold response if known, an id if known."""

    prompt: str
    predict: str
    label: str | None = None
    id: str | None = None


def json_object_lines(path, field: str | None = None):
    """``(line number, object)`` for each non-blank line of a JSONL file, in order; a file that cannot be read, a
    line that is not JSON or not an object raises ``InputError`` ``path:line: why`` (``field`` passed on, for the
    option that named the file)."""
    p = str(path)
    try:
        fh = Path(path).open(encoding="utf-8")
    except OSError as err:
        raise InputError(p, None, f"cannot read: {err.strerror}", field=field) from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as err:
                why = err.msg if isinstance(err, json.JSONDecodeError) else "nested too deeply"
                raise InputError(p, n, f"not valid JSON: {why}", field=field) from None
            if not isinstance(obj, dict):
                raise InputError(p, n, "expected a JSON object", field=field)
            yield n, obj


def read_predictions(path) -> list[PredictionRecord]:
    """Every record of a predictions JSONL file, in order; blank lines are skipped.

    Accepts ``{"prompt", "predict", "label"}`` (LLaMA-Factory) and ``{"id", "prompt", "output"}`` (nerprobe).
    A line that is not such an object raises InputError ``path:line: why``.
    """
    p = str(path)
    out: list[PredictionRecord] = []
    for n, obj in json_object_lines(path):
        predict = obj.get("predict", obj.get("output"))
        prompt = obj.get("prompt")
        if not isinstance(prompt, str):
            raise InputError(p, n, 'missing string "prompt"')
        if not isinstance(predict, str):
            raise InputError(p, n, 'missing string "predict" (LLaMA-Factory) or "output" (nerprobe)')
        label, rid = obj.get("label"), obj.get("id")
        if label is not None and not isinstance(label, str):
            raise InputError(p, n, '"label" must be a string')
        out.append(PredictionRecord(prompt, predict, label, None if rid is None else str(rid)))
    return out
