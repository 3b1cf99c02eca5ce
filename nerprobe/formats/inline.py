"""Rendering nested entities as inline markup (shared by the bracketed and XML formats)."""

from __future__ import annotations

from typing import Callable

from nerprobe.data.model import Entity, Sentence


def render_inline(sentence: Sentence, open_fn: Callable[[Entity], str], close_fn: Callable[[Entity], str]) -> str:
    """The sentence text with each entity wrapped in ``open_fn(e)`` … ``close_fn(e)``.

    Outer spans open first; the same span with two labels nests (label order: the first label is outside).
    Raises ValueError for crossing spans, which inline markup cannot express.
    """
    text = sentence.text
    ents = sorted(sentence.entities, key=lambda e: (e.start, -e.end, e.label))
    out: list[str] = []
    pos = 0
    stack: list[Entity] = []

    def close_until(limit: int) -> None:
        nonlocal pos
        while stack and stack[-1].end <= limit:
            top = stack.pop()
            out.append(text[pos : top.end])
            pos = top.end
            out.append(close_fn(top))

    for e in ents:
        close_until(e.start)
        if stack and e.end > stack[-1].end:
            raise ValueError(
                f"sentence {sentence.id}: entities {stack[-1]} and {e} cross; inline formats cannot express them"
            )
        out.append(text[pos : e.start])
        pos = e.start
        out.append(open_fn(e))
        stack.append(e)
    close_until(len(text) + 1)
    out.append(text[pos:])
    return "".join(out)
