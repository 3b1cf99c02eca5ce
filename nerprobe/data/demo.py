"""A synthetic NER corpus that nerprobe generates from its own templates and name pools, for the demo and tests.

``make_demo_corpus(seed=0, nested=False)`` returns a ``DemoCorpus`` with train/dev/test splits over the labels
PER, ORG and LOC. Every dev and test sentence comes from a ``Template`` whose context makes the type of each slot
inferable ("{PER} said on Monday ...", "shares of {ORG} rose ...", "in {LOC} on Friday ..."), so that a context-only
predictor can work; ``TEMPLATES`` exposes them, each with its slot types and a regex that captures the slots. Most
train sentences do too (the exceptions are below).

Seen and unseen entities. The names of each type are split into two disjoint pools. Train and dev draw only from the
*seen* pool. Test sentences are of two kinds, recorded in ``sentence.meta["seen"]``:

- ``seen=True``: every entity is a name that occurs in the train split (same label);
- ``seen=False``: every entity comes from the *unseen* pool, never in train or dev.

Where only a name tells its type (train only). Real training data is not all typed by its context: list lines
hold a name alone, and a name can stand in a context typical of another type (metonymy: a city that "said", a company
"in" which something happened) and keep its own label. The train split holds both, so that knowing the names pays
there and nowhere else (a model tuned on it with its names can memorize them; one tuned with fresh names cannot):

- ``N_NAME_LINES`` list lines (``meta["name_line"]``, ``meta["template"]`` None): a seen name alone, the labels in
  turn;
- ``CROSS_CONTEXT_SHARE`` of the template sentences (``meta["cross_context"]``: the slot index) have one slot filled
  with a seen name of another type, labelled with its own type.

Half of the ORG stems are used alone (``SINGLE_WORD_ORG_SHARE``: "Veltra", shaped like a location), so that the
form of a name does not always tell its type either. Dev and test sentences are all typed by their template, so the
context-only predictor tags every one of them right.

``TEST_SEEN_SHARE`` (0.5) of the test sentences are seen, the rest unseen; ``DemoCorpus.seen_share`` records the
realized share. The nested variant (``nested=True``) also builds organisations around a location
("Bank of Lisbon": ORG over the whole span, LOC inside it) in about ``NESTED_ORG_SHARE`` of the ORG slots; the
location of such an ORG follows the pool of its sentence (seen or unseen).

Deterministic per seed: the output depends only on ``seed``, ``nested`` and the constants of this module (the name
pools are hand-made lists, so no library version can change them).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cached_property

from nerprobe.data.model import Corpus, Sentence

LABELS = ("PER", "ORG", "LOC")
N_TRAIN = 480
N_DEV = 60
N_TEST = 200
TEST_SEEN_SHARE = 0.5
NESTED_ORG_SHARE = 0.5
UNSEEN_POOL_SHARE = 0.4  # share of each name list held out as the unseen pool
SINGLE_WORD_ORG_SHARE = 0.5  # share of ORG stems used alone ("Veltra"), shaped like a location
N_NAME_LINES = 48  # train sentences that are a name alone (a list line), within N_TRAIN
CROSS_CONTEXT_SHARE = 0.12  # train sentences with one name in a context typical of another type (keeps its label)

# ---- name pools (hand-made, so that the corpus is the same with every library version) --------------------------
FIRST_NAMES = (
    "Alice Bruno Carla Dmitri Elena Farid Greta Hiro Ines Jonas Kira Lars Maya Nikolai Olga Pedro Quinn Rosa Sven "
    "Tomas Ulla Victor Wanda Xavier Yara Zoltan Amir Bea Cyril Dora Emil Fiona Gustav Hana Igor Julia Karim Lena "
    "Marco Nadia"
).split()
LAST_NAMES = (
    "Almeida Berger Castillo Dubois Eriksen Fischer Garcia Hansen Ivanova Jensen Kowalski Lindqvist Moreau Novak "
    "Okafor Petrov Quiroga Rossi Schmidt Tanaka Umarov Varga Weber Xu Yilmaz Zeller Abbott Brennan Costa Delgado "
    "Engel Ferreira Gallo Horvat Ibsen Janssen Keller Lorenz Maier Nilsson"
).split()
ORG_STEMS = (
    "Norland Veltra Orbis Calder Brightway Kestrel Solvane Tramco Meridian Halvex Quorra Dunmore Axion Pellar "
    "Ravenna Stellis Corvex Lumina Tessaro Granvik Ostara Belmont Zenturo Fairhold Cobalto Vireo Marlow Ardent "
    "Nexora Holt"
).split()
ORG_SUFFIXES = ("Corp", "Group", "Holdings", "Systems", "Airlines", "Bank", "Motors", "Energy")
LOCATIONS = (
    "Lisbon Oslo Kyoto Lima Nairobi Quito Porto Dakar Bergen Tallinn Riga Valencia Krakow Seville Toulouse "
    "Geneva Malmo Turin Leipzig Bilbao Antwerp Dublin Zagreb Ghent Salzburg Lyon Brno Cork Tampere Utrecht "
    "Coimbra Aarhus Split Graz Trieste Kaunas Bologna Nantes Gdansk Ljubljana"
).split()
# nested ORG patterns: ``{}`` is the location inside the organisation name
NESTED_ORG_PATTERNS = ("Bank of {}", "University of {}", "{} City Council", "{} Football Club", "Port of {}")


@dataclass(frozen=True)
class Template:
    """A sentence pattern whose context tells the type of each slot.

    ``text`` is whitespace-tokenized text with slots ``{PER}``, ``{ORG}``, ``{LOC}`` (a type may repeat).
    ``slots`` gives the slot types in order of appearance; ``regex`` matches a sentence made from the template
    and captures slot ``i`` in group ``s<i>``.
    """

    text: str

    @cached_property
    def slots(self) -> tuple[str, ...]:
        """The slot types, in order of appearance."""
        return tuple(re.findall(r"\{(PER|ORG|LOC)\}", self.text))

    @cached_property
    def regex(self) -> re.Pattern:
        """A compiled regex over a sentence text; group ``s<i>`` is slot ``i``."""
        parts = re.split(r"\{(?:PER|ORG|LOC)\}", self.text)
        pattern = re.escape(parts[0])
        for i, part in enumerate(parts[1:]):
            pattern += f"(?P<s{i}>.+?)" + re.escape(part)
        return re.compile("^" + pattern + "$")


TEMPLATES: tuple[Template, ...] = tuple(
    Template(t)
    for t in (
        # PER contexts
        "{PER} said on Monday that the talks would continue .",
        "Minister {PER} told reporters the plan was ready .",
        "{PER} , a spokeswoman , declined to comment .",
        "Coach {PER} praised the young players .",
        "According to {PER} , the deal was signed last week .",
        "{PER} scored twice in the second half .",
        # ORG contexts
        "Shares of {ORG} rose 3 percent on Tuesday .",
        "{ORG} reported a quarterly profit of 40 million dollars .",
        "Analysts expect {ORG} to cut jobs this year .",
        "The board of {ORG} approved the merger .",
        "{ORG} said its chief executive would step down .",
        # LOC contexts
        "Heavy rain fell in {LOC} on Friday .",
        "The summit will be held in {LOC} next month .",
        "Police in {LOC} arrested two men .",
        "Flights to {LOC} were cancelled because of the storm .",
        "Thousands of tourists visited {LOC} this summer .",
        # mixed contexts
        "{PER} said on Monday that {ORG} would open an office in {LOC} .",
        "{PER} flew to {LOC} to meet the board of {ORG} .",
        "Shares of {ORG} fell after {PER} resigned .",
        "{ORG} will build a factory in {LOC} , {PER} said .",
        "Police in {LOC} questioned {PER} on Sunday .",
        "The train from {LOC} to {LOC} was delayed .",
        "{PER} met {PER} in {LOC} on Thursday .",
        "{ORG} and {ORG} agreed to merge .",
    )
)


@dataclass(frozen=True)
class NamePools:
    """Disjoint seen/unseen pools of entity names per label (and the location pools nested ORGs are built on)."""

    seen: dict[str, tuple[str, ...]]
    unseen: dict[str, tuple[str, ...]]


@dataclass
class DemoCorpus:
    """The demo corpus: three splits, the pools it was drawn from and the realized share of seen test sentences.

    ``test`` sentences carry ``meta["seen"]`` (True: all entities occur in train with the same label; False: all come
    from the unseen pool) and ``meta["template"]`` (the index into ``TEMPLATES``). ``seen_share`` is the realized
    share of seen test sentences (``TEST_SEEN_SHARE`` up to rounding).
    """

    train: Corpus
    dev: Corpus
    test: Corpus
    pools: NamePools
    seed: int
    nested: bool
    templates: tuple[Template, ...] = TEMPLATES
    labels: tuple[str, ...] = LABELS
    seen_share: float = field(default=TEST_SEEN_SHARE)

    def test_seen(self) -> list[Sentence]:
        """The test sentences whose entities all occur in train."""
        return [s for s in self.test if s.meta.get("seen")]

    def test_unseen(self) -> list[Sentence]:
        """The test sentences whose entities all come from the unseen pool."""
        return [s for s in self.test if not s.meta.get("seen")]


def _split_pool(names, rng: random.Random) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = list(dict.fromkeys(names))
    rng.shuffle(names)
    k = int(round(len(names) * UNSEEN_POOL_SHARE))
    return tuple(sorted(names[k:])), tuple(sorted(names[:k]))


def make_pools(seed: int = 0) -> NamePools:
    """Split the hand-made name lists into disjoint seen/unseen pools per label (deterministic per seed).

    PER names are "First Last" pairs; the first *and* last names of the two pools are disjoint. ORG names are
    "Stem Suffix"; stems are disjoint. LOC names are split as they are.
    """
    rng = random.Random(f"nerprobe-demo-pools-{seed}")
    first_seen, first_unseen = _split_pool(FIRST_NAMES, rng)
    last_seen, last_unseen = _split_pool(LAST_NAMES, rng)
    stem_seen, stem_unseen = _split_pool(ORG_STEMS, rng)
    loc_seen, loc_unseen = _split_pool(LOCATIONS, rng)

    def people(firsts, lasts):
        pairs = [f"{f} {l}" for f in firsts for l in lasts]
        rng.shuffle(pairs)
        return tuple(sorted(pairs[: 2 * len(lasts)]))

    def orgs(stems):
        return tuple(sorted(s if rng.random() < SINGLE_WORD_ORG_SHARE else f"{s} {rng.choice(ORG_SUFFIXES)}"
                            for s in stems))

    seen = {"PER": people(first_seen, last_seen), "ORG": orgs(stem_seen), "LOC": loc_seen}
    unseen = {"PER": people(first_unseen, last_unseen), "ORG": orgs(stem_unseen), "LOC": loc_unseen}
    return NamePools(seen=seen, unseen=unseen)


def _fill(template: Template, names: list[tuple[str, str | None]], sid: str, meta: dict,
          labels: list[str] | None = None) -> Sentence:
    """Build the sentence of ``template`` with ``names`` (``(surface, inner_location or None)`` per slot), each
    labelled with its slot type or, when given, with ``labels`` (one per slot)."""
    words: list[str] = []
    spans: list[tuple[int, int, str]] = []
    slot_iter = iter(zip(labels or template.slots, names))
    for word in template.text.split():
        m = re.fullmatch(r"\{(PER|ORG|LOC)\}", word)
        if not m:
            words.append(word)
            continue
        label, (surface, inner) = next(slot_iter)
        start = len(words)
        name_words = surface.split()
        words.extend(name_words)
        spans.append((start, len(words), label))
        if inner is not None:
            inner_words = inner.split()
            for k in range(len(name_words) - len(inner_words) + 1):
                if name_words[k : k + len(inner_words)] == inner_words:
                    spans.append((start + k, start + k + len(inner_words), "LOC"))
                    break
    return Sentence.from_tokens(sid, words, spans, meta=meta)


def _inner_location(org: str) -> str | None:
    """The location inside a nested organisation name ("Bank of Lisbon" -> "Lisbon"), or None."""
    for pattern in NESTED_ORG_PATTERNS:
        m = re.fullmatch(re.escape(pattern).replace(r"\{\}", "(.+)"), org)
        if m and m.group(1) in LOCATIONS:
            return m.group(1)
    return None


def _draw_names(template: Template, pool: dict[str, tuple[str, ...]], rng: random.Random, nested: bool):
    """One name per slot, distinct within the sentence; nested ORGs as ``(surface, inner_location)``."""
    chosen: list[tuple[str, str | None]] = []
    used: set[str] = set()
    for label in template.slots:
        while True:
            if label == "ORG" and nested and rng.random() < NESTED_ORG_SHARE:
                loc = rng.choice(pool["LOC"])
                name, inner = rng.choice(NESTED_ORG_PATTERNS).format(loc), loc
            else:
                name = rng.choice(pool[label])
                inner = _inner_location(name) if label == "ORG" else None
            if name not in used and (inner is None or inner not in used):
                break
        used.add(name)
        if inner is not None:
            used.add(inner)
        chosen.append((name, inner))
    return chosen


def make_demo_corpus(seed: int = 0, nested: bool = False) -> DemoCorpus:
    """Generate the demo corpus (train ``N_TRAIN``, dev ``N_DEV``, test ``N_TEST`` sentences) for ``seed``.

    Returns a ``DemoCorpus``; see the module docstring for the seen/unseen design. ``nested=True`` adds nested
    ORG-over-LOC entities.
    """
    rng = random.Random(f"nerprobe-demo-{seed}-{int(nested)}")
    pools = make_pools(seed)
    variant = "nested" if nested else "flat"

    def make(
        split: str, n: int, pool: dict, seen: bool | None, offset: int = 0, build_nested: bool = nested
    ) -> list[Sentence]:
        out = []
        for i in range(n):
            t_idx = rng.randrange(len(TEMPLATES))
            names = _draw_names(TEMPLATES[t_idx], pool, rng, build_nested)
            meta = {"template": t_idx, "variant": variant}
            if seen is not None:
                meta["seen"] = seen
            labels = list(TEMPLATES[t_idx].slots)
            if split == "train" and rng.random() < CROSS_CONTEXT_SHARE:
                k = rng.randrange(len(labels))
                other = rng.choice([lab for lab in LABELS if lab != labels[k]])
                used = {n for n, _ in names} | {n for _, n in names if n}
                name = rng.choice([n for n in pool[other] if n not in used])
                names[k] = (name, _inner_location(name) if other == "ORG" else None)
                labels[k] = other
                meta["cross_context"] = k
            out.append(_fill(TEMPLATES[t_idx], names, f"demo-{variant}-{split}-{offset + i}", meta, labels))
        return out

    train = make("train", N_TRAIN - N_NAME_LINES, pools.seen, None)
    for i in range(N_NAME_LINES):  # list lines: a name alone, typed by nothing but the name itself
        label = LABELS[i % len(LABELS)]
        name = rng.choice(pools.seen[label])
        train.append(Sentence.from_tokens(f"demo-{variant}-train-{N_TRAIN - N_NAME_LINES + i}", name.split(),
                                          [(0, len(name.split()), label)],
                                          meta={"template": None, "variant": variant, "name_line": True}))
    dev = make("dev", N_DEV, pools.seen, None)
    # the seen pool of the test: exactly the names (with their labels) that occur in train
    in_train: dict[str, set[str]] = {label: set() for label in LABELS}
    for s in train:
        for e in s.entities:
            in_train[e.label].add(s.surface(e))
    seen_pool = {label: tuple(sorted(names)) for label, names in in_train.items()}
    train_texts = {s.text for s in train}
    n_seen = int(round(N_TEST * TEST_SEEN_SHARE))
    test: list[Sentence] = []
    while len(test) < n_seen:  # seen sentences that are not verbatim train sentences
        # names are drawn from train's own mentions (nested ORGs included), so no new nested ORG is built here
        cand = make("test", 1, seen_pool, True, offset=len(test), build_nested=False)[0]
        if cand.text not in train_texts and all(cand.surface(e) in in_train[e.label] for e in cand.entities):
            test.append(cand)
    test += make("test", N_TEST - n_seen, pools.unseen, False, offset=n_seen)
    return DemoCorpus(
        train=Corpus(train, source=f"demo:{variant}:train:seed={seed}"),
        dev=Corpus(dev, source=f"demo:{variant}:dev:seed={seed}"),
        test=Corpus(test, source=f"demo:{variant}:test:seed={seed}"),
        pools=pools,
        seed=seed,
        nested=nested,
        seen_share=n_seen / N_TEST,
    )
