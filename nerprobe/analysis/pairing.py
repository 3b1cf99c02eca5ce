"""Pair a predictions file with its gold corpus, sentence by sentence, and put every predicted entity on gold text.

Predictions pair with gold sentences by order. A prediction's entities are located in the text the model was given
(the ``input`` of an alpaca record, or the input found inside a ``generated_predictions.jsonl`` prompt), which may be
a detokenized or re-cased version of the gold sentence (the LLMs4NER files re-case CoNLL headlines and detokenize
``( TRs )`` to ``(TRs)``). Each entity is carried onto the gold text through a character alignment that ignores
case and whitespace (``text_offset_map``), so that an entity is credited only where it really is in the gold text.

Supported prediction files (``detect_kind``):

- ``alpaca``: LLaMA-Factory alpaca JSON array (``instruction``/``input``/``output``): ``output`` is parsed against
  ``input`` with the output format's parser (``nerprobe.formats.get_format``);
- ``generated_predictions``: LLaMA-Factory ``generated_predictions.jsonl`` (``prompt``/``predict``/``label``) or
  nerprobe predictions JSONL (``id``/``prompt``/``output``), read by ``nerprobe.formats.predictions``;
- ``jsonl`` / ``conll``: a corpus of predicted sentences (``nerprobe.data.io.read_corpus``).
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from nerprobe.data.model import Entity, Sentence
from nerprobe.errors import InputError, OptionError

KINDS = ("alpaca", "generated_predictions", "jsonl", "conll")
#: With unequal squashed texts, the difflib alignment must cover this share of both texts, else nothing maps.
MIN_COVERAGE = 0.75


# -- text-to-text offsets ---------------------------------------------------------------------------------------
def squash(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased without whitespace, and for each kept character its index in ``text``.

    (``nerprobe.formats.align`` has the same helper, private; this one is public because pairing needs the index.)
    """
    chars, index = [], []
    for i, c in enumerate(text):
        if not c.isspace():
            low = c.lower()
            chars.append(low if len(low) == 1 else c)
            index.append(i)
    return "".join(chars), index


def text_offset_map(source: str, target: str) -> dict[int, int] | None:
    """Map character indices of ``source`` to ``target`` where the two agree, ignoring case and whitespace.

    Returns a dict over the non-space characters of ``source`` that have a partner in ``target``: all of them when
    the texts are equal up to case and whitespace, else those in difflib's matching blocks of the squashed texts
    (None when those cover less than ``MIN_COVERAGE`` of either text: the texts are not the same sentence).
    """
    sq_s, idx_s = squash(source)
    sq_t, idx_t = squash(target)
    if sq_s == sq_t:
        return dict(zip(idx_s, idx_t))
    if not sq_s or not sq_t:
        return None
    # difflib rather than align._char_map: that one aligns raw texts (case/space-sensitive) and is private.
    blocks = difflib.SequenceMatcher(None, sq_s, sq_t, autojunk=False).get_matching_blocks()
    matched = sum(b.size for b in blocks)
    if matched < MIN_COVERAGE * len(sq_s) or matched < MIN_COVERAGE * len(sq_t):
        return None
    return {idx_s[b.a + k]: idx_t[b.b + k] for b in blocks for k in range(b.size)}


def map_entity(entity: Entity, source: str, target: str, offsets: dict[int, int]) -> Entity | None:
    """``entity`` (on ``source``) moved onto ``target`` through ``offsets``, or None when it has no exact partner.

    The entity's first and last non-space characters must map, and the target text between them must equal the
    entity text up to case and whitespace.
    """
    s, e = entity.start, entity.end
    while s < e and source[s].isspace():
        s += 1
    while e > s and source[e - 1].isspace():
        e -= 1
    if s >= e or s not in offsets or (e - 1) not in offsets:
        return None
    a, z = offsets[s], offsets[e - 1] + 1
    if a >= z or squash(target[a:z])[0] != squash(source[s:e])[0]:
        return None
    return Entity(a, z, entity.label)


