"""Reads that run to the end inside the connection's thread, in one round trip.

The desk cancels stale reads (a recount, a reload, a detail for a row the cursor already left).
A read cancelled while its cursor was open could leave the statement active, and the
connection's next query then came from the old snapshot: a view reloaded after a burst without
its last mentions (seen in bench/ingest's desk run). `execute_fetchall` steps and resets the
statement in the connection's thread, so there is no open cursor to leave behind; it is also
one thread hop instead of three (execute, fetch, close).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite


async def all_rows(db: aiosqlite.Connection, sql: str, args: Sequence[Any] = ()) -> list[Any]:
    return list(await db.execute_fetchall(sql, args))


async def first_row(db: aiosqlite.Connection, sql: str, args: Sequence[Any] = ()) -> Any | None:
    """The first row, or None; for queries of at most one row (by key, count, pragma)."""
    rows = await db.execute_fetchall(sql, args)
    return next(iter(rows), None)
