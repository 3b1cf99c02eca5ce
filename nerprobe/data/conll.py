"""CoNLL column files: read them into a :class:`Corpus`, write flat corpora back.

Supported tag schemes (``scheme=``):

- ``"iob1"``: an ``I-X`` may start an entity; ``B-X`` is only needed to separate two adjacent entities of type X
  (a ``B-X`` elsewhere is accepted and starts an entity, as conlleval does).
- ``"iob2"`` (alias ``"bio"``): every entity starts with ``B-X``; an ``I-X`` that does not follow ``B-X``/``I-X`` is
  an error.
- ``"iobes"`` (alias ``"bioes"``) and ``"bilou"``: ``B``/``I``/``E``/``S`` resp. ``B``/``I``/``L``/``U``; every
  entity must be complete (``B I* E`` or ``S``).
- ``"auto"``: ``E-``/``S-`` tags mean IOBES, ``L-``/``U-`` tags mean BILOU, otherwise ``B``/``I`` tags are decoded
  the IOB1 way, which reads valid IOB2 identically and also accepts IOB1 files.

Sentences are separated by blank lines; ``-DOCSTART-`` lines separate documents. Columns are tab-separated when a
line holds a tab, else separated by runs of spaces. Sentence ids are ``<stem>-<n>`` (n from 0 in file order,
skipped sentences included, so ids do not depend on ``lenient``); doc ids are ``<stem>-doc<k>`` (k from 0 per
``-DOCSTART-``), or None in files without them. Columns other than the token and the tag are kept in
``sentence.meta["columns"]`` (one tuple per token) so that :func:`write_conll` can write them back.

A tag column whose typed tags are all phrase chunks (``B-NP``, ``I-VP``, ...: a CoNLL-2000/2003 file read without
its NER column) is refused with ``InputError(field="tag_column")`` instead of reading noun phrases as entities.

Hand-written rather than seqeval: seqeval decodes tags but does not report the file line of a bad tag, does not
read files, and has no lenient mode that skips and counts bad sentences.
"""

from __future__ import annotations

import gc
import re
from itertools import accumulate, compress, count, repeat
from operator import add, not_
from pathlib import Path
from typing import Iterable

from nerprobe import safe_io
from nerprobe.data.model import Corpus, Entity, Sentence, Token, trusted_sentence
from nerprobe.errors import InputError, NerprobeError
from nerprobe.safe_io import quote

SCHEMES = ("iob1", "iob2", "iobes", "bilou", "auto")
#: The phrase types of CoNLL-2000/2003 chunk tags (B-NP, I-VP, ...): a tag column holding only these is the chunk
#: column, not NER.
CHUNK_TYPES = frozenset({"NP", "VP", "PP", "ADJP", "ADVP", "SBAR", "PRT", "INTJ", "CONJP", "LST", "UCP"})
ALIASES = {"bio": "iob2", "bioes": "iobes", "iob": "iob2"}

# Prefix letters of each scheme: (begin, inside, end, single)
_PREFIXES = {
    "iob1": ("B", "I", None, None),
    "iob2": ("B", "I", None, None),
    "iobes": ("B", "I", "E", "S"),
    "bilou": ("B", "I", "L", "U"),
}

#: The prefix letters each scheme allows, as one string.
_ALLOWED = {scheme: "".join(p for p in prefixes if p) for scheme, prefixes in _PREFIXES.items()}


def normalize_scheme(scheme: str) -> str:
    """The canonical scheme name for ``scheme`` (aliases resolved); NerprobeError for an unknown scheme."""
    s = ALIASES.get(scheme.lower(), scheme.lower())
    if s not in SCHEMES:
        raise NerprobeError(f"unknown tag scheme {scheme!r}; use one of {', '.join(SCHEMES)} (or bio, bioes)")
    return s


class _TagError(Exception):
    """A bad tag at token index ``i`` of the sentence being decoded."""

    def __init__(self, i: int, message: str):
        self.i = i
        self.message = message
        super().__init__(message)


