"""The ``swapped-labels`` probes.

a. ``build_relabeled``: the label set renamed in the instruction and in the expected output: symbols A, B, C, ...
   with or without the label definitions (as the LLMs4NER ``conll2003-se``/``-so`` sets), or a permutation of the
   real label names (each definition moves with its type, so the task stays well defined). A model that reads the
   instruction follows the new names; one that recalls entity→label pairs writes the old ones.
b. ``build_type_swaps``: in each test sentence one entity is replaced by a training entity of *another* type that
   training labels consistently, so the context implies the gold type while memory says another. ``meta`` keeps the
   span, the gold (context) label and the memorized label, to count how often a model follows each.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Callable, Iterable

from nerprobe.data.model import Entity, Sentence
from nerprobe.errors import InputError
from nerprobe.probes.base import Change, ProbeItem, ProbeSet
from nerprobe.probes.coverage import MentionIndex
from nerprobe.probes.rewrite import replace_spans, replaceable_spans

RELABEL_MODES = ("symbols-defs", "symbols", "permuted")
"""``symbols-defs``: A, B, ... with the definitions; ``symbols``: A, B, ... alone; ``permuted``: real names shuffled."""


def derangement(names: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A permutation of ``names`` that moves every name (for one name, the name itself)."""
    if len(names) < 2:
        return tuple(names)
    while True:
        perm = list(names)
        rng.shuffle(perm)
        if all(a != b for a, b in zip(names, perm)):
            return tuple(perm)


def relabel_mapping(labelset, mode: str, seed: int = 0):
    """``(new_labelset, mapping)`` for a renaming ``mode``; ``mapping`` maps each original name to its new name."""
    from nerprobe.formats.labels import LabelSet  # formats sit above data; imported only when relabeling

    if mode == "symbols-defs":
        return labelset.symbolized(True)
    if mode == "symbols":
        return labelset.symbolized(False)
    if mode == "permuted":
        perm = derangement(tuple(labelset.names), random.Random(seed))
        mapping = dict(zip(labelset.names, perm))
        definitions = {mapping[k]: v for k, v in labelset.definitions.items() if k in mapping}
        return LabelSet(names=tuple(mapping[n] for n in labelset.names), definitions=definitions), mapping
    raise InputError(None, None, f"unknown relabeling {mode!r} (known: {', '.join(RELABEL_MODES)})",
                     field="probes")


def build_relabeled(test: Iterable[Sentence], labelset, mode: str, seed: int = 0) -> ProbeSet:
    """The ``swapped-labels-<mode>`` set: every test sentence with its entities renamed by the mode's mapping.

    ``params["labelset"]`` holds the new label set (names and definitions) for the instruction, and
    ``params["mapping"]`` original → new. Mentions whose label the label set lacks are dropped from the expected
    output and reported in ``problems``.
    """
    new_set, mapping = relabel_mapping(labelset, mode, seed)
    items, dropped = [], defaultdict(int)
    for s in test:
        ents, changes = [], []
        for e in s.entities:
            if e.label not in mapping:
                dropped[e.label] += 1
                continue
            ne = Entity(e.start, e.end, mapping[e.label])
            ents.append(ne)
            changes.append(Change(e, s.surface(e), ne, s.surface(e), "relabel"))
        new = Sentence(f"{s.id}#{mode}", s.text, s.tokens, tuple(ents), s.doc_id)
        items.append(ProbeItem(new.id, s.id, new, tuple(changes), {}))
    problems = [f"label {lab!r} is not in the label set: {n} mention(s) left out of the renamed set"
                for lab, n in sorted(dropped.items())]
    params = {"mode": mode, "mapping": mapping,
              "labelset": {"names": list(new_set.names), "definitions": dict(new_set.definitions)}}
    return ProbeSet(f"swapped-labels-{mode}", seed, items, params, problems)


