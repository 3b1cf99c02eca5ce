"""The lookup baseline on real CoNLL-2003 (one normalization with the coverage index; the linear tagger equals the
window algorithm on CoNLL-2003, WNUT-17 and GENIA), and replay from LLaMA-Factory and nerprobe predictions files."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from nerprobe.data.conll import read_conll
from nerprobe.data.io import read_corpus
from nerprobe.data.model import Entity, Sentence, Token
from nerprobe.data.stats import normalize_mention
from nerprobe.errors import InputError
from nerprobe.formats import get_format
from nerprobe.formats.labels import LABEL_SETS
from nerprobe.models.lookup import LookupPredictor, sentence_tokens
from nerprobe.models.predictors import Predictor, Request
from nerprobe.models.replay import ReplayPredictor
from nerprobe.probes.coverage import SEEN_SAME, MentionIndex, get_normalizer


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
            counts[normalize_mention(s.surface(e))][e.label] += 1
    n_pred = n_correct = 0
    for s in test.sentences[:800]:
        for e in lookup.entities(s):
            text = normalize_mention(s.surface(e))
            assert text in counts  # only training mentions (casefolded, as the coverage index compares them)
            assert counts[text][e.label] == max(counts[text].values())  # with their majority label
            assert s.token_span(e) is not None  # on token boundaries
            n_pred += 1
            n_correct += e in set(s.entities)
    assert n_pred > 300
    # memorizing is often right on CoNLL, and never perfect (casefolded, "The" of "The Oval" fires on every "the")
    assert 0.3 < n_correct / n_pred < 1.0


# -- one normalization for the memorizer and the coverage index (issue 10, section 6) -------------------------------
def test_lookup_matches_what_the_index_calls_seen(conll):
    """Alone, every CoNLL-2003 test mention is found with its majority training label iff the index calls it seen
    (100%); in its sentence, every seen-same-label mention whose majority label is its own is found, unless a
    longer or earlier memorized mention overlaps it (the tagger is longest-match, left to right)."""
    train, test = conll
    index = MentionIndex(train.sentences)
    lookup = LookupPredictor.fit(train.sentences)
    seen_same = found = overlapped = 0
    for s in test:
        pred = lookup.entities(s)
        for e in s.entities:
            surface = s.surface(e)
            alone = lookup.entities(Sentence.from_tokens("x", surface.split(), []))
            if surface in index:
                assert [(a.start, a.end, a.label) for a in alone] == [(0, len(" ".join(surface.split())),
                                                                        index.majority_label(surface))], surface
            else:
                assert (0, len(" ".join(surface.split()))) not in {(a.start, a.end) for a in alone}
            if index.stratum(surface, e.label) != SEEN_SAME or index.majority_label(surface) != e.label:
                continue
            seen_same += 1
            if e in pred:
                found += 1
            else:
                assert any(p.start < e.end and e.start < p.end and p.span != e.span for p in pred), (s.text, surface)
                overlapped += 1
    assert seen_same > 2900 and found / seen_same > 0.99
    assert overlapped == seen_same - found


def test_lookup_case_sensitive_only_when_asked():
    train = [Sentence.from_tokens("a", ["JAPAN", "won"], [(0, 1, "LOC")])]
    test = Sentence.from_tokens("t", ["Japan", "and", "JAPAN"], [])
    assert [test.surface(e) for e in LookupPredictor.fit(train).entities(test)] == ["Japan", "JAPAN"]
    assert [test.surface(e) for e in LookupPredictor.fit(train, "exact").entities(test)] == ["JAPAN"]
    assert LookupPredictor.fit(train).fingerprint != LookupPredictor.fit(train, "exact").fingerprint
    with pytest.raises(InputError, match="unknown normalization"):
        LookupPredictor.fit(train, "nope")


# -- issue 15: the linear tagger gives the window algorithm's entities --------------------------------------------
def window_lookup(table: dict[str, str], normalize, sentence: Sentence) -> list[Entity]:
    """The reference: from each token every window of up to max_words tokens, longest first, its words joined by
    spaces and normalized, looked up in the table (the old tagger, with the index's normalization)."""
    max_words = max((len(k.split(" ")) for k in table), default=0)
    tokens = sentence_tokens(sentence)
    found, i = [], 0
    while i < len(tokens):
        for j in range(min(len(tokens), i + max_words), i, -1):
            label = table.get(normalize(" ".join(t.text for t in tokens[i:j])))
            if label is not None:
                found.append(Entity(tokens[i].start, tokens[j - 1].end, label))
                i = j
                break
        else:
            i += 1
    return found


def _corpus_pair(data_dir, corpus):
    if corpus == "conll2003":
        return (read_conll(data_dir / "conll2003" / n).sentences for n in ("train.txt", "test.txt"))
    if corpus == "wnut17":
        return (read_conll(data_dir / "wnut17" / n, scheme="iob2").sentences
                for n in ("wnut17train.conll", "emerging.test.annotated"))
    return (read_corpus(data_dir / "genia" / "nested_jsonl" / f"{n}.jsonlines").sentences for n in ("dev", "test"))


@pytest.mark.parametrize("corpus,normalize", [("conll2003", None), ("conll2003", "exact"), ("conll2003", "alnum"),
                                              ("wnut17", None), ("genia", None)])
def test_lookup_tagger_equals_normalized_windows(data_dir, corpus, normalize):
    train, test = _corpus_pair(data_dir, corpus)
    model = LookupPredictor.fit(train, normalize)
    norm = get_normalizer(normalize)
    sentences = list(test) + (list(train[:1500]) if normalize is None else [])
    for s in sentences:
        assert model.entities(s) == window_lookup(model.table, norm, s), s.text


def test_lookup_tagger_odd_tokens_equal_windows():
    """Empty tokens, tokens of spaces or holding spaces, upper and lower case: as the normalized windows."""
    import random

    table = {"a": "X", "a b": "Y", "a b c d": "Z", "b": "W", "c d": "V", "x y": "T"}
    rng = random.Random(0)
    words = ["a", "B", "c", "D", "", " ", "x y", "X", "y"]
    for normalize in (None, "exact", "whitespace", "alnum"):
        model = LookupPredictor(table, normalize)
        for _ in range(2000):
            toks, pos = [], 0
            for w in rng.choices(words, k=rng.randint(0, 9)):
                toks.append(Token(w, pos, pos + len(w)))
                pos += len(w) + 1
            s = Sentence("s", " " * pos, tuple(toks))
            assert model.entities(s) == window_lookup(table, get_normalizer(normalize), s), (normalize, toks)


def test_lookup_renders_any_format(conll):
    train, test = conll
    lookup = LookupPredictor.fit(train.sentences)
    assert isinstance(lookup, Predictor)
    sentences = test.sentences[1:30]
    for fmt in ("xml", "bracketed", "json"):
        reqs = [Request(s.id, s, fmt, LABEL_SETS["conll2003"], "", s.text) for s in sentences]
        outputs = lookup.predict(reqs, progress=False)
        parsed = [get_format(fmt).parse(o, s, labels=list(LABEL_SETS["conll2003"].names)) for o, s in zip(outputs, sentences)]
        if fmt == "json":  # position-free: the same (text, label) multiset; a repeated text may be placed elsewhere
            assert [Counter((s.surface(e), e.label) for e in p.entities) for p, s in zip(parsed, sentences)] == \
                [Counter((s.surface(e), e.label) for e in lookup.entities(s)) for s in sentences]
        else:
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
