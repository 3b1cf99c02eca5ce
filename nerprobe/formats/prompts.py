"""Instructions per format and label set, following the LLMs4NER instruction texts word for word.

The user prompt is ``instruction + "\\n" + input`` and the response is the rendered output (LLaMA-Factory alpaca).
Symbolized label sets (names A, B, C, ...) get the study's "sequence labeling" instruction; the study used it for
the XML format only, so for the other formats one sentence naming the output format is added after its first line.
"""

from __future__ import annotations

from nerprobe.data.model import Sentence
from nerprobe.formats.labels import LabelSet, _symbols

_ENCLOSE = (
    "Your task is to identify all named entities in the input sentence and rewrite the sentence by enclosing each "
    "entity using the format {fmt}. Use only the label tags defined in the Label Set below."
)
_HEADS = {
    "bracketed": _ENCLOSE.format(fmt="[Entity Text | LABEL]"),
    "xml": _ENCLOSE.format(fmt="<LABEL>Entity Text</LABEL>"),
    "json": "Your task is to identify all named entities in the input sentence and extract them into a JSON object "
    "grouped by label. The keys of the JSON object should be the label tags defined in the Label Set below, and the "
    "values should be lists of extracted entities. If a label has no corresponding entities, use an empty list.",
    "occurrence_index": "Your task is to identify all named entities in the input sentence and extract them into a "
    'JSON list. Output a JSON list where each object contains:\n1. "text": the entity string.\n2. "label": the label '
    'tags defined in the Label Set below.\n3. "occurrence_index": a 1-based integer indicating the order of '
    "appearance of this text in the sentence (e.g., 1 for the first appearance, 2 for the second).\nIf no entities "
    "are found, return an empty list.",
    "offset_json": "Your task is to identify all named entities in the input sentence and extract them with precise "
    'character offsets. Output a JSON list where each object contains:\n1. "text": the entity string.\n2. "label": '
    'the label tags defined in the Label Set below.\n3. "start": the 0-based index of the entity\'s first '
    'character.\n4. "end": the 0-based index of the first character after the entity(exclusive).',
}
#: The one added sentence per format for symbolized label sets (none for xml: the study's text is kept exactly).
_SYMBOLIC_FORMAT_LINE = {
    "xml": None,
    "bracketed": "Rewrite the sentence by enclosing each entity using the format [Entity Text | LABEL].",
    "json": "Extract the entities into a JSON object whose keys are the labels and whose values are lists of entity "
    "texts; use an empty list for a label without entities.",
    "occurrence_index": 'Output a JSON list of objects with "text", "label" and "occurrence_index" (the 1-based '
    "order of appearance of this text in the sentence).",
    "offset_json": 'Output a JSON list of objects with "text", "label", "start" (0-based index of the first '
    'character) and "end" (index of the first character after the entity, exclusive).',
}
_TAIL = "Now process the input sentence:"


def _enumerate(names) -> str:
    names = list(names)
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def is_symbolized(labelset: LabelSet) -> bool:
    """True when the labels are the symbols A, B, C, ... of ``LabelSet.symbolized``."""
    return bool(labelset.names) and list(labelset.names) == _symbols(len(labelset.names))


def instruction(format_name: str, labelset: LabelSet) -> str:
    """The instruction for ``format_name`` and ``labelset`` (``formats.get_format``'s error for an unknown format)."""
    if format_name not in _HEADS:
        from nerprobe.formats import get_format

        get_format(format_name)  # the one check of a format name: raises for an unknown one
    if is_symbolized(labelset):
        lines = [f"Your task is to do sequence labeling with labels {_enumerate(labelset.names)}."]
        if _SYMBOLIC_FORMAT_LINE[format_name]:
            lines.append(_SYMBOLIC_FORMAT_LINE[format_name])
        lines += [f"{n}: {labelset.definitions[n]}" for n in labelset.names if n in labelset.definitions]
        return "\n".join(lines + [_TAIL])
    lines = [_HEADS[format_name], "Label Set:"] + [labelset.describe(n) for n in labelset.names] + [_TAIL]
    return "\n".join(lines)


def sft_record(sentence: Sentence, format_name: str, labelset: LabelSet) -> dict:
    """One LLaMA-Factory alpaca record: ``{"instruction", "input", "output"}`` with the rendered target."""
    from nerprobe.formats import get_format

    return {
        "instruction": instruction(format_name, labelset),
        "input": sentence.text,
        "output": get_format(format_name).render(sentence, labelset.names),
    }
