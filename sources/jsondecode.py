"""JSON from the networks and from files, read fast and read the way Python's `json` reads it.

orjson parses a post 3-5x faster than `json` (parsing is the biggest cost of a JSONL import:
bench/ingest). Where the two would differ it hands over to `json`: integers past 64 bits
(orjson makes them floats), NaN and infinities, `\\ud800`-style lone surrogates, and bytes
that are not UTF-8, which become U+FFFD rather than failing the whole page, and every later
page with it. Errors are `json`'s, so messages keep their line and column.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# 19 digits in a row may be an integer orjson cannot hold exactly (it keeps 64 bits). Mapping
# every digit to 9 and looking for nineteen 9s is ~10x faster than a regex over the payload.
_DIGITS_AS_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_RUN = b"9" * 19


def loads(data: bytes | str) -> Any:
    raw = data if isinstance(data, bytes) else _utf8(data)
    if raw is not None and _LONG_RUN not in raw.translate(_DIGITS_AS_NINES):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(_text(data) if isinstance(data, bytes) else data)


def _utf8(data: str) -> bytes | None:
    try:
        return data.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: `json` reads it
        return None


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")
