"""The GENIA term corpus 3.02 (GPML XML), read straight from ``GENIAcorpus3.02.tgz`` or from the extracted XML.

What comes back: one :class:`Sentence` per ``<sentence>`` (title and abstract), id ``<MEDLINE id>-<n>`` (n from 0 per
article, title first), doc id the MEDLINE id, text the sentence text exactly as in the XML, and entities the
``<cons>`` terms collapsed to the 5 classes nested-NER papers use, by ``sem`` prefix:

- ``G#DNA_*`` → DNA, ``G#RNA_*`` → RNA, ``G#protein_*`` → protein, ``G#cell_line`` → cell_line,
  ``G#cell_type`` → cell_type.
- **Dropped**: every other class (``G#other_name``, ``G#virus``, ``G#tissue``, ...); terms without ``sem`` (these
  are the fragments inside coordinations, e.g. ``<cons lex="alpha-*">alpha-</cons>``, which are not contiguous
  mentions); and, by default, coordinated terms whose ``sem`` is an expression such as
  ``"(AND G#DNA_domain_or_region G#DNA_domain_or_region)"`` ("alpha- and beta-globin"). With
  ``coordinated="same_class"`` a coordinated term is kept as one mention when all of its members collapse to the
  same class. (Default "drop" gives test-split counts nearer the yhcc nested JSONL, which is what papers report.)

Tokens: the text split at white space, at every kept entity boundary, and with brackets and ``,;:`` split off
words (and a final full stop split off the last word); so every entity covers whole tokens. This is close to, not
identical with, the tokenization of published splits (yhcc used a fixed, merged XML with its own tokens).

Splits: ``split="train"|"dev"|"test"`` keeps the documents listed in ``<splits_dir>/<split>.txt`` (one MEDLINE id
a line, e.g. ../shared/data/genia/splits), in corpus order. ``splits_dir`` defaults to ``splits`` beside the
archive's folder (``genia/raw/X.tgz`` → ``genia/splits``). Like yhcc, when an article occurs twice (MEDLINE:97218353)
only the later version is kept.
"""

from __future__ import annotations

import re
import tarfile
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

from nerprobe import safe_io
from nerprobe.data.model import Corpus, Entity, Sentence, Token, strip_span
from nerprobe.errors import InputError, NerprobeError

GENIA_LABELS = ("DNA", "RNA", "protein", "cell_line", "cell_type")
_SPLITS = ("train", "dev", "test")
_SPLIT_OFF = set("()[],;:")


def collapse_sem(sem: str | None, coordinated: str = "drop") -> str | None:
    """The 5-class label of a GENIA ``sem`` value, or None when the term is dropped (see the module docstring)."""
    if not sem:
        return None
    if sem.startswith("("):
        if coordinated != "same_class":
            return None
        members = {collapse_sem(s) for s in re.findall(r"G#[\w/-]+", sem)}
        return members.pop() if len(members) == 1 and None not in members else None
    if sem.startswith("G#DNA_"):
        return "DNA"
    if sem.startswith("G#RNA_"):
        return "RNA"
    if sem.startswith("G#protein_"):
        return "protein"
    if sem in ("G#cell_line", "G#cell_type"):
        return sem[2:]
    return None


def _walk(elem, parts: list[str], pos: int, spans: list, coordinated: str) -> int:
    """Append the text of ``elem`` (not its tail) to ``parts``, record kept ``<cons>`` spans; return the new end."""
    start = pos
    if elem.text:
        parts.append(elem.text)
        pos += len(elem.text)
    for child in elem:
        pos = _walk(child, parts, pos, spans, coordinated)
        if child.tail:
            parts.append(child.tail)
            pos += len(child.tail)
    if elem.tag == "cons":
        label = collapse_sem(elem.get("sem"), coordinated)
        if label is not None and pos > start:
            spans.append((start, pos, label))
    return pos


def _tokenize(text: str, cuts: set[int]) -> list[Token]:
    """Tokens of ``text``: white-space chunks, split at ``cuts`` and around brackets/``,;:``, final full stop."""
    tokens: list[Token] = []
    for m in re.finditer(r"\S+", text):
        bounds = {m.start(), m.end()} | {c for c in cuts if m.start() < c < m.end()}
        for i in range(m.start(), m.end()):
            if text[i] in _SPLIT_OFF:
                bounds.update((i, i + 1))
        if m.end() == len(text.rstrip()) and text[m.end() - 1] == "." and m.end() - m.start() > 1:
            bounds.add(m.end() - 1)
        b = sorted(bounds)
        tokens.extend(Token(text[s:e], s, e) for s, e in zip(b, b[1:]) if e > s)
    return tokens


