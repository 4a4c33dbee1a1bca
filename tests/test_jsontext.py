"""Stored and exported JSON: the fast path and the values it hands to `json`."""

from __future__ import annotations

import json
import math

import pytest

from tui.jsontext import dumps, json_text


@pytest.mark.parametrize(
    "value",
    [
        {"text": "café 🎉", "n": 3, "tags": ["a", "b"], "nested": {"x": None}},
        {"id": 2**70},  # past 64 bits: orjson refuses, `json` writes it exactly
        {1: "int key"},  # non-string key
    ],
)
def test_dumps_round_trips_compact(value: object) -> None:
    text = dumps(value)
    assert json.loads(text) == json.loads(json.dumps(value))
    assert ", " not in text and ": " not in text


def test_deep_nesting_past_orjson_limit_still_written() -> None:
    deep: list[object] = []
    for _ in range(300):
        deep = [deep]
    assert json.loads(dumps(deep)) == deep


def test_non_finite_numbers_become_null() -> None:
    assert json.loads(dumps({"a": math.nan, "b": math.inf})) == {"a": None, "b": None}


def test_json_text_escapes_lone_surrogates_and_line_breaks() -> None:
    text = json_text({"s": "a\ud800b", "t": "one\u2028two\x85"})
    text.encode("utf-8")  # valid UTF-8
    assert "\\ud800" in text and len(text.splitlines()) == 1
    assert json.loads(json_text({"t": "one\u2028two\x85"})) == {"t": "one\u2028two\x85"}


def test_json_text_keeps_non_ascii_readable() -> None:
    assert json_text({"t": "café"}) == '{"t":"café"}'
