"""The fast paths of issue 15 give the results of the straightforward code they replaced, on real corpora.

Each test writes the old algorithm out plainly (the reference) and compares: CoNLL reading (CoNLL-2003, WNUT-17),
the lookup tagger's longest-match windows (CoNLL-2003, WNUT-17, GENIA), finding a sentence in its chat-templated
prompt (LLMs4NER CoNLL-2003 and GENIA prompts), ``squash``, and Holm's adjustment against statsmodels.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict

import pytest

from nerprobe.analysis.pairing import find_input, squash, squashed
from nerprobe.data.conll import _make_token, read_conll
from nerprobe.data.io import read_corpus
from nerprobe.data.model import Sentence, Token
from nerprobe.models.lookup import LookupPredictor, mention_key, sentence_tokens


# -- references: the code as it was -------------------------------------------------------------------------------
def reference_read_conll(path, scheme: str) -> list[Sentence]:
    """Line by line, tag by tag: blank lines end sentences, -DOCSTART- starts a document, IOB1 or IOB2 decoding."""
    stem = path.stem
    sentences, rows, doc_k, doc_id, k = [], [], -1, None, 0

    def flush():
        nonlocal rows, k
        if rows:
            words, tags = [r[0] for r in rows], [r[-1] for r in rows]
            spans, start, typ = [], None, ""
            for i, tag in enumerate(tags + ["O"]):
                p, t = ("O", "") if tag == "O" else (tag[0], tag[2:])
                continues = p == "I" and start is not None and t == typ
                if continues:
                    continue
                if scheme == "iob2" and p == "I":
                    raise AssertionError(f"bad IOB2 in {path}")
                if start is not None:
                    spans.append((start, i, typ))
                start, typ = (i, t) if p != "O" else (None, "")
            meta = {"columns": [tuple(r[1:-1]) for r in rows]} if len(rows[0]) > 2 else {}
            sentences.append(Sentence.from_tokens(f"{stem}-{k}", words, spans, doc_id=doc_id, meta=meta))
            k += 1
        rows = []

    for line in path.read_text(encoding="utf-8").split("\n"):
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
        rows.append(cols)
    flush()
    return sentences


def reference_lookup(table: dict[str, str], sentence: Sentence, max_words: int | None = None, normalize=None):
    """Every window of up to max_words tokens from each position, longest first (the old lookup tagger), keys
    looked up under the memorizer's ``normalize``."""
    from nerprobe.data.model import Entity

    if max_words is None:
        max_words = max((len(k.split(" ")) for k in table), default=0)
    tokens = sentence_tokens(sentence)
    found, i = [], 0
    while i < len(tokens):
        hit = None
        for j in range(min(len(tokens), i + max_words), i, -1):
            window = " ".join(t.text for t in tokens[i:j])
            label = table.get(normalize(window) if normalize else window)
            if label is not None:
                hit = (j, Entity(tokens[i].start, tokens[j - 1].end, label))
                break
        if hit:
            i = hit[0]
            found.append(hit[1])
        else:
            i += 1
    return found


def reference_squash(text: str):
    """Character by character (the old ``squash``)."""
    chars, index = [], []
    for i, c in enumerate(text):
        if not c.isspace():
            low = c.lower()
            chars.append(low if len(low) == 1 else c)
            index.append(i)
    return "".join(chars), index


def reference_find_input(gold_text: str, prompt: str):
    """The whole prompt squashed character by character, the last match mapped back (the old ``find_input``)."""
    sq_g, _ = reference_squash(gold_text)
    sq_p, idx_p = reference_squash(prompt)
    if not sq_g:
        return None
    k = sq_p.rfind(sq_g)
    if k < 0:
        return None
    return prompt[idx_p[k] : idx_p[k + len(sq_g) - 1] + 1]


def _same_sentences(a: list[Sentence], b: list[Sentence]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.id, x.text, x.tokens, x.entities, x.doc_id) == (y.id, y.text, y.tokens, y.entities, y.doc_id)
        assert x.meta == y.meta


# -- reading --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rel,scheme", [("conll2003/train.txt", "auto"), ("conll2003/test.txt", "auto"),
                                        ("wnut17/wnut17train.conll", "iob2"), ("wnut17/emerging.test.annotated",
                                                                                "iob2")])
def test_read_conll_equals_reference(data_dir, rel, scheme):
    path = data_dir / rel
    _same_sentences(read_conll(path, scheme=scheme).sentences, reference_read_conll(path, scheme))


def test_read_conll_fast_and_general_paths_agree(data_dir, tmp_path):
    """A tab anywhere sends the file through the line-by-line loop: same sentences as the fast path."""
    text = (data_dir / "conll2003" / "test.txt").read_text(encoding="utf-8")
    fast = read_conll(data_dir / "conll2003" / "test.txt")
    tabbed = tmp_path / "test.txt"
    tabbed.write_text(text.replace(" ", "\t"), encoding="utf-8")
    _same_sentences(fast.sentences, read_conll(tabbed).sentences)
    crlf = tmp_path / "crlf" / "test.txt"
    crlf.parent.mkdir()
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    _same_sentences(fast.sentences, read_conll(crlf).sentences)


@pytest.mark.parametrize("variant", ["crlf", "double_space", "trailing_space", "lone_cr", "nbsp", "docstart_short",
                                     "blank_spaces", "no_final_newline"])
