"""Which demo test sentences the tiny base is pretrained on (issue 16 §2): chosen here, in the data layer, so that
the model recipe (``models.tiny``) and the ``exposure`` probe share one choice without the models importing a probe.

``planted_test_ids`` returns ids (sorted), ``planted_texts`` their texts in id order.
"""

from __future__ import annotations

import random

PLANTED_SHARE = 0.5


def planted_test_ids(seed: int = 0, share: float = PLANTED_SHARE, corpus_seed: int = 0) -> list[str]:
    """The ids of the demo test sentences to plant into the tiny base's pretraining: ``share`` of them, drawn
    within each stratum of ``meta["seen"]`` (seen and unseen names alike) with ``random.Random(f"planted:{seed}")``,
    sorted. The other test sentences stay unexposed: the probe must find the planted ones and leave the rest at
    chance (except a sentence whose text repeats a planted one's: the demo test set repeats a few texts)."""
    from nerprobe.data.demo import make_demo_corpus

    test = list(make_demo_corpus(seed=corpus_seed, nested=False).test)
    rng = random.Random(f"planted:{seed}")
    out: list[str] = []
    for stratum in (True, False):
        ids = sorted(s.id for s in test if bool(s.meta.get("seen")) is stratum)
        out += rng.sample(ids, round(share * len(ids)))
    return sorted(out)


def planted_texts(seed: int = 0, share: float = PLANTED_SHARE, corpus_seed: int = 0) -> list[str]:
    """The texts of ``planted_test_ids`` (what a pretraining recipe adds as plain documents), in id order."""
    from nerprobe.data.demo import make_demo_corpus

    ids = set(planted_test_ids(seed, share, corpus_seed))
    return [s.text for s in make_demo_corpus(seed=corpus_seed, nested=False).test if s.id in ids]