def _article_sentences(article, coordinated: str) -> tuple[str, list[Sentence]]:
    """The MEDLINE id and the sentences of one ``<article>`` element."""
    doc = (article.findtext("articleinfo/bibliomisc") or "").strip()
    out = []
    for k, sent in enumerate(article.iter("sentence")):
        parts: list[str] = []
        spans: list = []
        _walk(sent, parts, 0, spans, coordinated)
        text = "".join(parts)
        ents = []
        for s, e, label in spans:
            s, e = strip_span(text, s, e)
            if e > s:
                ents.append(Entity(s, e, label))
        cuts = {x for ent in ents for x in (ent.start, ent.end)}
        out.append(Sentence(f"{doc}-{k}", text, tuple(_tokenize(text, cuts)), tuple(ents), doc_id=doc))
    return doc, out


def read_split_ids(split: str, splits_dir) -> list[str]:
    """The document ids listed in ``<splits_dir>/<split>.txt`` (NerprobeError when the list is missing)."""
    f = Path(splits_dir) / f"{split}.txt"
    if not f.is_file():
        raise NerprobeError(f"GENIA split list {f} not found; pass splits_dir (a folder with train/dev/test.txt)")
    return [line.strip() for line in safe_io.read_text(f).splitlines() if line.strip()]


def _open_xml(p: Path):
    """A binary file object of the GENIA XML: the .xml itself or the first .xml member of a tar archive."""
    if p.suffix == ".xml":
        return p.open("rb")
    try:
        tf = tarfile.open(p)
        for member in tf:
            if member.isfile() and member.name.endswith(".xml"):
                return tf.extractfile(member)
    except _ARCHIVE_ERRORS as err:
        raise _archive_error(p, err) from None
    raise InputError(str(p), None, "the archive holds no .xml file")


#: What a damaged archive raises while it is read: a truncated gzip stream ends in EOFError (which the CLI
#: framework would turn into a bare "Aborted."), bad compressed data in zlib.error or OSError.
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


def _archive_error(p: Path, err: BaseException) -> InputError:
    """The one-line error for a damaged archive: truncated, or not a tar/.xml at all."""
    if isinstance(err, EOFError) or "truncated" in str(err).lower() or "unexpected end" in str(err).lower():
        return InputError(str(p), None, "the archive is truncated (it ends before its last member); "
                                        "download or copy it again")
    return InputError(str(p), None, f"not a readable tar archive or .xml file ({safe_io.quote(str(err))})")


def read_genia_xml(
    path, *, split: str | None = None, splits_dir=None, lenient: bool = False, coordinated: str = "drop"
) -> Corpus:
    """Read the GENIA 3.02 XML (or its .tgz) into a Corpus, optionally only one document split.

    ``split`` is None (all articles) or "train"/"dev"/"test". Malformed XML raises ``InputError`` with the line;
    ``lenient`` cannot skip inside broken XML, so it changes nothing for well-formed files and is accepted for a
    uniform reader interface. Returns sentences in corpus order.
    """
    p = safe_io.check_input_file(path)
    spath = str(path)
    if split is not None and split not in _SPLITS:
        raise NerprobeError(f"unknown GENIA split {split!r}; use one of {', '.join(_SPLITS)}")
    keep = None
    if split is not None:
        if splits_dir is None:
            splits_dir = p.resolve().parent.parent / "splits"
        keep = set(read_split_ids(split, splits_dir))

    by_doc: dict[str, list[Sentence]] = {}
    f = _open_xml(p)
    try:
        for _event, elem in ET.iterparse(f, events=("end",)):
            if elem.tag != "article":
                continue
            doc, sents = _article_sentences(elem, coordinated)
            elem.clear()
            if keep is None or doc in keep:
                by_doc.pop(doc, None)  # a repeated article: keep the later version, at its later position
                by_doc[doc] = sents
    except ET.ParseError as err:
        raise InputError(spath, err.position[0], f"malformed XML: {safe_io.quote(str(err))}") from None
    except RecursionError:
        raise InputError(spath, None, "XML elements nested too deeply") from None
    except _ARCHIVE_ERRORS as err:
        raise _archive_error(p, err) from None
    finally:
        try:
            f.close()
        except _ARCHIVE_ERRORS:
            pass
    sentences = [s for sents in by_doc.values() for s in sents]
    if not sentences:
        raise InputError(spath, 1, "no GENIA sentences found" + (f" for split {split}" if split else ""))
    return Corpus(sentences, source=spath + (f"#{split}" if split else ""), skipped=[])
