"""Data of the two small tasks sized for the demo model, built from the demo corpus (``nerprobe.data.demo``).

- ``demo_entity_type`` (multiple choice): for every entity of a sentence, "what type is X in this sentence?", with
  the corpus's labels (as words) as choices.
- ``demo_completion`` (generative): the sentence up to its last entity mention (a non-empty prefix), to be continued
  with the mention; scored by exact match and token F1.

Test sentences are the items, dev sentences the few-shot pool. The files are JSON Lines that the task YAMLs read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from nerprobe.data.model import Sentence

#: Readable choice words for the usual labels; other labels are offered as they are.
LABEL_WORDS = {"PER": "person", "ORG": "organization", "LOC": "location", "MISC": "miscellaneous"}


def entity_type_items(sentences: Iterable[Sentence], labels: tuple[str, ...]) -> list[dict]:
    """One item per entity: ``{"id", "sentence", "mention", "choices", "answer"}`` (answer indexes choices)."""
    choices = [LABEL_WORDS.get(label, label) for label in labels]
    items = []
    for s in sentences:
        for k, e in enumerate(s.entities):
            items.append(
                {
                    "id": f"{s.id}-e{k}",
                    "sentence": s.text,
                    "mention": s.text[e.start : e.end],
                    "choices": choices,
                    "answer": labels.index(e.label),
                }
            )
    return items


def completion_items(sentences: Iterable[Sentence]) -> list[dict]:
    """One item per sentence whose last entity does not start it: ``{"id", "prefix", "target"}``."""
    items = []
    for s in sentences:
        if not s.entities:
            continue
        last = max(s.entities, key=lambda e: (e.start, e.end))
        prefix = s.text[: last.start].rstrip()
        if prefix:
            items.append({"id": s.id, "prefix": prefix, "target": s.text[last.start : last.end]})
    return items


def _write_jsonl(items: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")


def write_demo_task_data(out_dir: Path, seed: int = 0) -> list[Path]:
    """Write the test/dev JSONL files of both demo tasks into ``out_dir``; returns the paths written."""
    from nerprobe.data.demo import make_demo_corpus

    demo = make_demo_corpus(seed=seed)
    labels = tuple(demo.labels)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for split, sentences in (("test", list(demo.test)), ("dev", list(demo.dev))):
        for name, items in (
            ("demo_entity_type", entity_type_items(sentences, labels)),
            ("demo_completion", completion_items(sentences)),
        ):
            path = out_dir / f"{name}.{split}.jsonl"
            _write_jsonl(items, path)
            written.append(path)
    return written