def test_read_conll_odd_layouts_agree_with_reference(data_dir, tmp_path, variant):
    """Layouts the flat fast path must refuse or read the same: each read equals the line-by-line reference."""
    text = (data_dir / "conll2003" / "test.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    k = 40  # a token line
    assert lines[k].strip()
    if variant == "crlf":
        lines = [ln + "\r" for ln in lines]
    elif variant == "double_space":
        lines[k] = lines[k].replace(" ", "  ", 1)
    elif variant == "trailing_space":
        lines[k] += " "
    elif variant == "lone_cr":
        lines[k] = lines[k].replace(" ", "\r", 1)
    elif variant == "nbsp":  # a token holding a no-break space is two fields to str.split
        lines[k] = "X\u00a0" + lines[k]
    elif variant == "docstart_short":
        lines[0] = "-DOCSTART-"
    elif variant == "blank_spaces":
        blank = next(i for i, ln in enumerate(lines) if not ln)
        lines[blank] = "   "
    elif variant == "no_final_newline":
        while not lines[-1]:
            lines.pop()
    path = tmp_path / "test.txt"
    path.write_text("\n".join(lines), encoding="utf-8", newline="")
    if variant == "nbsp":  # one more column on one line: refused, the line named
        with pytest.raises(Exception, match=r"test.txt:41"):
            read_conll(path)
        return
    got = read_conll(path).sentences
    _same_sentences(got, _general_read_conll(path))
    if variant != "lone_cr":  # the reference reads text with universal newlines: a lone CR ends its line
        _same_sentences(got, reference_read_conll(path, "auto"))


@pytest.mark.parametrize("variant", ["glued", "twice", "mid_sentence", "last", "first_line_of_block", "only_docs"])
def test_read_conll_docstart_placements_agree_with_line_loop(data_dir, tmp_path, variant):
    """-DOCSTART- lines where a blank line does not separate them (right after another, inside a sentence, at the
    very end, glued to the next sentence): the fast path cuts sentences and counts documents as the line loop does
    (the same sentences, ids, doc ids and first lines)."""
    text = (data_dir / "conll2003" / "test.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    doc = "-DOCSTART- -X- -X- O"
    assert lines[0] == doc and lines[1] == ""
    k = next(i for i in range(10, len(lines)) if lines[i] and lines[i + 1])  # a line with a token line after it
    if variant == "glued":
        del lines[1]
    elif variant == "twice":
        lines.insert(1, doc)
    elif variant == "mid_sentence":
        lines.insert(k + 1, doc)
    elif variant == "last":
        lines += [doc]
    elif variant == "first_line_of_block":
        lines[k - 1 : k - 1] = ["", doc]
    elif variant == "only_docs":
        lines = [doc, "", doc, doc, "", "EU NNP B-NP B-ORG", doc, "rejects VBZ B-VP O", ""]
    path = tmp_path / "test.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    fast = _fast_outcome(path)
    general = _general_outcome(path)
    assert not isinstance(fast, str) and not isinstance(general, str)
    _same_sentences(fast[0], general[0])
    assert [s.doc_id for s in fast[0]] == [s.doc_id for s in general[0]] and len(fast[0]) > 1
    # the lines named in errors: every sentence with an entity is refused under IOBES, its line in the message
    fast, general = _fast_outcome(path, "iobes", -1, True), _general_outcome(path, "iobes", -1, True)
    assert fast[1] == general[1] and fast[1]
    from nerprobe.data import conll

    assert conll._read_fast(str(path), path.read_text(encoding="utf-8"), path.stem, "auto", -1, False) is not None


def _general_read_conll(path) -> list[Sentence]:
    """``read_conll`` through its line-by-line loop only (the path every file took before the fast path)."""
    from nerprobe.data import conll

    data = path.read_bytes()
    grouped = conll._group_lines(str(path), path.stem, conll._decode_lines(str(path), data, False), -1, False)
    return conll._decode_sentences(str(path), path.stem, *grouped, "auto", -1, False).sentences


def _general_outcome(path, scheme="auto", tag_column=-1, lenient=False):
    """What the line-by-line loop makes of ``path``: (sentences, skipped) or the error's text."""
    from nerprobe.data import conll
    from nerprobe.errors import InputError

    data = path.read_bytes()
    try:
        grouped = conll._group_lines(str(path), path.stem, conll._decode_lines(str(path), data, lenient), tag_column,
                                     lenient)
        corpus = conll._decode_sentences(str(path), path.stem, *grouped, conll.normalize_scheme(scheme), tag_column,
                                         lenient)
    except InputError as err:
        return str(err)
    return corpus.sentences, corpus.skipped


def _fast_outcome(path, scheme="auto", tag_column=-1, lenient=False):
    from nerprobe.errors import InputError

    try:
        corpus = read_conll(path, scheme=scheme, tag_column=tag_column, lenient=lenient)
    except InputError as err:
        return str(err)
    return corpus.sentences, corpus.skipped


@pytest.mark.parametrize("rel", ["conll2003/train.txt", "conll2003/valid.txt", "conll2003/test.txt",
                                 "wnut17/wnut17train.conll", "wnut17/emerging.dev.conll",
                                 "wnut17/emerging.test.annotated"])
@pytest.mark.parametrize("scheme,tag_column,lenient", [("auto", -1, False), ("iob2", -1, False), ("iob2", -1, True),
                                                       ("iobes", -1, True), ("iobes", -1, False), ("auto", 2, False),
                                                       ("auto", 1, True)])
def test_read_conll_fast_path_equals_line_loop(data_dir, rel, scheme, tag_column, lenient):
    """The flat fast path (sentences decoded as they are cut) against the line-by-line loop on real files: the same
    sentences and skipped messages, or the same error (the line of the first bad tag under IOB2/IOBES, CoNLL-2003's
    chunk column refused, a column that holds no tags)."""
    path = data_dir / rel
    if tag_column != -1 and "conll2003" not in rel:
        pytest.skip("WNUT-17 has two columns")
    fast = _fast_outcome(path, scheme, tag_column, lenient)
    general = _general_outcome(path, scheme, tag_column, lenient)
    if isinstance(general, str) or isinstance(fast, str):
        assert fast == general
        return
    _same_sentences(fast[0], general[0])
    assert fast[1] == general[1]


def _old_decode_tags(tags: list[str], scheme: str) -> list[tuple[int, int, str]]:
    """The token-by-token IOB1/IOB2 decoder every tag went through before (reference for ``decode_tags``)."""
    from nerprobe.data.conll import _TagError, _split_tag

    spans, start, typ = [], None, ""
    for i, tag in enumerate(tags):
        p, t = _split_tag(tag, i, "BI")
        if scheme == "iob1":
            if p == "O":
                if start is not None:
                    spans.append((start, i, typ))
                start = None
            elif p == "I" and start is not None and t == typ:
                continue
            else:
                if start is not None:
                    spans.append((start, i, typ))
                start, typ = i, t
        else:
            if p == "I":
                if start is None or t != typ:
                    raise _TagError(i, f"{tag} without B-{t} before it")
                continue
            if start is not None:
                spans.append((start, i, typ))
                start = None
            if p == "B":
                start, typ = i, t
    if start is not None:
        spans.append((start, len(tags), typ))
    return spans


def test_decode_tags_equals_token_by_token_decoder():
    """Random IOB1/IOB2 tag sequences, bad tags included: the same spans, or the same error at the same token."""
    from nerprobe.data.conll import _TagError, decode_tags

    def outcome(fn, tags, scheme):
        try:
            return fn(tags, scheme)
        except _TagError as err:
            return ("error", err.i, err.message)

    rng = random.Random(0)
    pool = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "I_PER", "X", "B-", "o", "E-PER"]
    for n in range(30000):
        tags = rng.choices(pool[: rng.choice([8, 13])], k=rng.randint(0, 12))
        for scheme in ("iob1", "iob2"):
            assert outcome(decode_tags, tags, scheme) == outcome(_old_decode_tags, tags, scheme), (tags, scheme)


def test_lazy_tokens_equal_eager_ones(data_dir):
    """Sentences read by the fast path make their tokens on first use: equal, hashed, printed and pickled like
    sentences built with their tokens."""
    import copy
    import dataclasses
    import pickle

    for s in read_conll(data_dir / "conll2003" / "test.txt").sentences[:300]:
        assert "tokens" not in vars(s)
        eager = Sentence.from_tokens(s.id, [t for t in s.text.split(" ")], [], doc_id=s.doc_id, meta=s.meta)
        eager = eager.with_entities(s.entities)
        lazy_copy = pickle.loads(pickle.dumps(s))
        assert s == eager and hash(s) == hash(eager) and repr(s) == repr(eager)
        assert s.tokens == eager.tokens and "tokens" in vars(s)
        assert lazy_copy == s and copy.deepcopy(s) == s and dataclasses.replace(s, id="x").tokens == s.tokens
    assert Sentence("a", "b").tokens == () and Sentence.tokens == ()


def test_fast_token_is_a_token():
    t = _make_token("EU", 0, 2)
    assert type(t) is Token and t == Token("EU", 0, 2) and hash(t) == hash(Token("EU", 0, 2))
    with pytest.raises(Exception):
        t.start = 1  # still frozen
    # the named tuple keeps the dataclass's keywords, attributes, repr and hash
    assert Token(text="EU", start=0, end=2) == t and (t.text, t.start, t.end) == ("EU", 0, 2)
    assert repr(t) == "Token(text='EU', start=0, end=2)" and hash(t) == hash(("EU", 0, 2))


# -- the lookup tagger ------------------------------------------------------------------------------------------
def _genia(data_dir, split):
    return read_corpus(data_dir / "genia" / "nested_jsonl" / f"{split}.jsonlines").sentences


@pytest.mark.parametrize("corpus", ["conll2003", "wnut17", "genia"])
def test_lookup_tagger_equals_window_algorithm(data_dir, corpus):
    if corpus == "conll2003":
        train, test = (read_conll(data_dir / "conll2003" / n).sentences for n in ("train.txt", "test.txt"))
    elif corpus == "wnut17":
        train, test = (read_conll(data_dir / "wnut17" / n, scheme="iob2").sentences
                       for n in ("wnut17train.conll", "emerging.test.annotated"))
    else:
        train, test = _genia(data_dir, "dev"), _genia(data_dir, "test")
    model = LookupPredictor.fit(train)
    for s in list(test) + list(train[:2000]):
        assert model.entities(s) == reference_lookup(model.table, s, model.max_words, model.normalize)


def test_lookup_tagger_odd_keys():
    """Keys with doubled, leading or trailing spaces, and tokens holding spaces, match as the windows did."""
    table = {"a": "X", "a b": "Y", "a b c d": "Z", " b": "W", "c  d": "V", "d ": "U", "x y": "T"}
    rng = random.Random(0)
    words = ["a", "b", "c", "d", "", " ", "x y", "x"]
    model = LookupPredictor(table, normalize="exact")  # raw keys: matched as they are
    for _ in range(3000):
        toks, pos = [], 0
        for w in rng.choices(words, k=rng.randint(0, 9)):
            toks.append(Token(w, pos, pos + len(w)))
            pos += len(w) + 1
        s = Sentence("s", " " * pos, tuple(toks))
        assert model.entities(s) == reference_lookup(table, s)


def test_lookup_fit_keys_are_mention_keys(data_dir):
    train = read_conll(data_dir / "conll2003" / "test.txt").sentences
    counts = defaultdict(Counter)
    for s in train:
        for e in s.entities:
            counts[mention_key(s.surface(e))][e.label] += 1
    assert set(LookupPredictor.fit(train).table) == set(counts)


# -- finding the sentence in its prompt ------------------------------------------------------------------------
def _chat(instruction: str, text: str) -> str:
    return ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + instruction + "\n"
            + text + "<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.parametrize("alpaca,gold", [("conll03_bracketed_test_alpaca.json", "conll2003/test.txt"),
                                         ("genia_bracketed_test_alpaca.json", "genia/nested_jsonl/test.jsonlines")])
def test_find_input_equals_reference_on_real_prompts(data_dir, alpaca, gold):
    records = json.loads((data_dir / "llms4ner" / "data" / alpaca).read_text(encoding="utf-8"))
    sentences = read_corpus(data_dir / gold).sentences
    assert len(records) == len(sentences)
    found = 0
    for i, (r, s) in enumerate(zip(records, sentences)):
        prompt = _chat(r["instruction"], r["input"])
        got = find_input(s.text, prompt)
        assert got == reference_find_input(s.text, prompt)
        if i < 200:  # another sentence's text: mostly not found, and found the same way when it is
            other = sentences[i + 1].text
            assert find_input(other, prompt) == reference_find_input(other, prompt)
        found += got is not None
    assert found == len(records)


def test_find_input_random_text_and_long_prompts():
    """Random ASCII and non-ASCII text; the sentence far from the prompt's end (past the tail searched first)."""
    rng = random.Random(1)
    alphabet = list("aAbB .,\t\n\r\x0b\x0c\x1c\x1f") + list("\u00a0\u2028\u3000ΣσςİßẞǅéΩ日")
    for n in range(20000):
        letters = alphabet[:15] if n % 2 else alphabet
        gold = "".join(rng.choices(letters, k=rng.randint(0, 5)))
        prompt = "".join(rng.choices(letters, k=rng.randint(0, 60)))
        if n % 5 == 0:
            prompt = gold + "x" * rng.randint(200, 700) + prompt
        assert find_input(gold, prompt) == reference_find_input(gold, prompt), (gold, prompt)
        assert squash(prompt) == reference_squash(prompt)
        assert squashed(prompt) == reference_squash(prompt)[0]


# -- Holm ----------------------------------------------------------------------------------------------------------
def test_holm_equals_statsmodels():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    np = pytest.importorskip("numpy")
    from nerprobe.analysis.significance import holm

    rng = np.random.default_rng(0)
    for t in range(40):
        m = int(rng.integers(1, 12))
        p = [rng.random(m), np.round(rng.random(m), 1), rng.random(m) * 0.05, np.minimum(rng.random(m) * 3, 1)][t % 4]
        for alpha in (0.05, 0.5):
            reject, adjusted, _, _ = multitest.multipletests(p, alpha=alpha, method="holm")
            h = holm(list(p), alpha)
            assert h.reject == tuple(bool(x) for x in reject)
            assert h.adjusted == tuple(float(x) for x in adjusted)


# -- mention keys ---------------------------------------------------------------------------------------------------
def test_normalize_mention_equals_the_regex_key(data_dir):
    """``normalize_mention`` (split/join, answers kept) gives the regex key it replaced: every code point as white
    space or not, and every CoNLL-2003 and WNUT-17 training mention."""
    import re
    import sys

    from nerprobe.data.stats import normalize_mention

    ws = re.compile(r"\s+")

    def reference(text: str) -> str:
        return ws.sub(" ", text).strip().casefold()

    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        text = c + "Ab" + c + c + "Σ" + c
        assert normalize_mention(text) == reference(text), hex(cp)
    for path, scheme in (("conll2003/train.txt", "auto"), ("wnut17/wnut17train.conll", "iob2")):
        for s in read_conll(data_dir / path, scheme=scheme).sentences:
            for e in s.entities:
                assert normalize_mention(s.surface(e)) == reference(s.surface(e))


# -- memorization: generation lines ---------------------------------------------------------------------------------
def test_generation_lines_equal_json_dumps():
    """The generations' lines (the instruction escaped once per set) are ``json.dumps(..., ensure_ascii=False)``
    of the record, for random instructions, inputs and outputs with quotes, backslashes, control characters,
    non-ASCII and lone surrogates, with and without an instruction."""
    from types import SimpleNamespace

    from nerprobe.formats.base import ParseStatus
    from nerprobe.memorization.run import GenerationLines
    from nerprobe.models.predictors import Request

    rng = random.Random(0)
    alphabet = list('ab "\\/\n\r\t\x00\x1f\x7f') + ["é", "日", "\u2028", "\ud800", "\U0001f600"]

    def text(k):
        return "".join(rng.choices(alphabet, k=rng.randint(0, k)))

    line = GenerationLines()
    heads = [text(30) for _ in range(4)] + [""]
    for n in range(5000):
        r = Request("s", Sentence("s", "x"), "xml", None, rng.choice(heads), text(20))
        parse = SimpleNamespace(status=rng.choice(list(ParseStatus)), problems=tuple(text(5) for _ in range(n % 3)))
        item_id, original_id, output = text(6), rng.choice([None, text(6)]), text(25)
        want = json.dumps({"id": item_id, "original_id": original_id, "prompt": r.prompt, "output": output,
                           "status": parse.status.value, "problems": list(parse.problems)}, ensure_ascii=False)
        assert line(item_id, original_id, r, output, parse) == want + "\n"


def _reference_rewrite_tokens(sentence, replacements):
    """The tokens ``replace_spans`` made before (no replaced span cutting a token): each kept token's two ends moved
    by bisection over the replaced spans, the replacements' whitespace tokens put in between."""
    import bisect

    from nerprobe.probes.base import whitespace_tokens

    spans = sorted(replacements)
    ends, deltas, delta, new_start = [], [], 0, {}
    for a, b in spans:
        new_start[(a, b)] = a + delta
        delta += len(replacements[(a, b)]) - (b - a)
        ends.append(b)
        deltas.append(delta)

    def move(p):
        i = bisect.bisect_right(ends, p) - 1
        return p + (deltas[i] if i >= 0 else 0)

    tokens, j = [], 0
    for t in sentence.tokens:
        while j < len(spans) and spans[j][1] <= t.start:
            tokens.extend(whitespace_tokens(replacements[spans[j]], new_start[spans[j]]))
            j += 1
        if j < len(spans) and spans[j][0] <= t.start < spans[j][1]:
            continue
        tokens.append(Token(t.text, move(t.start), move(t.end)))
    for sp in spans[j:]:
        tokens.extend(whitespace_tokens(replacements[sp], new_start[sp]))
    tokens.sort(key=lambda tok: tok.start)
    return tuple(tokens)


@pytest.mark.parametrize("corpus", ["conll2003", "wnut17", "genia"])
def test_replace_spans_tokens_equal_bisection(data_dir, corpus):
    """Rewritten sentences' tokens (kept tokens shifted per stretch between replaced spans) equal the tokens moved
    one end at a time by bisection, on real sentences with random replacements (longer, shorter, several words,
    spaced), every replaceable span or some."""
    from nerprobe.probes.rewrite import replace_spans, replaceable_spans

    path = {"conll2003": data_dir / "conll2003" / "test.txt", "wnut17": data_dir / "wnut17" / "emerging.test.annotated",
            "genia": data_dir / "genia" / "nested_jsonl" / "test.jsonlines"}[corpus]
    sentences = read_corpus(path, **({"scheme": "iob2"} if corpus == "wnut17" else {})).sentences
    rng = random.Random(5)
    checked = 0
    for s in sentences[:2500]:
        spans, _ = replaceable_spans(s)
        if not spans:
            continue
        chosen = [sp for sp in spans if rng.random() < 0.7] or spans[:1]
        replacements = {sp: rng.choice(["X", "New York City", "a  b", "Zorbian Ltd .", "q" * rng.randint(1, 30)])
                        for sp in chosen}
        new, _ = replace_spans(s, replacements, "new")
        tok_starts = [t.start for t in s.tokens]
        cut = any(any(t.start < p < t.end for t in s.tokens) for sp in chosen for p in sp)
        if cut or not tok_starts:
            continue
        assert new.tokens == _reference_rewrite_tokens(s, replacements), (s.id, replacements)
        checked += 1
    assert checked > 500


def test_probe_set_lines_are_json_dumps(tmp_path):
    """``ProbeSet.save`` writes ``json.dumps(..., ensure_ascii=False)`` of the header and of each item, line by
    line (one encoder made per set)."""
    from nerprobe.data.model import Entity
    from nerprobe.probes.base import ProbeItem, ProbeSet

    items = [ProbeItem(f"i{k}", f"s{k}", Sentence.from_tokens(f"s{k}", ["Zürich", '"quoted"', "日本", "\\x",
                                                                        "\u2028"], [(0, 1, "LOC"), (2, 3, "LOC")]),
                       (), {"changed": [k, "é"], "none": None, "f": 0.5})
             for k in range(50)]
    ps = ProbeSet("odd", 3, items, params={"labelset": {"names": ["LOC"]}, "x": "\x00\x7f"}, problems=["é \n"])
    path = ps.save(tmp_path)
    header = {"probe_set": ps.name, "seed": ps.seed, "params": ps.params, "problems": ps.problems}
    want = [json.dumps(header, ensure_ascii=False)] + [json.dumps(it.to_dict(), ensure_ascii=False) for it in items]
    assert path.read_text(encoding="utf-8").split("\n") == want + [""]
    assert ProbeSet.load(path).items[0].sentence.entities[0] == Entity(0, 6, "LOC")


@pytest.mark.parametrize("format_name", ["bracketed", "xml"])
def test_split_tokenizers_equal_match_by_match(data_dir, format_name):
    """The inline formats' one-``re.split`` tokenizers give ``align.tokenize``'s tokens (match by match, classified
    one at a time) on every LLMs4NER output of the format (CoNLL-2003 and its variants, GENIA; dev and test), the
    same outputs cut and lower-cased, and random strings of markup characters, spaces and text."""
    from pathlib import Path

    from nerprobe.formats import bracketed, xml_tags
    from nerprobe.formats.align import tokenize

    module = {"bracketed": bracketed, "xml": xml_tags}[format_name]
    outputs = []
    for path in sorted(Path(data_dir / "llms4ner" / "data").glob(f"*_{format_name}_*_alpaca.json")):
        outputs += [r["output"] for r in json.loads(path.read_text(encoding="utf-8"))]
    assert len(outputs) > 10000
    rng = random.Random(4)
    outputs += [o[: rng.randrange(len(o) + 1)] for o in outputs[:3000]] + [o.lower() for o in outputs[:500]]
    pieces = ["[", "]", "|", " | ", "|PER]", " |LOC ]", "<", ">", "</", "<PER>", "</PER>", "< LOC >", "<a/b>", " ",
              "\t", "\n", "x", "New York", "é", ""]
    outputs += ["".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(20000)]
    for o in outputs:
        assert module._tokenize(o) == tokenize(o, module._MARKUP, module._classify), o


# -- statistics: same numbers, cheaper ------------------------------------------------------------------------------
def test_normal_sf_equals_scipy_stats():
    """The normal tail of the resampled p-values, without importing scipy.stats, to the last bit."""
    import math

    norm = pytest.importorskip("scipy.stats").norm
    np = pytest.importorskip("numpy")
    from nerprobe.analysis.significance import normal_sf

    zs = [0.0, 1e-300, 0.5, 1.0, 1.96, 5.0, 8.3, 37.5, 38.5, 1e3, math.inf]
    zs += list(np.random.default_rng(0).random(2000) * 40)
    for z in zs:
        assert normal_sf(z) == float(norm.sf(z)), z
    assert math.isnan(normal_sf(math.nan))


@pytest.mark.parametrize("n,chunk", [(1, 100), (7, 3), (300, 100), (3453, 100)])
def test_resampled_totals_with_kept_counts_equal_fresh_draws(n, chunk, monkeypatch):
    """Count matrices kept between calls give the totals that drawing and counting the indices again gives, cold,
    warm, and after eviction from a small cache."""
    np = pytest.importorskip("numpy")
    from nerprobe.analysis import significance as sig

    rng = np.random.default_rng(n)
    stats = rng.integers(0, 4, size=(n, 3, 5))

    def fresh(seed):
        flat = stats.reshape(n, -1).astype(np.float32)
        rows = [sig.index_counts(idx, n, np.float32) @ flat for idx in sig.resample_indices(n, 1000, seed, chunk)]
        return np.concatenate(rows).reshape((1000,) + stats.shape[1:])

    sig._COUNTS_CACHE.clear()
    for seed in (0, 1, 0):
        (got,) = sig.resampled_totals(stats, 1000, seed, chunk)
        assert np.array_equal(got, fresh(seed))
    assert (n, 1000, 0, chunk) in sig._COUNTS_CACHE
    monkeypatch.setattr(sig, "COUNTS_CACHE_BYTES", n * 1000)  # room for one key
    (got,) = sig.resampled_totals(stats, 1000, 2, chunk)
    assert np.array_equal(got, fresh(2)) and list(sig._COUNTS_CACHE) == [(n, 1000, 2, chunk)]
    sig._COUNTS_CACHE.clear()


@pytest.mark.parametrize("n", [1, 2, 20, 99, 1024, 1025, 3453])
def test_index_counts_equal_one_bincount_per_row(n):
    """The one-bincount path for few items (offset indices) and the per-row path give the counts of a bincount of
    each row on its own, for chunks of every size, in every dtype asked."""
    np = pytest.importorskip("numpy")
    from nerprobe.analysis import significance as sig

    for k in (1, 7, 100):
        idx = np.random.default_rng(n + k).integers(0, n, size=(k, n), dtype=np.int32)
        want = np.stack([np.bincount(row, minlength=n) for row in idx])
        for dtype in (np.int64, np.float32, np.uint8):
            got = sig.index_counts(idx, n, dtype)
            assert got.dtype == dtype and got.shape == (k, n) and np.array_equal(got, want.astype(dtype))


def test_counts_not_kept_gives_the_kept_totals():
    """``counts_not_kept`` (probe score's one CI) draws and counts the same resamples as a kept (cached) run, and
    keeps nothing; ``score_paired``'s CI equals ``bootstrap_ci`` outside it."""
    np = pytest.importorskip("numpy")
    from nerprobe.analysis import significance as sig

    stats = np.random.default_rng(0).integers(0, 4, size=(300, 3, 3))
    sig._COUNTS_CACHE.clear()
    (kept,) = sig.resampled_totals(stats, 1000, 5)
    assert sig._COUNTS_CACHE
    sig._COUNTS_CACHE.clear()
    with sig.counts_not_kept():
        (fresh,) = sig.resampled_totals(stats, 1000, 5)
        assert not sig._COUNTS_CACHE
    assert sig.KEEP_COUNTS[0] and np.array_equal(kept, fresh)
    with sig.counts_not_kept():
        ci = sig.bootstrap_ci(stats, "micro-f1", n_resamples=1000, seed=5)
    assert ci == sig.bootstrap_ci(stats, "micro-f1", n_resamples=1000, seed=5)
    sig._COUNTS_CACHE.clear()


def _drawn_ci(stats, metric, n_resamples, seed):
    """``bootstrap_ci``'s interval the long way: resampled totals always drawn."""
    from nerprobe.analysis import significance as sig

    _, fn, _ = sig._resolve_metric(metric)
    (totals,) = sig.resampled_totals(stats, n_resamples, seed)
    return sig._percentile_ci(fn(totals), 0.05)


@pytest.mark.parametrize("metric", ["micro-f1", "macro-f1", "rate", "gap"])
def test_intervals_known_without_drawing_equal_drawn_ones(metric):
    """Items all alike (integer statistics): the interval computed on n times the one item equals the drawn one,
    for span metrics and the memorization indicators' ratios; micro-F1 with no true positive anywhere is [0, 0]
    drawn too. Statistics that differ, or are not integers, are drawn as before."""
    np = pytest.importorskip("numpy")
    from nerprobe.analysis import significance as sig
    from nerprobe.probes import measures
    from nerprobe.probes.registry import _micro_f1

    fns = {"rate": measures._accuracy, "gap": measures._gap}
    rng = np.random.default_rng(1)
    for trial in range(12):
        n = int(rng.integers(1, 400))
        if metric in ("micro-f1", "macro-f1"):
            one = rng.integers(0, 4, size=(int(rng.integers(1, 5)), 3))
        else:
            one = rng.integers(0, 3, size=4 if metric == "gap" else 2)
        stats = np.repeat(one[None], n, axis=0)
        m = metric if metric not in fns else fns[metric]
        ci = sig.bootstrap_ci(stats, m, n_resamples=500, seed=trial)
        assert (ci.low, ci.high) == _drawn_ci(stats, m, 500, trial)
    assert not sig._alike_integer_items(np.array([[1, 2], [1, 3]]))
    assert not sig._alike_integer_items(np.array([[0.5, 1.0], [0.5, 1.0]]))
    assert not sig._alike_integer_items(np.zeros((0, 3), dtype=np.int64))
    if metric == "micro-f1":  # the do-nothing control's sets: no true positive, gold varies
        for n in (1, 50, 3453):
            counts = np.zeros((n, 3), dtype=np.int64)
            counts[:, 2] = rng.integers(0, 5, size=n)
            counts[: n // 2, 1] = rng.integers(0, 3, size=n // 2)
            ci = sig.bootstrap_ci(counts, _micro_f1, n_resamples=1000, seed=0, every_resample=0.0)
            assert (ci.low, ci.high) == _drawn_ci(counts, _micro_f1, 1000, 0) == (0.0, 0.0)


def test_entity_logit_fits_the_formula_api_model():
    """``entity_logit`` builds ``Logit.from_formula``, which is what ``statsmodels.formula.api.logit`` names."""
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.discrete.discrete_model import Logit

    assert smf.logit.__func__ is Logit.from_formula.__func__ and smf.logit.__self__ is Logit


# -- pairing: entities carried onto the gold text ------------------------------------------------------------------
def test_rank_mapping_equals_offset_map():
    """For texts equal up to case and white space, moving an entity by the rank of its non-space characters gives
    what the per-character offset map gives, ASCII or not, entities with spaces at their ends included."""
    from nerprobe.analysis.pairing import NonSpaceIndex, map_entity, map_entity_equal, text_offset_map
    from nerprobe.data.model import Entity

    rng = random.Random(3)
    checked = 0
    letters = list("aAbB.,()") + list("ΣσςİßéΩ日")
    spaces = [" ", "  ", "\t", "\n", "\u00a0", "\u3000", ""]
    for n in range(4000):
        words = ["".join(rng.choices(letters[:8] if n % 2 else letters, k=rng.randint(1, 4)))
                 for _ in range(rng.randint(1, 8))]
        source = rng.choice(spaces[:3]) + " ".join(words)
        target = "".join(w.swapcase() if rng.random() < 0.3 else w for w in words[:1])
        for w in words[1:]:
            target += rng.choice(spaces) + (w.upper() if rng.random() < 0.3 else w)
        if squashed(source) != squashed(target):
            continue
        offsets = text_offset_map(source, target)
        index = NonSpaceIndex(target)
        for _ in range(5):
            a = rng.randrange(len(source))
            z = rng.randrange(a, len(source)) + 1
            ent = Entity(a, z, "X")
            assert map_entity_equal(ent, source, index) == map_entity(ent, source, target, offsets), (source, target, ent)
            checked += 1
    assert checked > 10000


def _chat_predictions(path, records) -> None:
    """A LLaMA-Factory generated_predictions.jsonl of (instruction, input, output) records, output predicted."""
    with path.open("w", encoding="utf-8") as f:
        for instruction, text, output in records:
            f.write(json.dumps({"prompt": _chat(instruction, text), "predict": output, "label": output}) + "\n")


def _wnut_records(data_dir):
    """WNUT-17 test sentences re-spaced and re-cased as a model's input (punctuation glued, every third word upper
    case), with gold rendered bracketed on that input and every fifth entity dropped."""
    import re as _re

    from nerprobe.analysis.pairing import gold_on_input
    from nerprobe.formats import get_format

    fmt = get_format("bracketed")
    out = []
    for k, s in enumerate(read_conll(data_dir / "wnut17" / "emerging.test.annotated", scheme="iob2").sentences):
        text = _re.sub(r" ([.,!?])", r"\1", s.text)
        text = " ".join(w.upper() if i % 3 == 0 else w for i, w in enumerate(text.split(" ")))
        moved = gold_on_input(s, text)
        if moved.text == text:
            moved = moved.with_entities(e for i, e in enumerate(moved.entities) if (i + k) % 5)
        out.append(("Tag the entities.", text, fmt.render(moved)))
    return out


@pytest.mark.parametrize("corpus", ["conll2003", "genia", "wnut17"])
def test_score_with_rank_mapping_equals_offset_map(data_dir, tmp_path, monkeypatch, corpus):
    """``probe score`` numbers on re-cased, re-spaced prompts: entities carried by rank equal those carried by the
    per-character offset map (CoNLL-2003 and GENIA: the LLMs4NER bracketed test files; WNUT-17: made above)."""
    from nerprobe.analysis import pairing
    from nerprobe.analysis.score_files import score_files

    gold = {"conll2003": data_dir / "conll2003" / "test.txt",
            "genia": data_dir / "genia" / "nested_jsonl" / "test.jsonlines",
            "wnut17": data_dir / "wnut17" / "emerging.test.annotated"}[corpus]
    if corpus == "wnut17":
        records = _wnut_records(data_dir)
        gold_file = tmp_path / "wnut.txt"
        from nerprobe.data.conll import write_conll

        write_conll(read_conll(gold, scheme="iob2").sentences, gold_file)
        gold = gold_file
    else:
        name = {"conll2003": "conll03", "genia": "genia"}[corpus]
        alpaca = json.loads((data_dir / "llms4ner" / "data" / f"{name}_bracketed_test_alpaca.json").read_text("utf-8"))
        records = [(r["instruction"], r["input"], r["output"]) for r in alpaca]
    pred = tmp_path / "generated_predictions.jsonl"
    _chat_predictions(pred, records)
    fast = score_files(gold, pred, n_resamples=200)

    class OffsetMapIndex:
        def __init__(self, text):
            self.text = text

    def by_offset_map(ent, source, index):
        offsets = pairing.text_offset_map(source, index.text)
        return pairing.map_entity(ent, source, index.text, offsets)

    monkeypatch.setattr(pairing, "NonSpaceIndex", OffsetMapIndex)
    monkeypatch.setattr(pairing, "map_entity_equal", by_offset_map)
    slow = score_files(gold, pred, n_resamples=200)
    assert fast == slow
    assert fast["pairing"]["text_mismatches"] == 0 and fast["scores"]["micro"]["n_gold"] > 1000


def _reference_place(result, gold, source_text, entities, same_squashed=None):
    """``pairing._place`` as it was: texts compared here every time, entity-less pairs included."""
    from nerprobe.analysis import pairing
    from nerprobe.data.model import Entity

    if source_text == gold.text:
        return tuple(entities)
    if pairing.squashed(source_text) == pairing.squashed(gold.text):
        index = pairing.NonSpaceIndex(gold.text)

        def move(ent):
            return pairing.map_entity_equal(ent, source_text, index)
    else:
        offsets = pairing.text_offset_map(source_text, gold.text)

        def move(ent):
            return pairing.map_entity(ent, source_text, gold.text, offsets) if offsets is not None else None
    placed = []
    for k, ent in enumerate(entities):
        if ent.start < 0:
            placed.append(Entity(-1 - k, -1 - k, ent.label))
            continue
        moved = move(ent)
        if moved is None:
            result.problems["unmapped_entity"] += 1
            moved = Entity(-1 - k, -1 - k, ent.label)
        placed.append(moved)
    return tuple(placed)


@pytest.mark.parametrize("corpus,format_name", [("conll2003", "bracketed"), ("conll2003", "xml"),
                                                ("genia", "bracketed"), ("genia", "json"), ("genia", "offset_json")])
def test_place_with_known_text_match_equals_reference(data_dir, tmp_path, monkeypatch, corpus, format_name):
    """Placing parsed entities on gold text with the text comparison pairing already made (and nothing to do for
    pairs without entities) gives the pairing, problems and scores of the placing that compared the texts itself,
    on LLMs4NER prompts whose outputs are perturbed (dropped, re-labelled, cut, lower-cased, one entity added)."""
    from nerprobe.analysis import pairing
    from nerprobe.analysis.score_files import score_files

    gold = {"conll2003": data_dir / "conll2003" / "test.txt",
            "genia": data_dir / "genia" / "nested_jsonl" / "test.jsonlines"}[corpus]
    name = {"conll2003": "conll03", "genia": "genia"}[corpus]
    alpaca = json.loads((data_dir / "llms4ner" / "data" / f"{name}_{format_name}_test_alpaca.json").read_text("utf-8"))

    def perturb(out, i):
        if i % 7 == 0:
            return ""
        if i % 5 == 0:
            for a, b in (("PER", "ORG"), ("LOC", "MISC"), ("protein", "DNA"), ("cell_type", "RNA")):
                if a in out:
                    return out.replace(a, b, 1)
        if i % 11 == 0:
            return out.lower()
        if i % 13 == 0:
            return out[: len(out) // 2]
        return out

    pred = tmp_path / f"{format_name}_generated_predictions.jsonl"
    _chat_predictions(pred, [(r["instruction"], r["input"], perturb(r["output"], i)) for i, r in enumerate(alpaca)])
    asked = []

    def checked_place(result, g, source_text, entities, same_squashed=None):
        if same_squashed is not None and source_text != g.text:
            asked.append(same_squashed)
            assert same_squashed == (pairing.squashed(source_text) == pairing.squashed(g.text))
        return real_place(result, g, source_text, entities, same_squashed)

    real_place = pairing._place
    monkeypatch.setattr(pairing, "_place", checked_place)
    fast = score_files(gold, pred, n_resamples=200)
    monkeypatch.setattr(pairing, "_place", _reference_place)
    slow = score_files(gold, pred, n_resamples=200)
    assert fast == slow
    assert asked and fast["scores"]["micro"]["n_gold"] > 1000 and fast["pairing"]["problems"]


# -- the command line: sub-commands imported on first use ------------------------------------------------------------
def _eager_app():
    """The ``probe`` app as it was built before sub-commands were made lazy: every module imported and registered."""
    import typer

    from nerprobe.cli import compare, data, demo, formats, memorization, models, report, retention, score, train

    app = typer.Typer(help="Probe LLMs fine-tuned for NER: memorization, retention, reports.", no_args_is_help=True)
    app.add_typer(data.app, name="data")
    app.add_typer(formats.app, name="formats")
    app.command("score")(score.score)
    for module in (compare, models, train, retention, memorization, report, demo):
        module.register(app)

    @app.callback()
    def main() -> None:
        pass

    return app


def test_lazy_cli_has_the_eager_commands_in_order():
    """The lazy group lists the commands, in the order, with the options (names, defaults, help) the eager app
    had, whether a command was looked up first or the list was asked first."""
    import typer.main

    from nerprobe.cli import _LazyGroup, _SUBCOMMANDS, app

    def shape(group):
        def params(cmd):
            return [(p.name, tuple(p.opts), p.default if not callable(p.default) else "callable", p.help)
                    for p in cmd.params]

        out = []
        for name, cmd in group.commands.items():
            out.append((name, params(cmd), sorted(getattr(cmd, "commands", {}) or {})))
        return out

    eager = shape(typer.main.get_command(_eager_app()))
    lazy_first_lookup = typer.main.get_command(app)
    assert isinstance(lazy_first_lookup, _LazyGroup)
    assert lazy_first_lookup.get_command(None, "memorization") is not None  # one loaded before the rest
    assert shape(lazy_first_lookup) == eager
    assert shape(typer.main.get_command(app)) == eager
    assert [n for n, _, _ in eager] == list(_SUBCOMMANDS)


def test_probe_score_imports_no_other_command():
    """``probe score`` imports its own command only: not the memorization command's probe registry, the models,
    retention or report commands."""
    import subprocess
    import sys

    code = ("import sys; from nerprobe.cli import app\n"
            "try:\n    app(['score', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('nerprobe.probes', 'nerprobe.memorization', "
            "'nerprobe.cli.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['nerprobe.cli.common', 'nerprobe.cli.score']"


def test_probe_score_json_imports_no_rich_console(data_dir, tmp_path):
    """``probe score --json`` prints through typer alone: rich's console is not imported (the consoles are made on
    first use), and the JSON is that of the library call."""
    import subprocess
    import sys

    from nerprobe.analysis.score_files import score_files

    alpaca = data_dir / "llms4ner" / "data" / "conll03_bracketed_test_alpaca.json"
    gold = data_dir / "conll2003" / "test.txt"
    code = ("import sys, runpy\nsys.argv = ['probe', 'score', '--gold', sys.argv[1], '--pred', sys.argv[2], '--json',"
            " '--n-resamples', '50']\n"
            "try:\n    runpy.run_module('nerprobe', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('RICH', sorted(m for m in sys.modules if m.startswith('rich.console')))")
    out = subprocess.run([sys.executable, "-c", code, str(gold), str(alpaca)], capture_output=True, text=True,
                         check=True).stdout
    body, _, tail = out.rpartition("RICH ")
    assert tail.strip() == "[]"
    assert json.loads(body) == json.loads(json.dumps(score_files(gold, alpaca, n_resamples=50)))


def test_freeze_heap_at_exit_registers_once_and_never_with_torch(monkeypatch):
    """``probe score`` and ``probe memorization`` register ``gc.freeze`` to run at exit once per process, and not
    at all in a process that has torch loaded."""
    import gc
    import sys

    from nerprobe.cli import common

    registered = []
    monkeypatch.setattr(common.atexit, "register", registered.append)
    monkeypatch.setattr(common, "_FREEZE_AT_EXIT", [False])
    monkeypatch.setitem(sys.modules, "torch", object())
    common.freeze_heap_at_exit()
    assert registered == [] and common._FREEZE_AT_EXIT == [False]
    monkeypatch.delitem(sys.modules, "torch")
    common.freeze_heap_at_exit()
    common.freeze_heap_at_exit()
    assert registered == [gc.freeze]


def test_memorization_process_writes_the_same_run_with_the_heap_frozen_at_exit(data_dir, tmp_path):
    """A whole ``python -m nerprobe memorization --model lookup`` process (which freezes its heap at exit) writes
    the files an in-process run writes, byte for byte (WNUT-17, first 300 test sentences)."""
    import hashlib
    import subprocess
    import sys

    from typer.testing import CliRunner

    from nerprobe.cli import app

    args = ["memorization", "--model", "lookup", "--train", str(data_dir / "wnut17" / "wnut17train.conll"), "--test",
            str(data_dir / "wnut17" / "emerging.test.annotated"), "--limit", "300", "--no-progress",
            "--n-resamples", "200"]
    subprocess.run([sys.executable, "-m", "nerprobe", *args, "--out", str(tmp_path / "process")], check=True,
                   capture_output=True)
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "in_process")])
    assert result.exit_code == 0, result.output

    def digests(run):
        return {p.relative_to(run).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(run.rglob("*")) if p.is_file() and p.name != "manifest.json"}

    process, in_process = digests(tmp_path / "process"), digests(tmp_path / "in_process")
    assert process == in_process and any(k.startswith("generations/") for k in process) and "stats.json" in process


def test_lazy_console_prints_what_a_console_prints(capsys):
    """A console made on first use prints a table, styled text and plain text as a Console made at once."""
    from rich.console import Console
    from rich.table import Table

    from nerprobe.cli.common import _LazyConsole, styled

    def show(console):
        t = Table(title="[bold]x[/bold] scores", title_justify="left")
        t.add_column("type")
        t.add_column("F1", justify="right")
        t.add_row("[PER]", styled("91.20", "bold"))
        console.print(t)
        console.print("plain [red]text[/red]", highlight=False, soft_wrap=True)
        return capsys.readouterr()

    eager = show(Console(markup=False))
    lazy = _LazyConsole(markup=False)
    assert lazy._console is None
    assert show(lazy) == eager and eager.out
    assert isinstance(lazy._console, Console) and lazy.is_terminal == lazy._console.is_terminal


# -- requests: the prompt without the rendered target ---------------------------------------------------------------
@pytest.mark.parametrize("format_name", ["bracketed", "xml", "json", "occurrence_index", "offset_json"])
def test_requests_prompt_is_the_sft_records(data_dir, format_name):
    """``Request.build`` and ``Request.build_all`` give the instruction and input of ``sft_record`` (the record
    they were built from before), for the corpus label set and its symbolized forms."""
    from nerprobe.formats.labels import LABEL_SETS
    from nerprobe.formats.prompts import sft_record
    from nerprobe.models.predictors import Request

    sentences = read_conll(data_dir / "conll2003" / "test.txt").sentences[:200]
    base = LABEL_SETS["conll2003"]
    for ls in (base, base.symbolized(True)[0], base.symbolized(False)[0]):
        built = Request.build_all(sentences, format_name, ls)
        for s, r in zip(sentences, built):
            rec = sft_record(s, format_name, ls)
            one = Request.build(s, format_name, ls)
            assert (r.instruction, r.input) == (one.instruction, one.input) == (rec["instruction"], rec["input"])
            assert r.prompt == one.prompt and r.sentence is s and r.id == s.id
