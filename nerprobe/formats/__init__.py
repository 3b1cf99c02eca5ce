"""The five generative NER output formats of the LLMs4NER study, each with ``render`` and ``parse``.

``get_format(name)`` gives one of ``FORMAT_NAMES``: ``bracketed`` (``[text | LABEL]``), ``xml``
(``<LABEL>text</LABEL>``), ``json`` (``{"LABEL": [texts]}``), ``occurrence_index``
(``[{"text", "label", "occurrence_index"}]``) and ``offset_json`` (``[{"text", "label", "start", "end"}]``).
"""

from __future__ import annotations

from nerprobe.errors import InputError
from nerprobe.formats.base import OutputFormat, Parse, ParseStatus
from nerprobe.formats.bracketed import BracketedFormat
from nerprobe.formats.grouped_json import GroupedJsonFormat
from nerprobe.formats.occurrence_json import OccurrenceJsonFormat
from nerprobe.formats.offset_json import OffsetJsonFormat
from nerprobe.formats.xml_tags import XmlFormat

FORMAT_NAMES = ("bracketed", "xml", "json", "occurrence_index", "offset_json")

_FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (BracketedFormat(), XmlFormat(), GroupedJsonFormat(), OccurrenceJsonFormat(), OffsetJsonFormat())
}


def get_format(name: str) -> OutputFormat:
    """The format called ``name`` (one of ``FORMAT_NAMES``); InputError (field ``format``) for any other name."""
    try:
        return _FORMATS[name]
    except KeyError:
        raise InputError(None, None, f"unknown format {name!r}; choose one of {', '.join(FORMAT_NAMES)}",
                         field="format") from None


__all__ = ["FORMAT_NAMES", "get_format", "OutputFormat", "Parse", "ParseStatus"]