def _split_tag(tag: str, i: int, allowed: str) -> tuple[str, str]:
    """``(prefix, type)`` of a tag; ``("O", "")`` for O. Raises _TagError for a tag outside ``allowed``."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] in "-_" and tag[0] in allowed:
        return tag[0], tag[2:]
    raise _TagError(i, f"illegal tag {quote(tag)} (expected O or one of {', '.join(p + '-TYPE' for p in allowed)})")


#: allowed prefixes → {tag: (prefix, type)} of the valid tags met so far. A file holds a handful of distinct tags,
#: so one dict look-up per token replaces a call and three string tests (the cache is dropped when it grows large,
#: as fuzzed input may make it).
_SPLIT_CACHE: dict[str, dict[str, tuple[str, str]]] = {}
_SPLIT_CACHE_MAX = 4096


def _split_table(allowed: str) -> dict[str, tuple[str, str]]:
    table = _SPLIT_CACHE.get(allowed)
    if table is None or len(table) > _SPLIT_CACHE_MAX:
        table = _SPLIT_CACHE[allowed] = {"O": ("O", "")}
    return table


def decode_tags(tags: list[str], scheme: str) -> list[tuple[int, int, str]]:
    """Token spans ``(first, last_exclusive, type)`` encoded by ``tags`` under ``scheme`` (not "auto").

    Raises ``_TagError`` (with the token index) for an illegal tag or, under the strict schemes, an entity that
    is not opened or not closed properly.
    """
    allowed = _ALLOWED[scheme]
    split = _split_table(allowed)
    if scheme in ("iob1", "iob2"):
        return _decode_iob(tags, scheme == "iob2", split, allowed)
    b, ins, e, s = _PREFIXES[scheme]
    # iobes / bilou: entities must be complete
    spans: list[tuple[int, int, str]] = []
    start = None  # start token of the open entity
    typ = ""
    for i, tag in enumerate(tags):
        pt = split.get(tag)
        if pt is None:
            pt = split[tag] = _split_tag(tag, i, allowed)
        p, t = pt
        if p == ins or p == e:
            if start is None or t != typ:
                raise _TagError(i, f"{tag} without {b}-{t} before it")
            if p == e:
                spans.append((start, i + 1, typ))
                start = None
            continue
        if start is not None:
            raise _TagError(i, f"{b}-{typ} entity not closed by {e}-{typ} before {tag}")
        if p == s:
            spans.append((i, i + 1, t))
        elif p == b:
            start, typ = i, t
    if start is not None:
        raise _TagError(len(tags) - 1, f"{b}-{typ} entity not closed by {e}-{typ} at the end of the sentence")
    return spans


def _decode_iob(tags: list[str], iob2: bool, split: dict, allowed: str) -> list[tuple[int, int, str]]:
    """:func:`decode_tags` for IOB1 (``iob2`` False) and IOB2. Only the typed tags are visited (their positions found
    in C; most tokens are O): an O between two of them, seen as a gap in the positions, closes the open entity. Same
    spans and the same ``_TagError`` (token index and message) as the loop that split every tag."""
    spans: list[tuple[int, int, str]] = []
    start = None  # start token of the open entity
    typ = ""
    last = -2  # position of the previous typed tag
    for i in compress(count(), map(_O_NE, tags)):
        if start is not None and i != last + 1:  # an O came between
            spans.append((start, last + 1, typ))
            start = None
        last = i
        tag = tags[i]
        pt = split.get(tag)
        if pt is None:
            pt = split[tag] = _split_tag(tag, i, allowed)
        p, t = pt
        if p == "I":
            if start is not None and t == typ:
                continue
            if iob2:
                raise _TagError(i, f"{tag} without B-{t} before it")
        if start is not None:
            spans.append((start, i, typ))
        start, typ = i, t
    if start is not None:
        spans.append((start, last + 1, typ))
    return spans


_O_NE = "O".__ne__


def _detect_scheme(tag_prefixes: set[str]) -> str:
    """The scheme "auto" resolves to, given the set of tag prefixes of a file."""
    if tag_prefixes & {"E", "S"}:
        return "iobes"
    if tag_prefixes & {"L", "U"}:
        return "bilou"
    return "iob1"


def _decode_lines(path: str, data: bytes, lenient: bool) -> list[str | None]:
    """Every line of the file (line ``n`` at index ``n - 1``); None for a line that is not UTF-8 (lenient only)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if not lenient:
            raise safe_io.utf8_error(path, data, err) from None
        out: list[str | None] = []
        for raw in data.split(b"\n"):
            try:
                out.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(None)
        return out
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.split("\n")


