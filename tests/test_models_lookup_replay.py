"""The lookup baseline on real CoNLL-2003, and replay from LLaMA-Factory and nerprobe predictions files."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from nerprobe.data.conll import read_conll
from nerprobe.data.model import Sentence
from nerprobe.errors import InputError
from nerprobe.formats import get_format
from nerprobe.formats.labels import LABEL_SETS
from nerprobe.models.lookup import LookupPredictor
from nerprobe.models.predictors import Predictor, Request
from nerprobe.models.replay import ReplayPredictor


@pytest.fixture(scope="module")
def conll(data_dir):
    return read_conll(data_dir / "conll2003" / "train.txt"), read_conll(data_dir / "conll2003" / "test.txt")


def test_longest_match_on_token_boundaries_with_majority_label():
    train = [
        Sentence.from_tokens("a", ["New", "York", "City", "is", "big"], [(0, 3, "LOC")]),
        Sentence.from_tokens("b", ["New", "York", "wins"], [(0, 2, "ORG")]),
        Sentence.from_tokens("c", ["New", "York", "loses"], [(0, 2, "ORG")]),
        Sentence.from_tokens("d", ["in", "New", "York"], [(1, 3, "LOC")]),
        Sentence.from_tokens("e", ["Ann", "met", "Bob"], [(0, 1, "PER"), (2, 3, "PER")]),
    ]
    lookup = LookupPredictor.fit(train)
    test = Sentence.from_tokens("t", ["New", "York", "City", "and", "New", "York", "and", "Annex", "Bob"])
    got = [(test.surface(e), e.label) for e in lookup.entities(test)]
    # longest first; "New York" gets its majority ORG (2 vs 1); "Ann" does not match inside the token "Annex"
    assert got == [("New York City", "LOC"), ("New York", "ORG"), ("Bob", "PER")]
    # raw text without tokens: matched on whitespace tokens
    assert [e.label for e in lookup.entities(Sentence("u", "Bob and Ann"))] == ["PER", "PER"]


def test_lookup_on_conll2003_is_a_pure_memorizer(conll):
    train, test = conll
    lookup = LookupPredictor.fit(train.sentences)
    counts = defaultdict(Counter)
    for s in train:
        for e in s.entities:
            counts[s.surface(e)][e.label] += 1
    n_pred = n_correct = 0
    for s in test.sentences[:800]:
        for e in lookup.entities(s):
            text = s.surface(e)
            assert text in counts  # only training mentions
            assert counts[text][e.label] == max(counts[text].values())  # with their majority label
            assert s.token_span(e) is not None  # on token boundaries
            n_pred += 1
            n_correct += e in set(s.entities)
    assert n_pred > 300
    assert 0.5 < n_correct / n_pred < 1.0  # memorizing is often right on CoNLL, and never perfect


def test_lookup_renders_any_format(conll):
    train, test = conll
    lookup = LookupPredictor.fit(train.sentences)
    assert isinstance(lookup, Predictor)
    sentences = test.sentences[1:30]
    for fmt in ("xml", "bracketed", "json"):
        reqs = [Request(s.id, s, fmt, LABEL_SETS["conll2003"], "", s.text) for s in sentences]
        outputs = lookup.predict(reqs, progress=False)
        parsed = [get_format(fmt).parse(o, s, labels=list(LABEL_SETS["conll2003"].names)) for o, s in zip(outputs, sentences)]
        assert [set(p.entities) for p in parsed] == [set(lookup.entities(s)) for s in sentences]


def _requests(n=4):
    ss = [Sentence.from_tokens(f"x-{i}", ["EU", "rejects", "German", "call", str(i)]) for i in range(n)]
    return [Request(s.id, s, "xml", LABEL_SETS["conll2003"], "Tag the entities.", s.text) for s in ss]


def test_replay_llamafactory_prompts_in_chat_template(tmp_path):
    reqs = _requests()
    path = tmp_path / "generated_predictions.jsonl"
    with path.open("w") as fh:
        for i, r in enumerate(reversed(reqs)):  # other order, no ids, prompt wrapped in a template
            prompt = f"<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n{r.prompt}<|im_end|>\n<|im_start|>assistant\n"
            fh.write(json.dumps({"prompt": prompt, "predict": f"out {r.id}", "label": "gold"}) + "\n")
    replay = ReplayPredictor(path)
    assert replay.predict(reqs, progress=False) == [f"out {r.id}" for r in reqs]
    assert replay.fingerprint.startswith("replay:")


def test_replay_nerprobe_predictions_by_id_and_missing_items(tmp_path):
    reqs = _requests()
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps({"id": r.id, "prompt": "other", "output": r.id.upper()}) + "\n" for r in reqs[:3]))
    replay = ReplayPredictor(path)
    assert replay.predict(reqs[:3], progress=False) == ["X-0", "X-1", "X-2"]
    with pytest.raises(InputError, match="1 of 4 requests have no prediction .*x-3"):
        replay.predict(reqs, progress=False)