def find_input(gold_text: str, prompt: str) -> str | None:
    """The part of ``prompt`` that is the gold sentence (equal up to case and whitespace), or None.

    A chat-templated prompt holds instruction, input and template tokens; the last occurrence is taken since the
    input follows the instruction.
    """
    sq_g, _ = squash(gold_text)
    sq_p, idx_p = squash(prompt)
    if not sq_g:
        return None
    k = sq_p.rfind(sq_g)
    if k < 0:
        return None
    return prompt[idx_p[k] : idx_p[k + len(sq_g) - 1] + 1]


# -- the paired result --------------------------------------------------------------------------------------------
@dataclass
class PairedPredictions:
    """Gold sentences and the predicted entities on their text, with what parsing and pairing met.

    ``statuses`` counts parse statuses (exact/aligned/lenient/failed) of parsed outputs (empty for corpus files);
    ``problems`` counts parse problem kinds plus ``unmapped_entity`` (an entity with no exact place in the gold
    text: it stays in ``predicted`` with negative offsets, a false positive that never matches); ``text_checked``/``text_mismatches`` count records whose input text was compared
    with the gold sentence and those that differ beyond case and whitespace (or could not be found in the prompt).
    """

    gold: list[Sentence]
    predicted: list[tuple[Entity, ...]]
    kind: str
    format_name: str | None = None
    statuses: Counter = field(default_factory=Counter)
    problems: Counter = field(default_factory=Counter)
    text_checked: int = 0
    text_mismatches: int = 0
    label_map: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        """The pairing facts as a JSON-ready dict."""
        return {
            "kind": self.kind,
            "format": self.format_name,
            "n_sentences": len(self.gold),
            "parse_status": {s: self.statuses.get(s, 0) for s in ("exact", "aligned", "lenient", "failed")},
            "problems": dict(sorted(self.problems.items())),
            "text_checked": self.text_checked,
            "text_mismatches": self.text_mismatches,
            "label_map": self.label_map,
        }


# -- reading prediction files -------------------------------------------------------------------------------------
def detect_kind(path: Path) -> str:
    """``alpaca`` (.json array), ``generated_predictions`` (JSONL records with ``predict`` or ``prompt``), ``jsonl``
    (other JSONL: a corpus) or ``conll``."""
    with path.open("rb") as f:
        head = f.read(65536).removeprefix(b"\xef\xbb\xbf").lstrip()
    if head[:1] == b"[":
        return "alpaca"
    if head[:1] == b"{":
        first = head.split(b"\n", 1)[0]
        try:
            record = json.loads(first)
        except ValueError:
            record = {}
        if isinstance(record, dict) and ("predict" in record or "prompt" in record):
            return "generated_predictions"
        return "jsonl"
    return "conll"


def infer_format(path: Path, outputs: Sequence[str]) -> str:
    """The output format named in the file name, else guessed from the outputs (``nerprobe.formats.alpaca``);
    OptionError when neither tells."""
    from nerprobe.formats import FORMAT_NAMES
    from nerprobe.formats.alpaca import infer_format as infer

    found = infer(path, outputs)
    if found is None:
        raise OptionError("--format", f"cannot tell the output format of {path}; name one of {', '.join(FORMAT_NAMES)}")
    return found


def _check_count(path: Path, n_pred: int, n_gold: int) -> None:
    if n_pred != n_gold:
        raise InputError(
            str(path), None, f"{n_pred} predictions for {n_gold} gold sentences (predictions pair with gold by order)"
        )


def _symbol_map(gold_labels: set[str], pred_labels: set[str]) -> dict[str, str]:
    """symbol → label when the predictions use the symbolized names (A, B, ...) of the gold's known label set."""
    from nerprobe.formats.labels import label_set_for

    if not pred_labels or pred_labels <= gold_labels:
        return {}
    known = label_set_for(gold_labels)
    if set(known.names) != gold_labels:
        return {}
    _, mapping = known.symbolized(False)
    inverse = {sym: lab for lab, sym in mapping.items()}
    return inverse if pred_labels <= set(inverse) else {}


def _place(result: PairedPredictions, gold: Sentence, source_text: str, entities) -> tuple[Entity, ...]:
    """Entities found on ``source_text`` carried onto the gold sentence text (unmapped ones counted)."""
    if source_text == gold.text:
        return tuple(entities)
    offsets = text_offset_map(source_text, gold.text)
    placed = []
    for k, ent in enumerate(entities):
        moved = map_entity(ent, source_text, gold.text, offsets) if offsets is not None else None
        if moved is None:
            # Still a prediction: kept off the text (negative offsets, distinct per entity) so that it counts as a
            # false positive and can never match gold.
            result.problems["unmapped_entity"] += 1
            moved = Entity(-1 - k, -1 - k, ent.label)
        placed.append(moved)
    return tuple(placed)


