"""The form of a name, apart from its identity: casing shape, token count and (for MISC) form class.

A controlled probe replaces a name by another of the same form, so that only its identity (seen in training or
not) changes. ``shape_key`` is what must stay equal: ``(label, n_tokens, casing_shape, form_class)``.

Casing shape (``casing_shape``), over the cased letters of the surface, word by word (a word is a run of
non-space characters; words without a cased letter, such as ``&`` or ``1996``, are ignored):

- ``upper``: every cased letter is upper case and there are at least two (``BRATISLAVA``, ``U.S.``, ``NEW YORK``);
- ``lower``: every cased letter is lower case (``interleukin-2``);
- ``title``: the first word is a title word (its first cased letter upper, the others lower: ``Paris``, ``J.``)
  and every other word is a title word or all lower case (``Bank of England``, ``Alice Smith``);
- ``mixed``: anything else (``McDonald``, ``iPhone``, ``BBC World``);
- ``none``: no cased letter at all (``1860``, ``-``).

Form class (``form_class``), told only for labels in ``FORM_CLASS_LABELS`` (MISC, NORP), else ``""``:
``adjective`` for a single word that is a known demonym or religion adjective (``DEMONYMS``) or, casefolded, ends
in ``-an``, ``-ian``, ``-ese``, ``-ish``, ``-ic`` or ``-i`` (``Syrian``, ``Chinese``, ``British``, ``Islamic``,
``Iraqi``); the last part of a hyphenated word decides (``Sino-Japanese``). Everything else is ``name``
(``Newsnight``, ``World Cup``, ``Germans``). The rule is a heuristic, applied identically on both sides of a
replacement: ``Syrian`` may become ``Kenyan`` but never ``Newsnight``.
"""

from __future__ import annotations

from functools import lru_cache

UPPER, LOWER, TITLE, MIXED, NONE = "upper", "lower", "title", "mixed", "none"
CASING_SHAPES = (UPPER, TITLE, LOWER, MIXED, NONE)

ADJECTIVE, NAME = "adjective", "name"
FORM_CLASS_LABELS = frozenset({"misc", "norp"})
"""Labels (casefolded) whose mentions mix adjectives of nationality/religion with names."""

ADJECTIVE_SUFFIXES = ("an", "ian", "ese", "ish", "ic", "i")
DEMONYMS = frozenset("""
french dutch swiss thai greek serb croat czech welsh scots slovak slovene cypriot filipino uzbek kazakh tajik afghan
kurd arab basque jewish muslim moslem christian catholic protestant sikh hindu buddhist orthodox sunni shi'ite
shiite zulu maori inuit nepali nepalese kyrgyz turkmen lao khmer malay tamil sinhalese flemish walloon quebecois
""".split())
"""Single-word adjectives of nationality or religion that the suffix rule misses (casefolded)."""


@lru_cache(maxsize=65536)
def _word_kind(word: str) -> str | None:
    """``upper``/``lower``/``title``/``mixed`` for one word, None when it has no cased letter."""
    if word.islower():
        return LOWER
    if word.isupper():
        return UPPER if sum(c.isupper() for c in word) >= 2 else TITLE  # a single capital ("J.") is a title word
    first = next((i for i, c in enumerate(word) if c.isupper() or c.islower()), None)
    if first is None:
        return None
    return TITLE if word[first].isupper() and word[first + 1 :].islower() else MIXED


@lru_cache(maxsize=65536)
def casing_shape(surface: str) -> str:
    """The casing shape of a surface: ``upper``, ``title``, ``lower``, ``mixed`` or ``none`` (module docstring)."""
    if surface.isupper():
        return UPPER if sum(c.isupper() for c in surface) >= 2 else TITLE
    if surface.islower():
        return LOWER
    kinds = [k for k in map(_word_kind, surface.split()) if k is not None]
    if not kinds:
        return NONE
    if kinds[0] == TITLE and all(k in (TITLE, LOWER) for k in kinds[1:]):
        return TITLE
    return MIXED


def form_class(surface: str, label: str) -> str:
    """``adjective`` or ``name`` for a label in ``FORM_CLASS_LABELS`` (module docstring), ``""`` for other labels."""
    if label.casefold() not in FORM_CLASS_LABELS:
        return ""
    words = surface.split()
    if len(words) != 1:
        return NAME
    word = words[0].casefold().rstrip(".")
    last = word.rsplit("-", 1)[-1]
    if last in DEMONYMS or word in DEMONYMS:
        return ADJECTIVE
    if len(last) > 3 and last.isalpha() and last.endswith(ADJECTIVE_SUFFIXES):
        return ADJECTIVE
    return NAME


def n_tokens(surface: str) -> int:
    """The number of whitespace-separated tokens of a surface."""
    return len(surface.split())


def shape_key(surface: str, label: str) -> tuple[str, int, str, str]:
    """``(label, n_tokens, casing_shape, form_class)``: what a controlled replacement keeps."""
    return label, n_tokens(surface), casing_shape(surface), form_class(surface, label)


def key_name(key: tuple) -> str:
    """A readable name of a shape key for JSON: ``LOC/1/upper`` (``MISC/1/title/adjective`` with a form class)."""
    return "/".join(str(k) for k in key if k != "")
