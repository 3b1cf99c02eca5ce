"""Outputs made elsewhere, read back and paired with the probe items.

Accepted per line: LLaMA-Factory's ``{"prompt", "predict", "label"}`` (``generated_predictions.jsonl``; the prompt is
the templated text, special tokens included) and ``{"id", "output"}`` (optionally with ``prompt``; ``predict`` is
accepted for ``output``). Each set's outputs are in one file, found by the set's name: ``<dir>/<set>.jsonl`` or
``<dir>/<set>/generated_predictions.jsonl`` (LLaMA-Factory's ``--output_dir <dir>/<set>``), or given as files so
named.

A record pairs with an item by ``id`` (the item id of the export); else by its prompt: equal to the item's user
prompt, or holding ``instruction + "\\n" + input`` inside a templated prompt (the longest input that fits), and last
with whitespace ignored (a tokenizer that cleans up spaces when decoding). Records with the same prompt pair with
items of that prompt in order. A set with an item that got no output, or with records that match no item, is refused
with one line: how many, and the first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from nerprobe.errors import InputError
from nerprobe.exchange.requests import probe_requests
from nerprobe.formats.labels import LabelSet
from nerprobe.formats.predictions import json_object_lines
from nerprobe.models.predictors import Request

LLAMAFACTORY_FILE = "generated_predictions.jsonl"
FIELD = "predictions"
"""``InputError.field`` of every error here (the CLI maps it to its option, ``--predictions``)."""


@dataclass(frozen=True)
class OutputRecord:
    """One line of an outputs file: where it is, its id and prompt when given, and the output."""

    path: str
    line: int
    id: str | None
    prompt: str | None
    output: str


def read_output_records(path) -> list[OutputRecord]:
    """Every record of an outputs JSONL file, in order (blank lines skipped); ``InputError`` ``path:line: why``."""
    p = str(path)
    out: list[OutputRecord] = []
    for n, obj in json_object_lines(path, FIELD):
        output = obj.get("output", obj.get("predict"))
        rid, prompt = obj.get("id"), obj.get("prompt")
        if not isinstance(output, str):
            raise InputError(p, n, 'missing string "output" (or LLaMA-Factory\'s "predict")', field=FIELD)
        if rid is None and not isinstance(prompt, str):
            raise InputError(p, n, 'needs an "id" or a string "prompt" to pair it with a probe item', field=FIELD)
        out.append(OutputRecord(p, n, None if rid is None else str(rid),
                                prompt if isinstance(prompt, str) else None, output))
    return out


# -- which file holds which set --------------------------------------------------------------------------------------
def _set_of_file(path: Path, names: Iterable[str]) -> str | None:
    names = set(names)
    if path.name == LLAMAFACTORY_FILE and path.parent.name in names:
        return path.parent.name
    for suffix in (".generated_predictions.jsonl", ".outputs.jsonl", ".jsonl"):
        if path.name.endswith(suffix) and path.name[: -len(suffix)] in names:
            return path.name[: -len(suffix)]
    return None


def locate_files(source, names: Sequence[str]) -> dict[str, Path]:
    """``{set name: outputs file}`` for a folder (``<set>.jsonl`` or ``<set>/generated_predictions.jsonl``) or a list
    of files named by set; ``InputError`` for a set without a file, a file of no set or a set with two files."""
    names = list(names)
    if isinstance(source, (str, Path)) and Path(source).expanduser().is_dir():
        folder = Path(source).expanduser()
        found: dict[str, Path] = {}
        for name in names:
            options = [folder / f"{name}.jsonl", folder / name / LLAMAFACTORY_FILE]
            hits = [p for p in options if p.is_file()]
            if len(hits) > 1:
                raise InputError(str(folder), None, f"probe set {name} has two outputs files ({hits[0].name}, "
                                 f"{name}/{LLAMAFACTORY_FILE}); keep one", field=FIELD)
            if not hits:
                raise InputError(str(folder), None, f"no outputs for probe set {name} (expected {name}.jsonl or "
                                 f"{name}/{LLAMAFACTORY_FILE})", field=FIELD)
            found[name] = hits[0]
        return found
    files = [source] if isinstance(source, (str, Path)) else list(source)
    found = {}
    for f in files:
        p = Path(f).expanduser()
        if not p.is_file():
            raise InputError(str(f), None, "outputs file does not exist", field=FIELD)
        name = _set_of_file(p, names)
        if name is None:
            raise InputError(str(f), None, f"cannot tell which probe set it holds: name it <set>.jsonl or "
                             f"<set>/{LLAMAFACTORY_FILE} (sets: {', '.join(names)})", field=FIELD)
        if name in found:
            raise InputError(str(f), None, f"a second outputs file for probe set {name} (first: {found[name]})",
                             field=FIELD)
        found[name] = p
    missing = [n for n in names if n not in found]
    if missing:
        raise InputError(None, None, f"no outputs file for probe set(s) {', '.join(missing)}", field=FIELD)
    return found


# -- pairing ---------------------------------------------------------------------------------------------------------
_SPACE = re.compile(r"\s+")


def _squeeze(text: str) -> str:
    return _SPACE.sub("", text)


class _Wrapped:
    """Finds the item whose ``instruction + "\\n" + input`` sits inside a templated prompt (exact, then without
    whitespace); returns the item's (instruction, input) key."""

    def __init__(self, requests: Sequence[Request], squeeze: bool):
        self.norm = _squeeze if squeeze else (lambda s: s)
        self.heads: dict[str, dict[str, tuple]] = {}
        for r in requests:
            head = self.norm(r.instruction + "\n") if r.instruction else ""
            self.heads.setdefault(head, {})[self.norm(r.input)] = (r.instruction, r.input)
        self.lengths = {h: sorted({len(k) for k in d}, reverse=True) for h, d in self.heads.items()}

    def find(self, prompt: str):
        text = self.norm(prompt)
        for head, inputs in self.heads.items():
            at = text.find(head) if head else 0
            if at < 0:
                continue
            rest = text[at + len(head):]
            for n in self.lengths[head]:
                key = inputs.get(rest[:n])
                if key is not None:
                    return key
        return None


