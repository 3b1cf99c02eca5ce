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

from pathlib import Path
from typing import Iterable

from nerprobe import safe_io
from nerprobe.data.model import Corpus, Sentence
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


def decode_tags(tags: list[str], scheme: str) -> list[tuple[int, int, str]]:
    """Token spans ``(first, last_exclusive, type)`` encoded by ``tags`` under ``scheme`` (not "auto").

    Raises ``_TagError`` (with the token index) for an illegal tag or, under the strict schemes, an entity that
    is not opened or not closed properly.
    """
    b, ins, e, s = _PREFIXES[scheme]
    allowed = "".join(p for p in (b, ins, e, s) if p)
    spans: list[tuple[int, int, str]] = []
    start = None  # start token of the open entity
    typ = ""
    for i, tag in enumerate(tags):
        p, t = _split_tag(tag, i, allowed)
        if scheme == "iob1":
            if p == "O":
                if start is not None:
                    spans.append((start, i, typ))
                start = None
            elif p == "I" and start is not None and t == typ:
                continue
            else:  # B-X, or I-X that does not continue an X entity: a new entity starts
                if start is not None:
                    spans.append((start, i, typ))
                start, typ = i, t
            continue
        if scheme == "iob2":
            if p == "I":
                if start is None or t != typ:
                    raise _TagError(i, f"{tag} without B-{t} before it")
                continue
            if start is not None:
                spans.append((start, i, typ))
                start = None
            if p == "B":
                start, typ = i, t
            continue
        # iobes / bilou: entities must be complete
        if p in (ins, e):
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
        if scheme in ("iob1", "iob2"):
            spans.append((start, len(tags), typ))
        else:
            raise _TagError(len(tags) - 1, f"{b}-{typ} entity not closed by {e}-{typ} at the end of the sentence")
    return spans


def _detect_scheme(tag_prefixes: set[str]) -> str:
    """The scheme "auto" resolves to, given the set of tag prefixes of a file."""
    if tag_prefixes & {"E", "S"}:
        return "iobes"
    if tag_prefixes & {"L", "U"}:
        return "bilou"
    return "iob1"


def _decode_lines(path: str, data: bytes, lenient: bool) -> list[tuple[int, str | None]]:
    """``(line_number, text)`` for every line; text None for a line that is not UTF-8 (lenient only)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if not lenient:
            raise safe_io.utf8_error(path, data, err) from None
        out: list[tuple[int, str | None]] = []
        for n, raw in enumerate(data.split(b"\n"), 1):
            try:
                out.append((n, raw.decode("utf-8")))
            except UnicodeDecodeError:
                out.append((n, None))
        return out
    if text.startswith("\ufeff"):
        text = text[1:]
    return list(enumerate(text.split("\n"), 1))


def _refuse_chunk_tags(path: str, raw: list, tag_column: int) -> None:
    """``InputError`` when every typed tag of the tag column is a phrase chunk (B-NP, I-VP, ...): the file has no NER
    column there, and reading on would turn noun phrases into entities of type NP."""
    types: set[str] = set()
    first_line = None
    for _, _, toks, _ in raw:
        for n, cols in toks:
            tag = cols[tag_column]
            if len(tag) > 2 and tag[1] in "-_":
                types.add(tag[2:])
                if first_line is None:
                    first_line = n
    if types and types <= CHUNK_TYPES and types & {"NP", "VP", "PP"}:
        shown = ", ".join(sorted(types)[:6])
        raise InputError(path, first_line, f"the tag column (column {tag_column}) looks like chunk tags ({shown}), "
                                           "not NER tags; choose the column that holds the NER tags",
                         field="tag_column")


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
    stem = p.stem
    data = safe_io.read_bytes(p)
    lines = _decode_lines(spath, data, lenient)

    # Pass 1: group lines into raw sentences: (first_line, doc_id, [(line_no, columns)], problem)
    raw: list[tuple[int, str | None, list[tuple[int, list[str]]], str | None]] = []
    n_columns = None
    doc_k = -1
    doc_id = None
    cur: list[tuple[int, list[str]]] = []
    problem: str | None = None

    def flush():
        nonlocal cur, problem
        if cur or problem:
            raw.append((cur[0][0] if cur else bad_line, doc_id, cur, problem))
        cur, problem = [], None

    bad_line = 0
    for n, line in lines:
        if line is None:
            if problem is None:
                problem, bad_line = f"{spath}:{n}: not UTF-8", n
            continue
        line = line.rstrip("\r\n")
        if not line.strip():
            flush()
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if cols[0] == "-DOCSTART-":
            flush()
            doc_k += 1
            doc_id = f"{stem}-doc{doc_k}"
            continue
        if n_columns is None:
            n_columns = len(cols)
            if n_columns < 2:
                raise InputError(spath, n, f"found 1 column ({quote(line.strip())}); a CoNLL file needs token and tag")
            if not -n_columns <= tag_column < n_columns:
                raise InputError(spath, n, f"tag column {tag_column} does not exist in a file of {n_columns} columns")
        if len(cols) != n_columns:
            msg = f"{len(cols)} columns where the file has {n_columns}"
            if not lenient:
                raise InputError(spath, n, msg)
            if problem is None:
                problem, bad_line = f"{spath}:{n}: {msg}", n
            continue
        cur.append((n, cols))
    flush()

    if not raw:
        raise InputError(spath, 1, "empty file: no sentences found")

    _refuse_chunk_tags(spath, raw, tag_column)

    if scheme == "auto":
        prefixes = set()
        for _, _, toks, _ in raw:
            for _, cols in toks:
                tag = cols[tag_column]
                if len(tag) > 2 and tag[1] in "-_":
                    prefixes.add(tag[0])
        scheme = _detect_scheme(prefixes)

    # Pass 2: decode each sentence
    tag_idx = tag_column % n_columns if n_columns else 0
    sentences: list[Sentence] = []
    skipped: list[str] = []
    for k, (first_line, doc, toks, prob) in enumerate(raw):
        if prob is not None:
            skipped.append(prob)
            continue
        words = [cols[0] for _, cols in toks]
        tags = [cols[tag_idx] for _, cols in toks]
        try:
            spans = decode_tags(tags, scheme)
        except _TagError as err:
            line_no = toks[err.i][0]
            if not lenient:
                raise InputError(spath, line_no, f"{err.message} (scheme {scheme})") from None
            skipped.append(f"{spath}:{line_no}: {err.message} (scheme {scheme})")
            continue
        meta = {}
        if n_columns > 2:
            meta["columns"] = [tuple(cols[1:tag_idx] + cols[tag_idx + 1 :]) for _, cols in toks]
        sentences.append(Sentence.from_tokens(f"{stem}-{k}", words, spans, doc_id=doc, meta=meta))
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
            raise NerprobeError(
                f"sentence {sent.id} has nested or overlapping entities; CoNLL holds flat entities only "
                "(write JSONL instead: --to jsonl)"
            )
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
