"""Label sets: the label names, their optional long names and definitions, and symbolized variants.

The default definitions of CoNLL-2003 and GENIA are the ones of the LLMs4NER instructions, verbatim; WNUT-17's are
written in the same style from the WNUT-17 annotation guidelines.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from nerprobe.errors import InputError


@dataclass(frozen=True)
class LabelSet:
    """Label names in prompt order, with definitions (label → text) and long names (label → e.g. "person").

    ``long_names`` is an addition to the contract (optional): the LLMs4NER CoNLL instructions write
    ``PER(person): ...`` while GENIA's write ``DNA: ...``.
    """

    names: tuple[str, ...]
    definitions: dict[str, str] = field(default_factory=dict, hash=False, compare=True)
    long_names: dict[str, str] = field(default_factory=dict, hash=False, compare=True)

    def symbolized(self, with_definitions: bool) -> tuple["LabelSet", dict[str, str]]:
        """The same set with labels renamed A, B, C, ... in the order of ``names`` (AA, AB, ... after Z).

        Returns ``(new_set, mapping)`` where mapping is original → symbol. Long names are dropped (they would give
        the label away); definitions are kept only when ``with_definitions``.
        """
        symbols = _symbols(len(self.names))
        mapping = dict(zip(self.names, symbols))
        defs = {mapping[n]: d for n, d in self.definitions.items() if n in mapping} if with_definitions else {}
        return LabelSet(tuple(symbols), defs, {}), mapping

    def describe(self, name: str) -> str:
        """One "Label Set" line: ``NAME(long name): definition``, ``NAME: definition`` or just ``NAME``."""
        head = f"{name}({self.long_names[name]})" if name in self.long_names else name
        return f"{head}: {self.definitions[name]}" if name in self.definitions else head


def _symbols(n: int) -> list[str]:
    letters = string.ascii_uppercase
    out = list(letters[:n])
    i = 0
    while len(out) < n:
        out.append(letters[i // 26] + letters[i % 26])
        i += 1
    return out


CONLL2003 = LabelSet(
    names=("ORG", "PER", "LOC", "MISC"),
    long_names={"ORG": "organization", "PER": "person", "LOC": "location", "MISC": "miscellaneous"},
    definitions={
        "ORG": "A collective entity such as a company, institution, brand, political or governmental body, "
        "publication, or any organized group of people acting as a unit.",
        "PER": "A named individual, including humans, animals, fictional characters, and their aliases.",
        "LOC": "A geographical or spatial entity, including natural features, built structures, regions, public or "
        "commercial places, assorted buildings, and abstract or metaphorical places.",
        "MISC": "Named entities that are not persons, organizations, or locations, including derived adjectives, "
        "religions, ideologies, nationalities, languages, events, programs, wars, titles of works, slogans, eras, "
        "and types of objects.",
    },
)

GENIA = LabelSet(
    names=("DNA", "RNA", "protein", "cell_line", "cell_type"),
    definitions={
        "DNA": "Deoxyribonucleic acid sequences or molecules, including genes, gene fragments, promoters, enhancers, "
        "and other genomic regions that encode or regulate biological information.",
        "RNA": "Ribonucleic acid molecules transcribed from DNA, encompassing messenger RNA, non-coding RNAs, and RNA "
        "transcripts involved in gene expression and regulation.",
        "protein": "Functional biological macromolecules composed of amino acids, including enzymes, receptors, "
        "transcription factors, and protein complexes produced by translation of RNA.",
        "cell_line": "A population of cells derived from a single source and maintained in vitro through continuous "
        "culture, often genetically stable and used for experimental research.",
        "cell_type": "A class of cells defined by shared morphological, functional, and molecular characteristics "
        "within an organism, such as immune cells, epithelial cells, or neurons.",
    },
)

WNUT17 = LabelSet(
    names=("person", "location", "corporation", "product", "creative-work", "group"),
    definitions={
        "person": "Names of people, including first, middle and last names, nicknames and aliases of real or "
        "fictional persons.",
        "location": "Names of places such as countries, cities, regions, streets, buildings, landmarks and natural "
        "features.",
        "corporation": "Names of companies and businesses that produce goods or services, including brands as "
        "organizations.",
        "product": "Names of tangible or digital products, such as devices, vehicles, software, games and food "
        "products.",
        "creative-work": "Titles of creative works such as books, songs, films, television shows, albums and works "
        "of art.",
        "group": "Names of groups of people that are not companies, such as sports teams, bands, political parties "
        "and other organizations.",
    },
)

LABEL_SETS: dict[str, LabelSet] = {"conll2003": CONLL2003, "wnut17": WNUT17, "genia": GENIA}


def label_set_for(labels: Iterable[str]) -> LabelSet:
    """The known label set whose names are exactly ``labels`` (in any order), else a set of the names alone."""
    wanted = set(labels)
    for ls in LABEL_SETS.values():
        if set(ls.names) == wanted:
            return ls
    return LabelSet(tuple(sorted(wanted)))


def resolve_label_set(spec: str | None, corpus_labels: Iterable[str] = (), *,
                      default: LabelSet | None = None) -> LabelSet:
    """The label set every command means by a label-set option ``spec``.

    ``spec`` is a known set's name (``conll2003``, ``wnut17``, ``genia``), a label-set JSON file (see
    ``load_label_set``) or comma-separated label names (a known set when they are exactly its names). Without ``spec``:
    ``default`` when given (an adapter's own label set, say), else the set matching ``corpus_labels``
    (``label_set_for``). Raises ``InputError`` naming ``spec`` (``field="labels"``) when it is none of these, or
    naming the file when it cannot be read.
    """
    if spec is None:
        return default if default is not None else label_set_for(corpus_labels)
    if spec in LABEL_SETS:
        return LABEL_SETS[spec]
    path = Path(spec).expanduser()
    if path.is_file() or spec.lower().endswith(".json") or path.is_dir():
        if path.is_dir():
            raise InputError(spec, None, "is a directory, not a label-set JSON file", field="labels")
        if not path.exists():
            raise InputError(spec, None, "no such label-set file", field="labels")
        return load_label_set(path)
    names = [x.strip() for x in spec.split(",") if x.strip()]
    if len(names) < 2:
        raise InputError(spec, None, f"neither a known label set ({', '.join(LABEL_SETS)}), a label-set JSON file, "
                                     "nor comma-separated label names", field="labels")
    if len(set(names)) != len(names):
        raise InputError(spec, None, "a label is named twice", field="labels")
    known = label_set_for(names)
    return known if known.definitions else LabelSet(tuple(names))


def labelset_from_dict(data: dict) -> LabelSet:
    """The label set a manifest records as ``{"names", "definitions", "long_names"}`` (see ``labelset_dict``)."""
    return LabelSet(tuple(data.get("names") or ()), dict(data.get("definitions") or {}),
                    dict(data.get("long_names") or {}))


def load_label_set(path: str | Path) -> LabelSet:
    """Read a label set from JSON.

    Accepted shapes: ``{"names": [...], "definitions": {...}, "long_names": {...}}``, a list of names, or a
    mapping name → definition (its key order is the label order). Raises InputError for anything else.
    """
    from nerprobe.safe_io import read_json  # bounded depth, UTF-8 line/column, "is a directory"

    p = str(path)
    data = read_json(path)
    if isinstance(data, list) and all(isinstance(x, str) for x in data):
        names, defs, longs = data, {}, {}
    elif isinstance(data, dict) and "names" in data:
        names, defs, longs = data.get("names"), data.get("definitions") or {}, data.get("long_names") or {}
    elif isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        names, defs, longs = list(data), dict(data), {}
    else:
        raise InputError(p, None, 'expected a list of label names or {"names": [...], "definitions": {...}}')
    if not isinstance(names, list) or not names or not all(isinstance(x, str) and x.strip() for x in names):
        raise InputError(p, None, '"names" must be a non-empty list of non-empty strings')
    if len(set(names)) != len(names):
        raise InputError(p, None, "label names must be unique")
    for what, d in (("definitions", defs), ("long_names", longs)):
        if not isinstance(d, dict) or not all(isinstance(v, str) for v in d.values()):
            raise InputError(p, None, f'"{what}" must map label names to strings')
        extra = sorted(set(d) - set(names))
        if extra:
            raise InputError(p, None, f'"{what}" names unknown labels: {", ".join(extra)}')
    return LabelSet(tuple(names), dict(defs), dict(longs))
