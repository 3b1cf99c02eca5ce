"""Pair a predictions file with its gold corpus, sentence by sentence, and put every predicted entity on gold text.

Predictions pair with gold sentences by id when they carry gold ids, else by order, and each pair's input text is
checked against its gold sentence (``pair_predictions``). A prediction's entities are located in the text the model was given
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
import gc
import json
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Sequence

from nerprobe.data.model import Entity, Sentence, strip_span
from nerprobe.errors import InputError

KINDS = ("alpaca", "generated_predictions", "jsonl", "conll")
_RUN = re.compile(r"\S+")
_START = re.Match.start
#: With unequal squashed texts, the difflib alignment must cover this share of both texts, else nothing maps.
MIN_COVERAGE = 0.75


# -- text-to-text offsets ---------------------------------------------------------------------------------------
def squash(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased without whitespace, and for each kept character its index in ``text``.

    (``nerprobe.formats.align`` has the same helper, private; this one is public because pairing needs the index.)
    """
    if text.isascii():
        # ASCII lower-cases one character to one, so the whole string can be lower-cased and split in C; ``\S+``
        # and ``str.split`` use the same white space as ``str.isspace``. (Not for other text: ``str.lower`` of a
        # whole string lower-cases a final sigma differently, and some characters lower to two.)
        index: list[int] = []
        for m in _RUN.finditer(text):
            index.extend(range(m.start(), m.end()))
        return "".join(text.lower().split()), index
    chars, index = [], []
    for m in _RUN.finditer(text):
        run, start = m.group(), m.start()
        index.extend(range(start, m.end()))
        if run.isascii():
            chars.append(run.lower())
            continue
        for c in run:  # one by one: a character that lowers to two is kept as it is
            low = c.lower()
            chars.append(low if len(low) == 1 else c)
    return "".join(chars), index


def squashed(text: str) -> str:
    """``squash(text)[0]`` without the index: the text lower-cased without whitespace (in C for ASCII text)."""
    if text.isascii():
        return "".join(text.lower().split())
    return squash(text)[0]


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
    if a >= z or squashed(target[a:z]) != squashed(source[s:e]):
        return None
    return Entity(a, z, entity.label)


def _n_nonspace(text: str, end: int) -> int:
    """How many non-space characters ``text[:end]`` holds (in C: the whitespace split joined)."""
    return len("".join(text[:end].split()))


class NonSpaceIndex:
    """The offset in ``text`` of its ``r``-th non-space character (from 0), found by bisection over its words.

    For two texts equal up to case and white space (``squashed`` equal), the ``r``-th non-space character of one
    is the partner of the ``r``-th of the other: exactly what ``text_offset_map`` maps, without a dict entry per
    character.
    """

    def __init__(self, text: str):
        self.ends = list(accumulate(map(len, text.split())))
        self.starts = list(map(_START, _RUN.finditer(text)))

    def offset(self, rank: int) -> int:
        """Where the non-space character of rank ``rank`` stands in the text."""
        w = bisect_right(self.ends, rank)
        return self.starts[w] + rank - (self.ends[w - 1] if w else 0)


def map_entity_equal(entity: Entity, source: str, target: NonSpaceIndex) -> Entity | None:
    """:func:`map_entity` for a ``source`` whose ``squashed`` text equals the target's (``target`` indexes it):
    the same entity or None."""
    s, e = strip_span(source, entity.start, entity.end)
    if s >= e:
        return None
    a = target.offset(_n_nonspace(source, s))
    z = target.offset(_n_nonspace(source, e) - 1) + 1
    return Entity(a, z, entity.label)


def gold_on_input(gold: Sentence, text: str | None) -> Sentence:
    """``gold``'s entities carried onto ``text`` (the input the model was given, which may be re-cased or
    detokenized): a sentence on ``text``; ``gold`` itself when ``text`` is None or an entity has no exact place."""
    if text is None or text == gold.text:
        return gold
    offsets = text_offset_map(gold.text, text)
    if offsets is None:
        return gold
    moved = [map_entity(e, gold.text, text, offsets) for e in gold.entities]
    if any(m is None for m in moved):
        return gold
    return Sentence(gold.id, text, entities=tuple(moved))


