"""JSON as we store and export it: compact, non-ASCII kept readable, valid UTF-8.

Ingest writes about seven JSON values per mention; orjson does each ~10x faster than `json`
(bench/ingest). What orjson refuses (integers past 64 bits, non-string keys, nesting past 254,
lone surrogates) takes the slower `json` path, so every value still gets written.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_COMPACT = (",", ":")
# Characters some readers take for line breaks (str.splitlines does): one record, one line.
_LINE_BREAKS = re.compile("[\x85\u2028\u2029\x1c-\x1e\x0b\x0c]")


def dumps(value: Any) -> str:
    """Compact JSON; NaN and infinities become null, as JSON has no spelling for them."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=_COMPACT)


def json_text(value: Any) -> str:
    """One line of JSON that is valid UTF-8 whatever it holds: readable, and escaped only
    where a value holds what UTF-8 cannot (a lone surrogate from a `\\ud800` in a network's
    JSON), which SQLite and a UTF-8 stdout would refuse."""
    text = dumps(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, separators=_COMPACT)
    return _LINE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
