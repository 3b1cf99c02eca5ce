"""Replay: outputs read from a predictions file instead of a model.

Reads LLaMA-Factory ``generated_predictions.jsonl`` and nerprobe predictions JSONL through
``nerprobe.formats.predictions.read_predictions``. Each request is matched by id, else by its prompt: exactly, or —
since LLaMA-Factory records the prompt wrapped in the model's chat template — as the instruction followed by the
input somewhere inside the recorded prompt.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

from nerprobe.errors import InputError
from nerprobe.models.predictors import Request


class ReplayPredictor:
    """Outputs of a predictions file, matched to requests by id or prompt."""

    def __init__(self, path):
        from nerprobe.formats.predictions import read_predictions

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(str(path), None, "predictions file does not exist")
        self.records = read_predictions(self.path)
        with open(self.path, "rb") as fh:
            self.fingerprint = "replay:" + hashlib.file_digest(fh, "sha256").hexdigest()[:24]
        self.by_id = {r.id: r.predict for r in self.records if r.id is not None}
        self.by_prompt = {r.prompt: r.predict for r in self.records if r.prompt is not None}

    def _match_wrapped(self, requests: Sequence[Request], missing: list[int]) -> dict[int, str]:
        """Find ``instruction + "\\n" + input`` inside templated prompts; returns ``{request index: output}``."""
        found: dict[int, str] = {}
        by_instruction: dict[str, dict[str, list[int]]] = {}
        for i in missing:
            r = requests[i]
            by_instruction.setdefault(r.instruction + "\n", {}).setdefault(r.input, []).append(i)
        for head, inputs in by_instruction.items():
            lengths = sorted({len(k) for k in inputs}, reverse=True)
            for rec in self.records:
                p = rec.prompt or ""
                at = p.find(head)
                if at < 0:
                    continue
                rest = p[at + len(head) :]
                for n in lengths:  # the longest input that the rest of the prompt starts with
                    hit = inputs.get(rest[:n])
                    if hit is not None:
                        for i in hit:
                            found.setdefault(i, rec.predict)
                        break
        return found

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """The recorded output of each request; ``InputError`` names the file and the first request not found."""
        out: dict[int, str] = {}
        missing = []
        for i, r in enumerate(requests):
            if r.id in self.by_id:
                out[i] = self.by_id[r.id]
            elif r.prompt in self.by_prompt:
                out[i] = self.by_prompt[r.prompt]
            else:
                missing.append(i)
        if missing:
            out.update(self._match_wrapped(requests, missing))
        still = [i for i in missing if i not in out]
        if still:
            first = requests[still[0]]
            raise InputError(
                str(self.path), None,
                f"{len(still)} of {len(requests)} requests have no prediction (first: id {first.id!r}, "
                f"input {first.input[:60]!r})",
            )
        return [out[i] for i in range(len(requests))]
