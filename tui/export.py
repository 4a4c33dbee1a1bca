"""`triage export`: mentions and decisions as JSON Lines or CSV, to any text stream.

The JSONL mention shape is exactly `Mention.model_dump_json`, which the JSONL source reads,
so an export can be replayed (a drill) or moved to another database.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, Literal, TextIO

from tui.jsontext import json_text
from tui.review import Filters
from tui.store import Store

Format = Literal["jsonl", "csv"]


async def export_mentions(store: Store, out: TextIO, fmt: Format) -> int:
    return await _write(_mention_dicts(store), out, fmt)


async def export_decisions(
    store: Store, out: TextIO, fmt: Format, filters: Filters | None = None
) -> int:
    """The decisions a report with the same filters counted, one per row."""
    return await _write(store.iter_decisions(filters or Filters()), out, fmt)


async def export_notes(
    store: Store, out: TextIO, fmt: Format, filters: Filters | None = None
) -> int:
    """Reviewers' notes with the decision each is about."""
    return await _write(store.iter_notes(filters or Filters()), out, fmt)


async def _mention_dicts(store: Store) -> AsyncGenerator[dict[str, Any]]:
    async for mention in store.iter_mentions():
        yield mention.model_dump(mode="json")


async def _write(rows: AsyncGenerator[dict[str, Any]], out: TextIO, fmt: Format) -> int:
    count = 0
    writer: csv.DictWriter[str] | None = None
    async with aclosing(rows):  # a failed write (a closed pipe) closes the read while the
        async for row in rows:  # store is still open, not at the loop's shutdown
            if fmt == "jsonl":
                out.write(json_text(row) + "\n")
            else:
                flat = _flatten(row)
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(flat), extrasaction="ignore")
                    writer.writeheader()
                writer.writerow(flat)
            count += 1
    return count


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns; lists and `raw` stay JSON in one cell."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key not in ("raw", "params", "suggested_params"):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, dict | list):
            flat[name] = json.dumps(value, ensure_ascii=False)
        else:
            flat[name] = value
    return flat