def _parse_outputs(
    result: PairedPredictions, inputs: Sequence[str | None], outputs: Sequence[str], lenient: bool
) -> None:
    """Parse each output against its input text (or the gold text when the input is unknown), then place it."""
    from nerprobe.formats import get_format

    fmt = get_format(result.format_name)
    parsed = []
    for gold, text, output in zip(result.gold, inputs, outputs):
        if text is not None:
            result.text_checked += 1
            if squash(text)[0] != squash(gold.text)[0]:
                result.text_mismatches += 1
        source = Sentence(gold.id, text) if text is not None else gold
        parse = fmt.parse(output or "", source, None, lenient)
        result.statuses[parse.status.value] += 1
        result.problems.update(parse.problems)
        parsed.append((source.text, parse.entities))
    gold_labels = {e.label for s in result.gold for e in s.entities}
    result.label_map = _symbol_map(gold_labels, {e.label for _, ents in parsed for e in ents})
    for gold, (text, ents) in zip(result.gold, parsed):
        if result.label_map:
            ents = [Entity(e.start, e.end, result.label_map[e.label]) for e in ents]
        result.predicted.append(_place(result, gold, text, ents))


def _read_json_array(path: Path) -> list:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(str(path), None, f"cannot read: {err}") from None
    except json.JSONDecodeError as err:
        raise InputError(str(path), err.lineno, f"not valid JSON: {err.msg}") from None
    if not isinstance(data, list):
        raise InputError(str(path), 1, "expected a JSON array of alpaca records")
    return data


def pair_predictions(
    gold: Sequence[Sentence],
    pred_path: str | Path,
    *,
    format_name: str | None = None,
    kind: str | None = None,
    lenient: bool = False,
) -> PairedPredictions:
    """Read ``pred_path`` and pair it with ``gold`` by order; every predicted entity ends up on gold text.

    ``kind`` (one of ``KINDS``) and ``format_name`` (an output format) are detected when None. Raises
    ``InputError`` when the file is unreadable or holds a different number of records than ``gold`` has sentences.
    """
    path = Path(pred_path)
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    kind = kind or detect_kind(path)
    if kind not in KINDS:
        raise OptionError("--kind", f"unknown predictions kind {kind!r}; use one of {', '.join(KINDS)}")
    gold = list(gold)
    result = PairedPredictions(gold=gold, predicted=[], kind=kind)
    if kind == "alpaca":
        records = _read_json_array(path)
        _check_count(path, len(records), len(gold))
        for i, r in enumerate(records):
            if not isinstance(r, dict) or not isinstance(r.get("input"), str) or not isinstance(r.get("output"), str):
                raise InputError(str(path), None, f"record {i}: expected string fields 'input' and 'output'")
        outputs = [r["output"] for r in records]
        result.format_name = format_name or infer_format(path, outputs)
        _parse_outputs(result, [r["input"] for r in records], outputs, lenient)
    elif kind == "generated_predictions":
        from nerprobe.formats.predictions import read_predictions

        records = read_predictions(path)
        _check_count(path, len(records), len(gold))
        outputs = [r.predict for r in records]
        result.format_name = format_name or infer_format(path, [r.label or r.predict for r in records])
        inputs = []
        for g, r in zip(gold, records):
            found = find_input(g.text, r.prompt or "")
            if found is None:
                result.text_checked += 1
                result.text_mismatches += 1
            inputs.append(found)
        _parse_outputs(result, inputs, outputs, lenient)
    else:
        from nerprobe.data.io import read_corpus

        corpus = read_corpus(path, lenient=lenient, format_name=kind)
        _check_count(path, len(corpus), len(gold))
        for g, p in zip(gold, corpus):
            result.text_checked += 1
            if squash(p.text)[0] != squash(g.text)[0]:
                result.text_mismatches += 1
            result.predicted.append(_place(result, g, p.text, p.entities))
    return result