def pair_outputs(set_name: str, items, requests: Sequence[Request], records: Sequence[OutputRecord],
                 source: str) -> list[str]:
    """The output of each item of a set (in item order) from ``records``; ``InputError`` for items left without an
    output or records that match no item (one line: how many, and the first)."""
    outputs: list[str | None] = [None] * len(requests)
    index_of_id = {it.id: i for i, it in enumerate(items)}
    by_key: dict[tuple, deque] = {}
    for i, r in enumerate(requests):
        by_key.setdefault((r.instruction, r.input), deque()).append(i)
    by_prompt = {r.prompt: (r.instruction, r.input) for r in requests}
    finders: list[_Wrapped] = []
    unmatched: list[OutputRecord] = []
    for rec in records:
        if rec.id is not None:
            i = index_of_id.get(rec.id)
            if i is not None and rec.prompt is not None and requests[i].prompt not in rec.prompt:
                if _squeeze(requests[i].instruction + requests[i].input) not in _squeeze(rec.prompt):
                    raise InputError(rec.path, rec.line, f"id {rec.id!r} has another prompt than item {rec.id!r} "
                                     f"of probe set {set_name} (exported from another run?)", field=FIELD)
            if i is None:
                unmatched.append(rec)
            else:
                outputs[i] = rec.output
            continue
        key = by_prompt.get(rec.prompt)
        if key is None:
            if not finders:
                finders = [_Wrapped(requests, False), _Wrapped(requests, True)]
            key = finders[0].find(rec.prompt) or finders[1].find(rec.prompt)
        queue = by_key.get(key) if key is not None else None
        while queue and outputs[queue[0]] is not None:
            queue.popleft()
        if not queue:
            unmatched.append(rec)
            continue
        outputs[queue.popleft()] = rec.output
    if unmatched:
        first = unmatched[0]
        what = f"id {first.id!r}" if first.id is not None else f"prompt {(first.prompt or '')[-80:]!r}"
        raise InputError(first.path, first.line, f"{len(unmatched)} of {len(records)} records match no item of probe "
                         f"set {set_name} (first: {what}); were they made from this run's export?", field=FIELD)
    missing = [i for i, o in enumerate(outputs) if o is None]
    if missing:
        it, r = items[missing[0]], requests[missing[0]]
        raise InputError(source, None, f"{len(missing)} of {len(requests)} items of probe set {set_name} have no "
                         f"output (first: id {it.id!r}, input {r.input[:60]!r})", field=FIELD)
    return outputs  # type: ignore[return-value]


def read_predictions(source, sets: Mapping[str, object], *, format_name: str,
                     labelset: LabelSet) -> dict[str, list[str]]:
    """``{set name: outputs in item order}`` for every set of ``sets`` (name → ``ProbeSet``), read from ``source``
    (a folder, or files named by set; see the module docstring), paired with the prompts a run with ``format_name``
    and ``labelset`` builds. Raises ``InputError`` (field ``predictions``) for a missing file or an incomplete or
    mismatched set."""
    files = locate_files(source, list(sets))
    out: dict[str, list[str]] = {}
    for name, ps in sets.items():
        requests = probe_requests(ps, format_name, labelset)
        out[name] = pair_outputs(name, ps.items, requests, read_output_records(files[name]), str(files[name]))
    return out


