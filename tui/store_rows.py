"""Rows of the database as the store's records."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, TypeVar

import aiosqlite

from tui.records import DecisionRecord, QueueRow, SuggestionRecord, describe
from tui.timefmt import opt_parse


def queue_row(row: aiosqlite.Row) -> QueueRow:
    summary = row["title"] or row["text"]
    action = describe(row["action"], json.loads(row["params"])) if row["action"] else None
    return QueueRow(
        id=row["id"],
        priority=row["priority"],
        sla_due_at=opt_parse(row["sla_due_at"]),
        source=row["source"],
        author=row["author_handle"],
        summary=" ".join(summary.split())[:400],
        action=action,
        claimed_by=row["claimed_by"],
        status=row["status"],
        deleted=bool(row["deleted"]),
    )


R = TypeVar("R", SuggestionRecord, DecisionRecord)
_TIME_COLUMNS = frozenset({"sla_due_at", "shown_at", "decided_at"})


def _record(cls: type[R], row: aiosqlite.Row) -> R:
    """Build a record whose fields are named like the table's columns."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        value = row[f.name]
        if f.name == "params":
            value = json.loads(value)
        elif f.name in _TIME_COLUMNS:
            value = opt_parse(value)
        values[f.name] = value
    return cls(**values)


def suggestion_record(row: aiosqlite.Row) -> SuggestionRecord:
    return _record(SuggestionRecord, row)


def decision_record(row: aiosqlite.Row) -> DecisionRecord:
    return _record(DecisionRecord, row)
