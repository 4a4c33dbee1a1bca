"""sources.jsondecode.loads reads every payload as Python's `json` would, only faster."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sources.jsondecode import loads

EDGES = [
    '{"id": 18446744073709551616}',  # one past unsigned 64 bits: orjson would give a float
    '{"id": -9223372036854775809}',
    '{"text": "a \\ud800 b"}',  # lone surrogate escape
    '{"x": 1e999}',
    "[NaN, Infinity, -Infinity]",
    '{"a": 1, "a": 2}',
    '{"t": "café 🎉", "n": -0.0, "z": 1E5}',
]


@pytest.mark.parametrize("text", EDGES)
def test_same_values_as_json(text: str) -> None:
    for data in (text, text.encode("utf-8", "surrogatepass")):
        got, want = loads(data), json.loads(text)
        assert repr(got) == repr(want)  # repr: NaN compares unequal, -0.0 equals 0


def test_invalid_utf8_becomes_replacement_characters() -> None:
    assert loads(b'{"t": "a\xff\xfeb"}') == {"t": "a\ufffd\ufffdb"}


def test_errors_are_json_errors_with_position() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        loads(b'{"a": 1,\n "b": }')
    assert (caught.value.lineno, caught.value.colno) == (2, 7)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_round_trip_matches_json(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for data in (text, text.encode("utf-8", "surrogatepass")):
        assert repr(loads(data)) == repr(json.loads(text))  # repr: 1 and 1.0 differ


def test_text_holding_a_lone_surrogate_is_read_by_json() -> None:
    assert loads('{"t": "a\ud800"}') == {"t": "a\ud800"}