def consistent_training_entities(index: MentionIndex, train: Iterable[Sentence], min_count: int = 2
                                 ) -> dict[str, list[str]]:
    """Training surfaces by label that carry only that label, at least ``min_count`` times (sorted, one surface
    per normalized form): the entities whose memorized label is unambiguous."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for s in train:
        for e in s.entities:
            surface = s.surface(e)
            key = index.normalize(surface)
            c = index.counts.get(key)
            if c and len(c) == 1 and c[e.label] >= min_count:
                out[e.label].setdefault(key, surface)
    return {lab: sorted(forms.values()) for lab, forms in out.items()}


def build_type_swaps(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *, min_count: int = 2,
    normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``type-swaps`` set: for each test sentence with a replaceable entity (innermost, not inside another
    entity, one label), one entity (drawn with ``seed``)
    replaced by a consistently-labelled training entity of another type (same token count when possible).

    The expected output keeps the gold (context) label; ``meta`` has ``span`` (new offsets), ``gold_label`` and
    ``memorized_label``. Sentences without a replaceable entity are skipped (counted in ``params``).
    """
    train = list(train)
    index = index or MentionIndex(train, normalize)
    rng = random.Random(seed)
    candidates = consistent_training_entities(index, train, min_count)
    by_len = {lab: _by_len(forms) for lab, forms in candidates.items()}
    items, skipped = [], 0
    for s in test:
        spans, _ = replaceable_spans(s)
        # one label per span: spans carrying two labels are ambiguous for "which label did the model follow"
        # and only top-level ones: the context of an inner entity is its enclosing name, not the sentence
        single = [(a, b) for a, b in spans if sum(1 for e in s.entities if e.span == (a, b)) == 1
                  and not any(o.start <= a and b <= o.end and o.span != (a, b) for o in s.entities)]
        if not single:
            skipped += 1
            continue
        a, b = single[rng.randrange(len(single))]
        gold = next(e for e in s.entities if e.span == (a, b))
        others = sorted(lab for lab in candidates if lab != gold.label and candidates[lab])
        if not others:
            skipped += 1
            continue
        mem_label = others[rng.randrange(len(others))]
        n_tok = len(s.text[a:b].split())
        pool = by_len[mem_label].get(n_tok) or candidates[mem_label]
        present = s.text.casefold()
        surface = pool[rng.randrange(len(pool))]
        for _ in range(10):
            if surface.casefold() not in present:
                break
            surface = pool[rng.randrange(len(pool))]
        new, pairs = replace_spans(s, {(a, b): surface}, f"{s.id}#swap")
        changes = tuple(
            Change(old, s.surface(old), nw, new.surface(nw), "type_swap" if old.span == (a, b) else "enclosing",
                   f"train:{mem_label}" if old.span == (a, b) else None)
            for old, nw in pairs if old.span == (a, b) or s.surface(old) != new.surface(nw)
        )
        target = next(nw for old, nw in pairs if old.span == (a, b))
        meta = {"span": [target.start, target.end], "gold_label": gold.label, "memorized_label": mem_label,
                "train_count": int(sum(index.labels_of(surface).values()))}
        items.append(ProbeItem(new.id, s.id, new, changes, meta))
    params = {"min_count": min_count, "skipped_sentences": skipped,
              "candidates": {lab: len(v) for lab, v in sorted(candidates.items())}}
    problems = []
    if len(candidates) < 2:
        problems.append("type swaps need consistently labelled training entities of at least two types; "
                        f"found {len(candidates)}")
    return ProbeSet("type-swaps", seed, items, params, problems)


def _by_len(forms: list[str]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for f in forms:
        out[len(f.split())].append(f)
    return dict(out)


def swap_outcome(item: ProbeItem, predicted: Iterable[Entity]) -> str:
    """What a prediction did with the swapped entity: ``context`` (gold label on the span), ``memory`` (the
    memorized label), ``other`` (another label on the span) or ``missed`` (nothing on the span)."""
    a, b = item.meta["span"]
    labels = {e.label for e in predicted if (e.start, e.end) == (a, b)}
    if item.meta["gold_label"] in labels:
        return "context"
    if item.meta["memorized_label"] in labels:
        return "memory"
    return "other" if labels else "missed"