class ImportedPredictor:
    """A ``Predictor`` whose outputs were made elsewhere and read back (``read_predictions``).

    ``predict(requests)`` answers a request by its sentence id and prompt, as long as no two sets gave that pair
    different outputs; ``for_set(name)`` answers by position within one set (always unambiguous).
    ``fingerprint`` is ``imported:`` + a digest of the files; ``manifest()`` names them."""

    def __init__(self, outputs: Mapping[str, list[str]], requests: Mapping[str, Sequence[Request]],
                 files: Mapping[str, Path] | None = None):
        self.outputs = {k: list(v) for k, v in outputs.items()}
        self.requests = {k: list(v) for k, v in requests.items()}
        self.files = {k: Path(v) for k, v in (files or {}).items()}
        self.by_key: dict[tuple[str, str], str] = {}
        self.ambiguous: set[tuple[str, str]] = set()
        for name, reqs in self.requests.items():
            for r, o in zip(reqs, self.outputs[name]):
                key = (r.id, r.prompt)
                if key in self.by_key and self.by_key[key] != o:
                    self.ambiguous.add(key)
                self.by_key.setdefault(key, o)
        digest = hashlib.sha256()
        for name in sorted(self.outputs):
            digest.update(json.dumps([name, self.outputs[name]], ensure_ascii=False).encode("utf-8"))
        self.fingerprint = "imported:" + digest.hexdigest()[:24]

    def manifest(self) -> dict:
        """What a run manifest records: the kind, the fingerprint and the file of each set."""
        return {"kind": "imported outputs", "fingerprint": self.fingerprint,
                "files": {k: str(v) for k, v in self.files.items()}}

    def for_set(self, name: str) -> "_SetOutputs":
        """A predictor over the outputs of set ``name`` only (requests answered by position and prompt)."""
        return _SetOutputs(self, name)

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """The imported output of each request (by sentence id and prompt); ``InputError`` for a request that has
        none, or that two sets answered differently (use ``for_set``)."""
        out = []
        for r in requests:
            key = (r.id, r.prompt)
            if key in self.ambiguous:
                raise InputError(None, None, f"sentence {r.id!r} has different imported outputs in two probe sets; "
                                 "ask the set's own predictor (ImportedPredictor.for_set)", field=FIELD)
            if key not in self.by_key:
                raise InputError(None, None, f"no imported output for sentence {r.id!r} with this prompt "
                                 f"(input {r.input[:60]!r})", field=FIELD)
            out.append(self.by_key[key])
        return out


class _SetOutputs:
    """The outputs of one imported set as a ``Predictor``: the requests must be that set's, in its order."""

    def __init__(self, parent: ImportedPredictor, name: str):
        self.parent, self.name, self.fingerprint = parent, name, parent.fingerprint

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """The set's outputs, checked against ``requests`` (same prompts in the same order)."""
        mine = self.parent.requests[self.name]
        if len(requests) != len(mine) or any(a.prompt != b.prompt for a, b in zip(requests, mine)):
            return self.parent.predict(requests, progress=progress)
        return list(self.parent.outputs[self.name])


def import_predictor(source, sets: Mapping[str, object], *, format_name: str,
                     labelset: LabelSet) -> ImportedPredictor:
    """``read_predictions`` wrapped as an ``ImportedPredictor`` (with the files it read, for the manifest)."""
    files = locate_files(source, list(sets))
    outputs = read_predictions(files.values() if files else source, sets, format_name=format_name,
                               labelset=labelset)
    requests = {name: probe_requests(ps, format_name, labelset) for name, ps in sets.items()}
    return ImportedPredictor(outputs, requests, files)


OUT_STYLES = ("nerprobe", "llamafactory")
"""Shapes ``probe generate`` writes: nerprobe's ``{"id", "prompt", "output"}``, or LLaMA-Factory's
``generated_predictions.jsonl`` ``{"prompt", "predict", "label"}`` (the prompt as the model read it, template and
special tokens included)."""


def output_line(style: str, request: Request, output: str, *, model_text: str | None = None,
                label: str | None = None) -> dict:
    """One line of an outputs file in ``style`` (``OUT_STYLES``); ``model_text`` is the templated prompt."""
    if style == "llamafactory":
        return {"prompt": model_text if model_text is not None else request.prompt, "predict": output,
                "label": label if label is not None else ""}
    return {"id": request.id, "prompt": request.prompt, "output": output}