def _refuse_chunk_tags(path: str, raw: list, tags_met: set[str], tag_column: int) -> None:
    """``InputError`` when every typed tag of the tag column is a phrase chunk (B-NP, I-VP, ...): the file has no NER
    column there, and reading on would turn noun phrases into entities of type NP. ``tags_met`` is the set of tags
    of all sentences of ``raw``; the sentences themselves are scanned only to name the line of the error."""
    types = {tag[2:] for tag in tags_met if len(tag) > 2 and tag[1] in "-_"}
    if types and types <= CHUNK_TYPES and types & {"NP", "VP", "PP"}:
        first_line = next(n for r in raw for n, tag in zip(r.lines, r.tags) if len(tag) > 2 and tag[1] in "-_")
        shown = ", ".join(sorted(types)[:6])
        raise InputError(path, first_line, f"the tag column (column {tag_column}) looks like chunk tags ({shown}), "
                                           "not NER tags; choose the column that holds the NER tags",
                         field="tag_column")


class _Raw:
    """One sentence as grouped from the lines: its lines, words, tags and other columns, and its problem if any."""

    __slots__ = ("first_line", "doc_id", "lines", "words", "tags", "extra", "problem")

    def __init__(self, first_line, doc_id, lines, words, tags, extra, problem):
        self.first_line, self.doc_id, self.problem = first_line, doc_id, problem
        self.lines, self.words, self.tags, self.extra = lines, words, tags, extra


def _make_token(text: str, start: int, end: int) -> Token:
    """``Token(text, start, end)`` (kept for callers of the old fast factory; Token is a named tuple now)."""
    return Token(text, start, end)


def _entity_factory():
    """A function ``(start, end, label) -> Entity`` equal to ``Entity(start, end, label)`` without ``__init__``'s
    ``object.__setattr__`` per field (a reader makes one per mention). Falls back to ``Entity`` itself if the class's
    fields ever change or it gets slots or a ``__post_init__``."""
    import dataclasses

    names = ("start", "end", "label")
    if (tuple(f.name for f in dataclasses.fields(Entity)) != names or hasattr(Entity, "__slots__")
            or hasattr(Entity, "__post_init__")):
        return Entity
    new = object.__new__

    def make(start: int, end: int, label: str) -> Entity:
        ent = new(Entity)
        ent.__dict__.update(start=start, end=end, label=label)
        return ent

    return make


_make_entity = _entity_factory()
_TUPLE_NEW = tuple.__new__


def _sentence(sid: str, words, spans, doc_id, meta: dict, lazy_tokens: bool = False) -> Sentence:
    """``Sentence.from_tokens(sid, words, spans, doc_id=doc_id, meta=meta)``: the same tokens, text and entities,
    with the offsets made in C (``accumulate``/``map``) and no per-token Python step. ``spans`` come from
    :func:`decode_tags`: inside the sentence, in order and disjoint, so the entities need no sorting or check.
    ``lazy_tokens`` (words known to hold no white space) leaves the tokens to be made on first access
    (``model.trusted_sentence``)."""
    if spans or not lazy_tokens:
        lens = list(map(len, words))
        starts = list(accumulate(map(add, lens, repeat(1)), initial=0))
        entities = tuple([_make_entity(starts[a], starts[z] - 1, label) for a, z, label in spans])
    else:
        entities = ()
    tokens = None if lazy_tokens else tuple(map(_TUPLE_NEW, repeat(Token), zip(words, starts, map(add, starts, lens))))
    return trusted_sentence(sid, " ".join(words), entities, doc_id, meta, tokens)