def find_input(gold_text: str, prompt: str) -> str | None:
    """The part of ``prompt`` that is the gold sentence (equal up to case and whitespace), or None.

    A chat-templated prompt holds instruction, input and template tokens; the last occurrence is taken since the
    input follows the instruction.
    """
    sq_g = squashed(gold_text)
    if not sq_g:
        return None
    if not prompt.isascii():
        sq_p, idx_p = squash(prompt)
        k = sq_p.rfind(sq_g)
        if k < 0:
            return None
        return prompt[idx_p[k] : idx_p[k + len(sq_g) - 1] + 1]
    # An ASCII prompt (the common case) is squashed in C, first only its tail (where the input stands, before the
    # chat template's closing tokens), and only the two ends of the match are mapped back to prompt offsets, with a
    # bisection over the words from the match on: no Python step per character, as squash's full index would take.
    # The tail's squashed text is a suffix of the prompt's, so a match in it is the prompt's last one.
    lo = max(0, len(prompt) - 2 * len(gold_text) - 256)
    tail = prompt[lo:]
    k = "".join(tail.lower().split()).rfind(sq_g)
    if k < 0 and lo:
        lo, tail = 0, prompt
        k = "".join(tail.lower().split()).rfind(sq_g)
    if k < 0:
        return None
    # The match cannot start before tail offset k (k non-space characters lie before it); a word cut there counts
    # as a word from there.
    ends = list(accumulate(map(len, tail[k:].split()), initial=len("".join(tail[:k].split()))))
    starts = list(map(_START, _RUN.finditer(prompt, lo + k)))

    def offset(pos: int) -> int:
        w = bisect_right(ends, pos) - 1
        return starts[w] + pos - ends[w]

    return prompt[offset(k) : offset(k + len(sq_g) - 1) + 1]


# -- the paired result --------------------------------------------------------------------------------------------
#: Pairs whose input text differs from their gold sentence may be at most this share before pairing stops.
MAX_MISMATCH_SHARE = 0.01


class PairingMismatch(InputError):
    """Too many predictions do not match their gold sentence by text (wrong order, wrong file): ``str()`` says how
    many and shows the first."""


