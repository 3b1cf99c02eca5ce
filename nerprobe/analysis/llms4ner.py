"""The LLMs4NER study's own counting (``--match llms4ner``), so that nerprobe's numbers sit beside the paper's.

The study's evaluation scripts (``evaluation/eval_*_ner.py`` of szu-tera/LLMs4NER) never look at the input sentence:
they compare, per sentence, the multiset of what the model's output string carries with the multiset of what the
reference output string carries, and count true positives as the multiset intersection:

- ``bracketed`` and ``xml``: the markup is removed from both strings; when the two plain texts are equal, the items
  are (label, start, end) in plain-text coordinates, otherwise (label, text). XML reads only tags of the label set
  (any other tag is text), and a closing tag closes the nearest open tag of its name and every tag opened after it.
  A bracketed label is the text between ``|`` and ``]`` with runs of white space collapsed.
- ``json`` (grouped): (text, label) for every string of every list; an output that is not one JSON object counts
  nothing.
- ``occurrence_index``: (text, label, occurrence) and ``offset_json``: (text, label, start, end) for every object
  that has all of them; one value that is not an integer empties the whole sentence, as in the scripts.

Written here in our own words from that description (their code is not copied): a reimplementation is needed because
the scripts read a file and print, and nerprobe needs the per-sentence counts to resample them. The per-type key is
the item's label. The tests check the counts on perturbed outputs of every format against counts derived from the
perturbation itself.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Sequence

import numpy as np

from nerprobe.analysis.spans import GOLD, PRED, TP

#: A bracketed opener, or a closer ``| LABEL]`` (a label runs to the next ``]``, as in the study's scripts).
_BRACKET_EVENT = re.compile(r"\[|\|\s*([^\]]+)\]")
_SPACES = re.compile(r"\s+")


def _bracketed_items(output: str) -> tuple[str, list[tuple]]:
    """(plain text, [(label, start, end)]) of a bracketed output, read as the study reads it."""
    output = output.strip()
    plain: list[str] = []
    length = 0
    opened: list[int] = []
    spans: list[tuple] = []
    pos = 0
    for m in _BRACKET_EVENT.finditer(output):
        before = output[pos : m.start()]
        closing = m.group(1) is not None
        if closing:
            before = before.rstrip()  # "[text | L]": the space before the bar is markup
        plain.append(before)
        length += len(before)
        if not closing:
            opened.append(length)
        else:
            label = _SPACES.sub(" ", m.group(1)).strip()
            if opened:
                begin = opened.pop()
                if length > begin and label:
                    spans.append((label, begin, length))
        pos = m.end()
    plain.append(output[pos:])
    return "".join(plain), spans


def _xml_items(output: str, labels: Sequence[str]) -> tuple[str, list[tuple]]:
    """(plain text, [(label, start, end)]) of an XML output: only tags named in ``labels`` are markup."""
    if not output:
        return "", []
    names = "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))
    tag = re.compile(rf"<(/?)({names})>")
    plain: list[str] = []
    length = 0
    opened: list[tuple[str, int]] = []
    spans: list[tuple] = []
    pos = 0
    for m in tag.finditer(output):
        plain.append(output[pos : m.start()])
        length += m.start() - pos
        name = m.group(2)
        if not m.group(1):
            opened.append((name, length))
        else:
            for k in range(len(opened) - 1, -1, -1):
                if opened[k][0] == name:
                    begin = opened[k][1]
                    del opened[k:]
                    if length > begin:
                        spans.append((name, begin, length))
                    break
        pos = m.end()
    plain.append(output[pos:])
    return "".join(plain), spans


def _inline_keys(pred_plain: str, pred_spans: list, ref_plain: str, ref_spans: list) -> tuple[list, list]:
    """Positions when the plain texts agree, else (label, text): the study's two modes."""
    if pred_plain == ref_plain:
        return pred_spans, ref_spans
    return ([(lab, pred_plain[s:e]) for lab, s, e in pred_spans], [(lab, ref_plain[s:e]) for lab, s, e in ref_spans])


def _loads(value) -> object:
    """A JSON value from a string (anything else is taken as already decoded); None when it does not decode."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return None


def _grouped_items(output) -> list[tuple]:
    """[(text, label)] of a grouped JSON output (an object of lists); [] for anything else."""
    data = _loads(output)
    if not isinstance(data, dict):
        return []
    return [(str(text), str(label)) for label, texts in data.items() if isinstance(texts, list) for text in texts]


def _object_items(output, fields: Sequence[str]) -> list[tuple]:
    """[(text, label, *ints)] of a JSON list of objects holding ``text``, ``label`` and the integer ``fields``.

    Objects missing any of them are skipped; one field that ``int()`` refuses empties the whole list, as in the
    study's scripts (their ``int()`` sits inside the try that guards the whole parse)."""
    data = _loads(output if isinstance(output, (str, list)) else None)
    if not isinstance(data, list):
        return []
    items = []
    for obj in data:
        if not isinstance(obj, dict):
            continue
        values = [obj.get("text"), obj.get("label"), *(obj.get(f) for f in fields)]
        if any(v is None for v in values):
            continue
        try:
            items.append((str(values[0]), str(values[1]), *(int(v) for v in values[2:])))
        except (TypeError, ValueError, OverflowError):
            return []
    return items


def sentence_keys(format_name: str, output, reference, labels: Sequence[str]) -> tuple[Counter, Counter, int]:
    """``(predicted, reference, label_index)``: the multisets of items the study counts for one sentence, and the
    position of the label in each item. ``labels`` is the label set (XML reads only its tags)."""
    if format_name == "bracketed":
        pred = _bracketed_items(str(output))
        ref = _bracketed_items(str(reference))
        p, r = _inline_keys(*pred, *ref)
        return Counter(p), Counter(r), 0
    if format_name == "xml":
        p, r = _inline_keys(*_xml_items(str(output), labels), *_xml_items(str(reference), labels))
        return Counter(p), Counter(r), 0
    if format_name == "json":
        return Counter(_grouped_items(output)), Counter(_grouped_items(reference)), 1
    if format_name == "occurrence_index":
        f = ("occurrence_index",)
    elif format_name == "offset_json":
        f = ("start", "end")
    else:
        raise ValueError(f"no LLMs4NER counting for format {format_name!r}")
    return Counter(_object_items(output, f)), Counter(_object_items(reference, f)), 1


def llms4ner_stats(
    format_name: str, outputs: Sequence, references: Sequence, labels: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """``(stats, row_labels)``: per-sentence counts ``[tp, n_pred, n_gold]`` of shape (n, n_labels, 3) as the
    study counts them, ready for ``spans.prf`` and the bootstrap. ``row_labels`` are ``labels`` followed by any
    other label met in the outputs or references, sorted."""
    if len(outputs) != len(references):
        raise ValueError(f"{len(outputs)} outputs for {len(references)} references")
    per_sentence = [sentence_keys(format_name, o, r, labels) for o, r in zip(outputs, references)]
    rows = list(labels)
    seen = set(rows)
    extra = sorted({k[li] for p, r, li in per_sentence for k in (*p, *r)} - seen)
    rows += extra
    index = {lab: i for i, lab in enumerate(rows)}
    stats = np.zeros((len(per_sentence), len(rows), 3), dtype=np.int64)
    for n, (pred, ref, li) in enumerate(per_sentence):
        for key, c in pred.items():
            stats[n, index[key[li]], PRED] += c
            stats[n, index[key[li]], TP] += min(c, ref.get(key, 0))
        for key, c in ref.items():
            stats[n, index[key[li]], GOLD] += c
    return stats, rows