def _positions(items: list, value) -> list[int]:
    """The indices of ``value`` in ``items``, each found by ``list.index`` (in C)."""
    out: list[int] = []
    i = -1
    try:
        while True:
            i = items.index(value, i + 1)
            out.append(i)
    except ValueError:
        return out


#: White space other than the space and the newline (the fast path's files have none).
_OTHER_SPACE = re.compile(r"[^\S \n]")
#: The same, for ASCII text: every ASCII character ``str.isspace`` (and so ``str.split``) takes as white space, but
#: the space and the newline.
_ASCII_OTHER_SPACE = "".join(c for c in map(chr, range(128)) if c.isspace() and c not in " \n")


def _fields(text: str) -> tuple[list[str], list[int], int] | None:
    """``(every field of the file in order, spaces per line, n_columns)`` for a file whose lines are each empty or
    ``n_columns`` fields (at least 2) separated by single spaces, with no other white space (CRLF line ends are
    read as LF); None for any other file.

    A line of ``n - 1`` spaces holds at most ``n`` fields, exactly ``n`` unless it has doubled, leading or trailing
    spaces; so when every non-empty line has ``n - 1`` spaces and the file has ``n`` fields per non-empty line in
    all, every line has exactly ``n``. All of it runs in C: no step per line or field.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.isascii():
        # ASCII white space other than space and newline, by substring search (in C, some 30x faster than the
        # regex over a whole file); other text keeps the regex, which knows every Unicode space.
        if any(c in text for c in _ASCII_OTHER_SPACE):
            return None
    elif _OTHER_SPACE.search(text):
        return None
    lines = text.split("\n")
    spaces = list(map(str.count, lines, repeat(" ")))
    widths = set(spaces)
    widths.discard(0)
    n_blank = spaces.count(0)
    if len(widths) != 1 or n_blank != lines.count(""):
        return None
    n_columns = widths.pop() + 1
    flat = text.split()
    if len(flat) != n_columns * (len(lines) - n_blank):
        return None
    return flat, spaces, n_columns


def _read_fast(spath: str, text: str, stem: str, scheme: str, tag_column: int, lenient: bool) -> Corpus | None:
    """The reader for the common well-formed file (see :func:`_fields`; ``-DOCSTART-`` lines included): the same
    Corpus, the same errors and the same skipped sentences as :func:`_group_lines` then :func:`_decode_sentences`,
    or None when the file is not such a file or lacks the tag column (the general loop then reads it and reports
    what is wrong).

    The fields of the whole file lie flat, so that each column is one slice (``flat[k::n]``) and each sentence a
    slice of those: no Python code runs per token or line, and each sentence is decoded as soon as it is cut (no
    intermediate record per sentence).
    """
    if "\t" in text:
        return None
    found = _fields(text)
    if found is None:
        return None
    flat, spaces, n_columns = found
    if not -n_columns <= tag_column < n_columns:
        return None
    tag_idx = tag_column % n_columns
    words_all = flat[0::n_columns]
    tags_all = flat[tag_idx::n_columns]
    # flat rows of the -DOCSTART- lines; line indices of the blank lines, the end of the file last
    docs = _positions(words_all, "-DOCSTART-") if "-DOCSTART-" in text else []
    blanks = list(compress(count(), map(not_, spaces)))
    blanks.append(len(spaces))
    # each sentence as (first line index, first and last-exclusive flat row, doc id): the lines between two blank
    # lines, cut again at each -DOCSTART- line among them
    bounds: list[tuple[int, int, int, str | None]] = []
    doc_k = -1
    doc_id = None
    a = 0  # first line index of the next sentence
    k0 = 0  # flat row (non-blank line) index of line a
    d = 0  # next -DOCSTART- (index into docs)
    n_docs = len(docs)
    for b in blanks:
        k1 = k0 + (b - a)  # lines a..b-1 are the rows k0..k1-1
        while d < n_docs and docs[d] < k1:
            row = docs[d]
            if row > k0:
                bounds.append((a, k0, row, doc_id))
            doc_k += 1
            doc_id = f"{stem}-doc{doc_k}"
            a += row - k0 + 1
            k0 = row + 1
            d += 1
        if k1 > k0:
            bounds.append((a, k0, k1, doc_id))
        k0 = k1
        a = b + 1
    if not bounds:
        return _decode_sentences(spath, stem, [], set(), n_columns, scheme, tag_column, lenient, True)
    # the tags of the sentences' rows (the -DOCSTART- rows' left out), a slice between two documents at a time
    tags_met: set[str] = set()
    prev = 0
    for k in docs:
        tags_met.update(tags_all[prev:k])
        prev = k + 1
    tags_met.update(tags_all[prev:])
    raw = (_Raw(a + 1, doc, range(a + 1, a + 1 + k1 - k0), words_all[k0:k1], tags_all[k0:k1], (), None)
           for a, k0, k1, doc in bounds)  # made only to name the line of an error
    _refuse_chunk_tags(spath, raw, tags_met, tag_column)
    if scheme == "auto":
        scheme = _detect_scheme({tag[0] for tag in tags_met if len(tag) > 2 and tag[1] in "-_"})
    extra_all = (list(zip(*(flat[c::n_columns] for c in range(1, n_columns) if c != tag_idx)))
                 if n_columns > 2 else None)
    sentences: list[Sentence] = []
    skipped: list[str] = []
    for k, (a, k0, k1, doc_id) in enumerate(bounds):
        try:
            spans = decode_tags(tags_all[k0:k1], scheme)
        except _TagError as err:
            line_no = a + 1 + err.i
            if not lenient:
                raise InputError(spath, line_no, f"{err.message} (scheme {scheme})") from None
            skipped.append(f"{spath}:{line_no}: {err.message} (scheme {scheme})")
            continue
        words = words_all[k0:k1]
        if spans:  # character offsets: token j starts at the lengths of the tokens before it plus j spaces
            ends = list(accumulate(map(len, words), initial=0))
            entities = tuple([_make_entity(ends[i] + i, ends[j] + j - 1, label) for i, j, label in spans])
        else:
            entities = ()
        sentences.append(trusted_sentence(f"{stem}-{k}", " ".join(words), entities, doc_id,
                                          {"columns": extra_all[k0:k1]} if extra_all is not None else {}))
    return Corpus(sentences, source=spath, skipped=skipped)


def read_conll(path, *, scheme: str = "auto", tag_column: int = -1, lenient: bool = False) -> Corpus:
    """Read a CoNLL column file into a Corpus (see the module docstring for schemes, ids and columns).

    Bad input (non-UTF-8 bytes, a line whose column count differs from the file's first token line, an illegal
    tag, a broken entity under a strict scheme, an empty file) raises ``InputError`` naming ``path:line``. With
    ``lenient=True`` the sentence holding the bad line is skipped and recorded in ``Corpus.skipped``; every valid
    sentence is kept.
    """
    scheme = normalize_scheme(scheme)
    p = Path(path)
    spath = str(path)
    data = safe_io.read_bytes(p)
    # The reader makes some ten objects per token and no reference cycles; the cyclic collector would otherwise
    # run over the growing heap hundreds of times while it reads (some 40% of the time on CoNLL-2003 train).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            corpus = None
        else:
            # the fast path's words come from str.split: no white space in them, so tokens are made when first used
            corpus = _read_fast(spath, text, p.stem, scheme, tag_column, lenient)
        if corpus is not None:
            return corpus
        grouped = _group_lines(spath, p.stem, _decode_lines(spath, data, lenient), tag_column, lenient)
        return _decode_sentences(spath, p.stem, *grouped, scheme, tag_column, lenient)
    finally:
        if was_enabled:
            gc.enable()


def _group_lines(spath: str, stem: str, lines: list[str | None], tag_column: int, lenient: bool
                 ) -> tuple[list[_Raw], set[str], int]:
    """Pass 1 of the reader, line by line, for any file: ``(raw sentences, tags met, n_columns)``. Raises
    InputError for a bad column count (unless lenient: the sentence gets a problem) or a missing tag column."""
    raw: list[_Raw] = []
    tags_met: set[str] = set()
    n_columns = -1
    tag_idx = 0
    doc_k = -1
    doc_id = None
    nums: list[int] = []
    words: list[str] = []
    tags: list[str] = []
    extra: list[tuple] = []
    problem: str | None = None
    bad_line = 0

    for n, line in enumerate(lines, 1):
        if line is None:
            if problem is None:
                problem, bad_line = f"{spath}:{n}: not UTF-8", n
            continue
        if "\t" in line:
            line = line.rstrip("\r\n")
            cols = line.split("\t") if line.strip() else None
        else:
            cols = line.split()  # splits on the same white space as str.strip, "\r" included
        if not cols:
            if nums or problem:
                tags_met.update(tags)
                raw.append(_Raw(nums[0] if nums else bad_line, doc_id, nums, words, tags, extra, problem))
                nums, words, tags, extra, problem = [], [], [], [], None
            continue
        if cols[0] == "-DOCSTART-":
            if nums or problem:
                tags_met.update(tags)
                raw.append(_Raw(nums[0] if nums else bad_line, doc_id, nums, words, tags, extra, problem))
                nums, words, tags, extra, problem = [], [], [], [], None
            doc_k += 1
            doc_id = f"{stem}-doc{doc_k}"
            continue
        if len(cols) != n_columns:
            if n_columns < 0:
                n_columns = len(cols)
                if n_columns < 2:
                    raise InputError(spath, n, f"found 1 column ({quote(line.strip())}); a CoNLL file needs token "
                                     "and tag")
                if not -n_columns <= tag_column < n_columns:
                    raise InputError(spath, n, f"tag column {tag_column} does not exist in a file of {n_columns} "
                                     "columns")
                tag_idx = tag_column % n_columns
            else:
                msg = f"{len(cols)} columns where the file has {n_columns}"
                if not lenient:
                    raise InputError(spath, n, msg)
                if problem is None:
                    problem, bad_line = f"{spath}:{n}: {msg}", n
                continue
        nums.append(n)
        words.append(cols[0])
        tags.append(cols[tag_idx])
        if n_columns > 2:
            extra.append(tuple(cols[1:tag_idx] + cols[tag_idx + 1 :]))
    if nums or problem:
        tags_met.update(tags)
        raw.append(_Raw(nums[0] if nums else bad_line, doc_id, nums, words, tags, extra, problem))
    return raw, tags_met, n_columns


def _decode_sentences(spath: str, stem: str, raw: list[_Raw], tags_met: set[str], n_columns: int, scheme: str,
                      tag_column: int, lenient: bool, lazy_tokens: bool = False) -> Corpus:
    """Pass 2 of the reader: the checks on the whole file, then each raw sentence decoded into a Sentence
    (``lazy_tokens``: words hold no white space, see :func:`_sentence`)."""
    if not raw:
        raise InputError(spath, 1, "empty file: no sentences found")

    _refuse_chunk_tags(spath, raw, tags_met, tag_column)

    if scheme == "auto":
        scheme = _detect_scheme({tag[0] for tag in tags_met if len(tag) > 2 and tag[1] in "-_"})

    # Pass 2: decode each sentence
    sentences: list[Sentence] = []
    skipped: list[str] = []
    for k, r in enumerate(raw):
        if r.problem is not None:
            skipped.append(r.problem)
            continue
        try:
            spans = decode_tags(r.tags, scheme)
        except _TagError as err:
            line_no = r.lines[err.i]
            if not lenient:
                raise InputError(spath, line_no, f"{err.message} (scheme {scheme})") from None
            skipped.append(f"{spath}:{line_no}: {err.message} (scheme {scheme})")
            continue
        meta = {"columns": r.extra} if n_columns > 2 else {}
        sentences.append(_sentence(f"{stem}-{k}", r.words, spans, r.doc_id, meta, lazy_tokens))
    return Corpus(sentences, source=spath, skipped=skipped)


def encode_tags(n_tokens: int, spans: Iterable[tuple[int, int, str]], scheme: str = "iob2") -> list[str]:
    """The tags of a sentence of ``n_tokens`` tokens with non-overlapping token ``spans`` under ``scheme``."""
    scheme = normalize_scheme(scheme)
    if scheme == "auto":
        scheme = "iob2"
    b, ins, e, s = _PREFIXES[scheme]
    tags = ["O"] * n_tokens
    prev_end, prev_type = -1, None
    for start, end, label in sorted(spans):
        if scheme == "iob1":
            first = "B" if (start == prev_end and label == prev_type) else "I"
            tags[start : end] = [f"{first}-{label}"] + [f"I-{label}"] * (end - start - 1)
        elif e is None:
            tags[start : end] = [f"B-{label}"] + [f"I-{label}"] * (end - start - 1)
        elif end - start == 1:
            tags[start] = f"{s}-{label}"
        else:
            tags[start : end] = [f"{b}-{label}"] + [f"{ins}-{label}"] * (end - start - 2) + [f"{e}-{label}"]
        prev_end, prev_type = end, label
    return tags


def write_conll(sentences, path, *, scheme: str = "iob2") -> None:
    """Write flat sentences as a CoNLL file: token, the kept extra columns (if any), tag; space-separated.

    A ``-DOCSTART- -X- -X- O`` block is written whenever the doc id changes to a new non-None value, so that
    :func:`read_conll` gives the same doc grouping back. Raises ``NerprobeError`` for a nested/overlapping
    sentence, an entity that does not cover whole tokens, or a token holding whitespace.
    """
    scheme = normalize_scheme(scheme)
    out: list[str] = []
    prev_doc = None
    for sent in sentences:
        if not sent.is_flat():
            raise InputError(None, None, f"sentence {sent.id} has nested or overlapping entities; CoNLL holds flat "
                             "entities only", field="to")
        spans = []
        for ent in sent.entities:
            ts = sent.token_span(ent)
            if ts is None:
                raise NerprobeError(f"sentence {sent.id}: entity {quote(sent.surface(ent))} does not cover whole tokens")
            spans.append((ts[0], ts[1], ent.label))
        if sent.doc_id is not None and sent.doc_id != prev_doc:
            n_extra = len(sent.meta.get("columns", [()])[0]) if sent.meta.get("columns") else 0
            out.append(" ".join(["-DOCSTART-"] + ["-X-"] * n_extra + ["O"]))
            out.append("")
        prev_doc = sent.doc_id
        tags = encode_tags(len(sent.tokens), spans, scheme)
        extra = sent.meta.get("columns")
        if extra is not None and len(extra) != len(sent.tokens):
            extra = None
        for i, (tok, tag) in enumerate(zip(sent.tokens, tags)):
            if not tok.text or any(ch.isspace() for ch in tok.text):
                raise NerprobeError(f"sentence {sent.id}: token {quote(tok.text)} is empty or holds whitespace")
            cols = [tok.text, *(extra[i] if extra else ()), tag]
            out.append(" ".join(cols))
        out.append("")
    safe_io.atomic_write_text(path, "\n".join(out) + ("\n" if out else ""))
