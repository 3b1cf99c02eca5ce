"""A held-out split of the demo with fresh names, to fit the learned controls on (form-only, context-window).

``make_demo_corpus`` has a ``dev`` split, but it draws from the *seen* pool: its names are training names, so a
control fitted on it would know the very pairs the probes count. ``make_demo_dev(seed, nested)`` builds sentences
from the same ``TEMPLATES`` (so the contexts are the demo's) with names from hand-made lists of its own: first
names, last names, organisation stems and locations that occur nowhere in ``nerprobe.data.demo`` (only the
organisation suffixes "Corp", "Bank", ... and the nested patterns "Bank of {}" are shared, as name *form* is). No
name, and no word of a name other than those suffixes and pattern words, is in the demo's train or test.

This lives in its own module, not in ``nerprobe.data.demo``: the tiny model's cache key hashes the source of that
module, and the demo's train/test must stay byte-identical. Deterministic per ``(seed, nested)``; the lists are
hand-made so that no library version changes them.
"""

from __future__ import annotations

import random

from nerprobe.data import demo
from nerprobe.data.model import Corpus

N_DEMO_DEV = 240

FRESH_FIRST_NAMES = (
    "Aldo Brigit Celia Darius Edith Felix Gemma Hugo Irene Jasper Katya Leon Mira Nils Oscar Petra Rafael Selma "
    "Theo Uma Vera Wilhelm Yusuf Zora Anton Bianca Conrad Delia Esther Flora Gideon Helga Ivo Jana Kai Linus Milan "
    "Nora Otto Paula"
).split()
FRESH_LAST_NAMES = (
    "Andersen Bauer Carvalho Dietrich Esposito Fontaine Gruber Holm Ionescu Jovanovic Kaplan Larsen Mendes Nyberg "
    "Olsen Pereira Quist Richter Santos Takahashi Ueda Vogel Wagner Young Zimmer Acosta Blom Conti Dahl Evans Falk "
    "Gomez Hofer Iqbal Jung Kruger Lund Marino Ortega Pauls"
).split()
FRESH_ORG_STEMS = (
    "Altamar Borealis Cascadia Driftwood Everon Falcrest Glenmoor Highpoint Ironvale Junova Kelvark Larkspur "
    "Mistral Northgate Oakridge Pinnacle Quillon Redwater Silvanta Trivex Umbra Valtor Westmark Xylon Yarrow "
    "Zephyra Amberly Bluestone Coralis Deltaris"
).split()
FRESH_LOCATIONS = (
    "Vienna Prague Madrid Hamburg Munich Zurich Basel Helsinki Stockholm Warsaw Budapest Athens Naples Florence "
    "Marseille Bordeaux Rotterdam Bruges Edinburgh Glasgow Cardiff Belfast Reykjavik Vilnius Sofia Bucharest "
    "Belgrade Sarajevo Skopje Tirana Valletta Nicosia Ankara Tbilisi Yerevan Baku Almaty Tashkent Hanoi Manila"
).split()


def fresh_pool(seed: int = 0) -> dict[str, tuple[str, ...]]:
    """Names per label (PER "First Last", ORG "Stem Suffix", LOC) from the fresh lists only (deterministic)."""
    rng = random.Random(f"nerprobe-demo-fresh-pool-{seed}")
    pairs = [f"{f} {l}" for f in FRESH_FIRST_NAMES for l in FRESH_LAST_NAMES]
    rng.shuffle(pairs)
    return {
        "PER": tuple(sorted(pairs[: 2 * len(FRESH_LAST_NAMES)])),
        "ORG": tuple(sorted(f"{s} {rng.choice(demo.ORG_SUFFIXES)}" for s in FRESH_ORG_STEMS)),
        "LOC": tuple(sorted(FRESH_LOCATIONS)),
    }


def make_demo_dev(seed: int = 0, nested: bool = False, n: int = N_DEMO_DEV) -> Corpus:
    """``n`` demo-template sentences whose names all come from ``fresh_pool(seed)``: a held-out mention source.

    Returns a Corpus (source ``demo:<flat|nested>:fresh-dev:seed=<seed>``); ids ``demo-<variant>-fresh-dev-<i>``,
    ``meta`` holds ``template`` and ``variant``. With ``nested`` about ``demo.NESTED_ORG_SHARE`` of the ORG slots are
    nested patterns around a fresh location, as in the nested demo.
    """
    rng = random.Random(f"nerprobe-demo-fresh-dev-{seed}-{int(nested)}")
    pool = fresh_pool(seed)
    variant = "nested" if nested else "flat"
    sentences = []
    for i in range(n):
        t_idx = rng.randrange(len(demo.TEMPLATES))
        names = demo._draw_names(demo.TEMPLATES[t_idx], pool, rng, nested)
        meta = {"template": t_idx, "variant": variant}
        sentences.append(demo._fill(demo.TEMPLATES[t_idx], names, f"demo-{variant}-fresh-dev-{i}", meta))
    return Corpus(sentences, source=f"demo:{variant}:fresh-dev:seed={seed}")