@dataclass
class PairedPredictions:
    """Gold sentences and the predicted entities on their text, with what parsing and pairing met.

    ``gold`` are the gold sentences that have a prediction (all of them, or a prefix / the ones named by id when the
    file covers fewer); ``n_gold_total`` counts the gold file's sentences and ``paired_by`` says ``id`` or
    ``order``. ``statuses`` counts parse statuses (exact/aligned/lenient/failed) of parsed outputs (empty for corpus
    files); ``problems`` counts parse problem kinds plus ``unmapped_entity`` (an entity with no exact place in the
    gold text: it stays in ``predicted`` with negative offsets, a false positive that never matches);
    ``text_checked``/``text_mismatches`` count records whose input text was compared with the gold sentence and
    those that differ beyond case and whitespace (or could not be found in the prompt). ``outputs`` and
    ``references`` hold, for parsed files, each model output and the reference output it is compared with under
    ``--match llms4ner`` (the record's own ``label``, else the gold file's output, else None: rendered from gold),
    and ``inputs`` the text each output was made for (None where it could not be found).
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
    n_gold_total: int = 0
    paired_by: str = "order"
    notes: list[str] = field(default_factory=list)
    outputs: list[str] | None = None
    references: list[str | None] | None = None
    inputs: list[str | None] | None = None

    def summary(self) -> dict:
        """The pairing facts as a JSON-ready dict."""
        return {
            "kind": self.kind,
            "format": self.format_name,
            "n_sentences": len(self.gold),
            "n_gold_sentences": self.n_gold_total,
            "paired_by": self.paired_by,
            "parse_status": {s: self.statuses.get(s, 0) for s in ("exact", "aligned", "lenient", "failed")},
            "problems": dict(sorted(self.problems.items())),
            "predicted_entities": self.entity_kinds(),
            "text_checked": self.text_checked,
            "text_mismatches": self.text_mismatches,
            "label_map": self.label_map,
            "notes": list(self.notes),
        }

    def entity_kinds(self) -> dict[str, int]:
        """How many predicted entities were located, and of those that were not, how many of each kind."""
        located = sum(1 for ents in self.predicted for e in ents if e.start >= 0)
        kinds = {"located": located}
        for kind in ("unknown_label", "not_in_sentence", "not_located", "duplicate_entity", "unmapped_entity"):
            kinds[kind] = self.problems.get(kind, 0)
        kinds["unplaced (false positives)"] = sum(1 for ents in self.predicted for e in ents if e.start < 0)
        return kinds


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
        except (ValueError, RecursionError):
            record = {}
        if isinstance(record, dict) and ("predict" in record or "prompt" in record):
            return "generated_predictions"
        return "jsonl"
    return "conll"


def infer_format(path: Path, outputs: Sequence[str]) -> str:
    """The output format named in the file name, else guessed from the outputs (``nerprobe.formats.alpaca``);
    InputError (field ``format``) when neither tells."""
    from nerprobe.formats import FORMAT_NAMES
    from nerprobe.formats.alpaca import infer_format as infer

    found = infer(path, outputs)
    if found is None:
        raise InputError(str(path), None, f"cannot tell the output format; name one of {', '.join(FORMAT_NAMES)}",
                         field="format")
    return found


def _symbol_map(gold_labels: set[str], pred_labels: set[str]) -> dict[str, str]:
    """symbol → label when the predictions use the symbolized names (A, B, ...) of the gold's known label set
    (and none of the gold's own names)."""
    from nerprobe.formats.labels import label_set_for

    if not pred_labels or pred_labels & gold_labels:
        return {}
    known = label_set_for(gold_labels)
    if set(known.names) != gold_labels:
        return {}
    _, mapping = known.symbolized(False)
    inverse = {sym: lab for lab, sym in mapping.items()}
    return inverse if pred_labels & set(inverse) else {}


def _place(result: PairedPredictions, gold: Sentence, source_text: str, entities,
           same_squashed: bool | None = None) -> tuple[Entity, ...]:
    """Entities found on ``source_text`` carried onto the gold sentence text (unmapped ones counted; unplaced
    predictions stay unplaced). ``same_squashed``: whether ``squashed`` of the two texts are equal, when the caller
    knows it already (None: compared here)."""
    if source_text == gold.text or not entities:
        return tuple(entities)
    if same_squashed is None:
        same_squashed = squashed(source_text) == squashed(gold.text)
    if same_squashed:  # the common case: re-cased or re-spaced, by rank
        index = NonSpaceIndex(gold.text)

        def move(ent):
            return map_entity_equal(ent, source_text, index)
    else:
        offsets = text_offset_map(source_text, gold.text)

        def move(ent):
            return map_entity(ent, source_text, gold.text, offsets) if offsets is not None else None
    placed = []
    for k, ent in enumerate(entities):
        if ent.start < 0:
            placed.append(Entity(-1 - k, -1 - k, ent.label))
            continue
        moved = move(ent)
        if moved is None:
            # Still a prediction: kept off the text (negative offsets, distinct per entity) so that it counts as a
            # false positive and can never match gold.
            result.problems["unmapped_entity"] += 1
            moved = Entity(-1 - k, -1 - k, ent.label)
        placed.append(moved)
    return tuple(placed)


def _parse_outputs(
    result: PairedPredictions, inputs: Sequence[str | None], outputs: Sequence[str], lenient: bool,
    same_squashed: Sequence[bool] | None = None,
) -> None:
    """Parse each output against its input text (or the gold text when the input is unknown), then place it.
    ``same_squashed`` (per pair, when known): whether the input's ``squashed`` text equals the gold sentence's."""
    from nerprobe.formats import get_format

    fmt = get_format(result.format_name)
    parsed = []
    statuses = Counter()
    problems = result.problems
    for gold, text, output in zip(result.gold, inputs, outputs):
        source = Sentence(gold.id, text) if text is not None else gold
        parse = fmt.parse(output or "", source, None, lenient)
        statuses[parse.status.value] += 1
        if parse.problems:
            problems.update(parse.problems)
        parsed.append((source.text, parse.entities))
    result.statuses.update(statuses)
    gold_labels = {e.label for s in result.gold for e in s.entities}
    result.label_map = _symbol_map(gold_labels, {e.label for _, ents in parsed for e in ents})
    if same_squashed is None:
        same_squashed = [None] * len(parsed)
    for gold, (text, ents), same in zip(result.gold, parsed, same_squashed):
        if result.label_map:
            ents = [Entity(e.start, e.end, result.label_map.get(e.label, e.label)) for e in ents]
        # (an input not found was parsed on the gold text itself: _place returns before it asks ``same``)
        result.predicted.append(_place(result, gold, text, ents, same))


def _read_json_array(path: Path) -> list:
    from nerprobe.data.io import read_json

    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(str(path), 1, "expected a JSON array of alpaca records")
    return data


@dataclass
class _Record:
    """One prediction as read: its id (if it carries one), the text the model was given (if known), the output."""

    id: str | None
    input: str | None
    output: str
    reference: str | None = None
    where: str = ""


def _read_records(path: Path, kind: str, gold: Sequence[Sentence], lenient: bool) -> tuple[list[_Record], list]:
    """The prediction records of ``path`` (and, for corpus files, the predicted sentences in the same order)."""
    if kind == "alpaca":
        records = []
        for i, r in enumerate(_read_json_array(path)):
            if not isinstance(r, dict) or not isinstance(r.get("input"), str) or not isinstance(r.get("output"), str):
                raise InputError(str(path), None, f"record {i}: expected string fields 'input' and 'output'")
            rid = r.get("id")
            records.append(_Record(None if rid is None else str(rid), r["input"], r["output"], None, f"record {i}"))
        return records, []
    if kind == "generated_predictions":
        from nerprobe.formats.predictions import read_predictions

        return [_Record(r.id, r.prompt, r.predict, r.label, f"record {i}")
                for i, r in enumerate(read_predictions(path))], []
    from nerprobe.data.io import read_corpus

    corpus = list(read_corpus(path, lenient=lenient, format_name=kind))
    return [_Record(p.id, p.text, "", None, f"sentence {i} ({p.id})") for i, p in enumerate(corpus)], corpus


def _order(path: Path, records: list[_Record], gold: Sequence[Sentence]) -> tuple[list[int], str]:
    """``(gold index of each record, "id" or "order")``: by id when every record's id is a gold id, else by order
    (when no record's id is one). Raises InputError for a mix, repeated ids, or more records than gold sentences."""
    if any(r.id is not None for r in records):
        index = {s.id: i for i, s in enumerate(gold)}
        known = [r.id in index for r in records]
        if all(known):
            seen: dict[str, str] = {}
            for r in records:
                if r.id in seen:
                    raise InputError(str(path), None, f"{r.where}: id {r.id!r} repeats {seen[r.id]}")
                seen[r.id] = r.where
            return [index[r.id] for r in records], "id"
        if any(known):
            first = next(r for r, k in zip(records, known) if not k)
            raise InputError(str(path), None, f"{known.count(False)} of {len(records)} prediction ids are not ids "
                             f"of the gold sentences (first: {first.where}, id {first.id!r})")
    if len(records) > len(gold):
        raise InputError(str(path), None, f"{len(records)} predictions for {len(gold)} gold sentences "
                         "(predictions without ids pair with gold by order)")
    return list(range(len(records))), "order"


def _quote(text: str | None, limit: int = 80) -> str:
    if text is None:
        return "(not found in the prompt)"
    return repr(text if len(text) <= limit else text[:limit] + "…")


def pair_predictions(
    gold: Sequence[Sentence],
    pred_path: str | Path,
    *,
    format_name: str | None = None,
    kind: str | None = None,
    lenient: bool = False,
    allow_mismatch: bool = False,
    max_mismatch_share: float = MAX_MISMATCH_SHARE,
) -> PairedPredictions:
    """Read ``pred_path`` and pair it with ``gold``; every predicted entity ends up on gold text.

    Records pair with gold sentences by id when they carry ids that are gold ids (nerprobe JSONL, alpaca records
    with an ``id``), otherwise by order; a file that covers fewer sentences (a prefix, or some ids) is scored on
    those, with a note. Each pair's input text is checked against its gold sentence (ignoring case and white space);
    when more than ``max_mismatch_share`` of the pairs differ, ``PairingMismatch`` says how many and shows the first,
    unless ``allow_mismatch``. ``kind`` (one of ``KINDS``) and ``format_name`` are detected when None. Raises
    ``InputError`` for unreadable files, unknown or repeated ids, and more records than gold sentences.
    """
    # Pairing makes several objects per record and entity and no reference cycles; without the pause the cyclic
    # collector walks the gold corpus's heap again and again (a third of the time on CoNLL-2003 test).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _pair(gold, pred_path, format_name, kind, lenient, allow_mismatch, max_mismatch_share)
    finally:
        if was_enabled:
            gc.enable()


def _pair(gold, pred_path, format_name, kind, lenient, allow_mismatch, max_mismatch_share) -> PairedPredictions:
    """The body of :func:`pair_predictions`."""
    from nerprobe.safe_io import check_input_file

    path = check_input_file(pred_path)
    kind = kind or detect_kind(path)
    if kind not in KINDS:
        raise InputError(None, None, f"unknown predictions kind {kind!r}; use one of {', '.join(KINDS)}", field="kind")
    gold = list(gold)
    records, corpus = _read_records(path, kind, gold, lenient)
    # generated_predictions from LLaMA-Factory carry no id; nerprobe's carry the gold sentence id.
    order, paired_by = _order(path, records, gold)
    result = PairedPredictions(gold=[gold[i] for i in order], predicted=[], kind=kind, n_gold_total=len(gold),
                               paired_by=paired_by)
    if len(records) < len(gold):
        what = "the first" if result.paired_by == "order" else "the"
        result.notes.append(f"scored {what} {len(records)} of {len(gold)} gold sentences that have a prediction")

    inputs: list[str | None] = []
    for g, r in zip(result.gold, records):
        text = r.input
        if kind == "generated_predictions":
            text = find_input(g.text, r.input or "")
        inputs.append(text)
    # whether each input equals its gold sentence up to case and white space (kept: placing the entities asks again)
    same_squashed = [t is not None and (t == g.text or squashed(t) == squashed(g.text))
                     for g, t in zip(result.gold, inputs)]
    mismatched = [(r, g, t) for r, g, t, same in zip(records, result.gold, inputs, same_squashed) if not same]
    result.text_checked, result.text_mismatches = len(records), len(mismatched)
    if mismatched and len(mismatched) > max_mismatch_share * len(records) and not allow_mismatch:
        r, g, t = mismatched[0]
        raise PairingMismatch(str(path), None, f"{len(mismatched)} of {len(records)} predictions were made for "
                              f"another text than their gold sentence (paired by {result.paired_by}; first: "
                              f"{r.where} {_quote(t if kind != 'generated_predictions' else (t or r.input))} vs "
                              f"gold {g.id} {_quote(g.text)})", field="allow_mismatch")

    if kind in ("alpaca", "generated_predictions"):
        outputs = [r.output for r in records]
        result.format_name = format_name or infer_format(path, [r.reference or r.output for r in records])
        result.outputs = outputs
        result.inputs = inputs
        result.references = [r.reference if r.reference is not None else g.meta.get("output")
                             if g.meta.get("format") == result.format_name else None
                             for r, g in zip(records, result.gold)]
        _parse_outputs(result, inputs, outputs, lenient, same_squashed)
    else:
        for g, i in zip(result.gold, range(len(records))):
            p = corpus[i]
            result.predicted.append(_place(result, g, p.text, p.entities))
    return result
