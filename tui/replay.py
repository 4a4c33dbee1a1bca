"""Replaying a shift: the selected decisions in order, one step at a time. Headless.

Nothing is loaded up front (a selection can hold a million decisions): each step is one
indexed query from the current decision id, so the first step shows at once whatever the
size; the count, the position and the timeline come from background queries.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import aiosqlite

from tui.records import DecisionRecord, Detail, SuggestionRecord
from tui.review import Filters
from tui.store import Store
from tui.store_rows import decision_record
from tui.timefmt import iso, parse

Jump = Literal["next", "previous", "override", "breach", "undo"]

# Claims and releases are desk mechanics, not decisions a reviewer replays.
SHOWN = "d.action NOT IN ('claim', 'release')"
JUMPS: dict[str, str] = {
    "override": "d.outcome = 'overridden'",
    "breach": "m.sla_due_at IS NOT NULL AND d.decided_at > m.sla_due_at"
    " AND d.action NOT IN ('note', 'undo')",
    "undo": "d.action = 'undo'",
}
FROM = """decisions d JOIN mentions m ON m.id = d.mention_id
          LEFT JOIN suggestions s ON s.id = d.suggestion_id"""


@dataclass(frozen=True)
class Note:
    reviewer: str
    noted_at: datetime
    text: str


@dataclass(frozen=True)
class Step:
    decision: DecisionRecord
    detail: Detail  # the mention with its history and deliveries up to this decision
    answered: SuggestionRecord | None  # the suggestion the decision answered
    took: float | None  # seconds from first shown to this actor to the decision
    breached: bool  # decided after the SLA was due
    undone_by: int | None
    notes: list[Note]


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    counts: list[int]  # decisions per equal slice of [start, end]


class Replay:
    def __init__(self, store: Store, filters: Filters) -> None:
        self.store = store
        self.db: aiosqlite.Connection = store.reader
        self.where, self.args = filters.decisions()
        self.where = f"{SHOWN} AND {self.where}"

    async def first(self) -> Step | None:
        return await self._one("1", [], "ASC")

    async def last(self) -> Step | None:
        return await self._one("1", [], "DESC")

    async def move(self, current: int, jump: Jump) -> Step | None:
        """The next (or previous) step, or the next override / SLA breach / undo."""
        if jump == "previous":
            return await self._one("d.id < ?", [current], "DESC")
        condition = "d.id > ?" if jump == "next" else f"d.id > ? AND {JUMPS[jump]}"
        return await self._one(condition, [current], "ASC")

    async def count(self) -> int:
        return await self._scalar(f"SELECT count(*) FROM {FROM} WHERE {self.where}", self.args)

    async def position(self, decision_id: int) -> int:
        """1-based position of the decision in the selection."""
        sql = f"SELECT count(*) FROM {FROM} WHERE {self.where} AND d.id <= ?"
        return await self._scalar(sql, [*self.args, decision_id])

    async def timeline(self, slices: int) -> Timeline | None:
        sql = f"SELECT min(d.decided_at), max(d.decided_at) FROM {FROM} WHERE {self.where}"
        async with self.db.execute(sql, self.args) as cur:
            row = await cur.fetchone()
        if row is None or row[0] is None:
            return None
        start, end = parse(row[0]), parse(row[1])
        span = max((end - start).total_seconds(), 1e-6)
        slice_of = "CAST((julianday(d.decided_at) - julianday(?)) * 86400.0 / ? AS INT)"
        sql = f"""SELECT min(?, {slice_of}), count(*) FROM {FROM}
                  WHERE {self.where} GROUP BY 1"""
        counts = [0] * slices
        async with self.db.execute(sql, [slices - 1, row[0], span / slices, *self.args]) as cur:
            for index, count in await cur.fetchall():
                counts[int(index)] += count
        return Timeline(start, end, counts)

    async def _one(self, condition: str, args: list[object], order: str) -> Step | None:
        sql = f"""SELECT d.* FROM {FROM} WHERE {self.where} AND {condition}
                  ORDER BY d.id {order} LIMIT 1"""
        async with self.db.execute(sql, [*self.args, *args]) as cur:
            row = await cur.fetchone()
        return None if row is None else await self._step(decision_record(row))

    async def _step(self, decision: DecisionRecord) -> Step:
        detail = await self.store.detail(decision.mention_id)
        assert detail is not None
        as_then = replace(
            detail,
            decisions=[d for d in detail.decisions if d.id <= decision.id],
            effects=[e for e in detail.effects if e.decision_id <= decision.id],
            claimed_by=None,
        )
        answered = next((s for s in detail.suggestions if s.id == decision.suggestion_id), None)
        took = (
            (decision.decided_at - decision.shown_at).total_seconds()
            if decision.shown_at is not None
            else None
        )
        due = detail.sla_due_at
        undone = await self._scalar(
            "SELECT coalesce(max(id), 0) FROM decisions WHERE reverses_id = ?", [decision.id]
        )
        return Step(
            decision=decision,
            detail=as_then,
            answered=answered,
            took=took,
            breached=due is not None and decision.decided_at > due,
            undone_by=undone or None,
            notes=await self.notes(decision.id),
        )

    async def notes(self, decision_id: int) -> list[Note]:
        async with self.db.execute(
            "SELECT reviewer, noted_at, text FROM review_notes WHERE decision_id = ? ORDER BY id",
            (decision_id,),
        ) as cur:
            return [Note(r[0], parse(r[1]), r[2]) for r in await cur.fetchall()]

    async def _scalar(self, sql: str, args: list[object]) -> int:
        async with self.db.execute(sql, args) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0


class NoteWriter:
    """The one thing a review can write: notes, on a connection that SQLite itself stops
    from writing anything else (an authorizer denies every other change)."""

    def __init__(self, db: aiosqlite.Connection, reviewer: str) -> None:
        self.db = db
        self.reviewer = reviewer

    @classmethod
    async def open(cls, store_path: object, reviewer: str) -> NoteWriter:
        db = await aiosqlite.connect(str(store_path))
        await db.execute("PRAGMA busy_timeout = 5000")
        await db.set_authorizer(_notes_only)
        return cls(db, reviewer)

    async def add(self, decision_id: int, text: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO review_notes (decision_id, reviewer, noted_at, text) VALUES (?, ?, ?, ?)",
            (decision_id, self.reviewer, iso(now), text),
        )
        await self.db.commit()

    async def close(self) -> None:
        await self.db.close()


def _notes_only(action: int, arg1: str | None, *_: object) -> int:
    writes = {
        sqlite3.SQLITE_INSERT,
        sqlite3.SQLITE_UPDATE,
        sqlite3.SQLITE_DELETE,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_ALTER_TABLE,
    }
    if action in writes and not (action == sqlite3.SQLITE_INSERT and arg1 == "review_notes"):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK
