"""Every corpus reader is total: on any bytes it returns a Corpus or raises a NerprobeError (one line for the CLI),
never another exception, and it never changes the file it reads."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerprobe.data.io import read_corpus
from nerprobe.data.model import Corpus
from nerprobe.errors import NerprobeError

READERS = {"conll": ".txt", "jsonl": ".jsonl", "genia": ".xml", "alpaca:xml": ".json"}

_json_scalars = st.none() | st.booleans() | st.integers(-3, 30) | st.floats(allow_nan=True) | st.text(max_size=8)
_json = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.sampled_from(["text", "tokens", "entities", "entity_mentions", "start",
                                                        "end", "label", "entity_type", "id", "doc_id", "meta",
                                                        "input", "output", "instruction"]), inner, max_size=5),
                     max_leaves=20)

_conll_lines = st.lists(
    st.one_of(
        st.just(""),
        st.builds(lambda tok, tag: f"{tok} {tag}", st.text("abcXY.", min_size=1, max_size=4),
                  st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-LOC", "L-ORG", "U-ORG", "B-NP", "I-VP", "X",
                                   "B-", "I_MISC"])),
        st.text(max_size=10),
    ),
    max_size=12,
)


def _read(path, reader):
    try:
        return read_corpus(path, format_name=reader)
    except NerprobeError as err:  # any other exception fails the test
        return err


def _check_total(tmp_path, data: bytes, reader: str) -> None:
    f = tmp_path / f"x{READERS[reader]}"
    f.write_bytes(data)
    result = _read(f, reader)
    assert isinstance(result, (Corpus, NerprobeError))
    assert f.read_bytes() == data


@pytest.mark.parametrize("reader", sorted(READERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_readers_are_total_on_bytes(tmp_path, reader, data):
    _check_total(tmp_path, data, reader)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_json, min_size=1, max_size=3))
def test_jsonl_reader_is_total_on_json_values(tmp_path, records):
    _check_total(tmp_path, "\n".join(json.dumps(r) for r in records).encode(), "jsonl")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_json)
def test_alpaca_reader_is_total_on_json_values(tmp_path, value):
    _check_total(tmp_path, json.dumps([value]).encode(), "alpaca:xml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_conll_lines)
def test_conll_reader_is_total_on_column_files(tmp_path, lines):
    _check_total(tmp_path, "\n".join(lines).encode(), "conll")
