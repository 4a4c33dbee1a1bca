"""The SQLite store: mentions, suggestions, the append-only decision log, source state.

Headless (no Textual). Two aiosqlite connections: one writer, serialised by a lock and always
inside `BEGIN IMMEDIATE`, and one reader, so the desk keeps reading while ingest writes (WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from playbooks.backtest import Item, Proposal
from sources.contract import Health, ReplyTo
from sources.model import Mention
from tui import ledger, outbox, report, schema, search
from tui.holders import holder_is_dead
from tui.ledger import DecisionRefused as DecisionRefused
from tui.ledger import Intent, Who
from tui.mention_rows import COLUMNS, EDITABLE, from_row
from tui.prepare import Stored
from tui.query import DUE, Query, Sort
from tui.reads import all_rows, first_row
from tui.records import DecisionRecord, Detail, Entry, QueueRow, SuggestionRecord
from tui.report import Report
from tui.review import Filters
from tui.store_rows import decision_record, queue_row, suggestion_record
from tui.timefmt import iso, opt_iso, opt_parse
from tui.writelock import WriteLock

Clock = Callable[[], datetime]
LEASE = timedelta(seconds=90)  # a claim lives this long unless its desk renews it
SOURCE_LEASE = timedelta(seconds=30)  # a fetching process renews every third of this
BUSY_TIMEOUT_MS = 1000  # SQLite waits this long for a lock before `_begin` retries
WRITE_PATIENCE = 60.0  # seconds a write waits for other processes before it fails
_CHUNK = 400  # keys per IN (...) query, well under SQLite's variable limit
# Seconds a first screenful is given in the view's order, at least. 5 ms was too few: a
# common word's screenful in All at 100k takes 3.5-6 ms, and one late by a hair paid a scan
# (20 ms or 60 ms, by luck). Rare words and short ones now start from candidates instead.
PATIENCE_LEAST = 0.02
INTERRUPT_AGAIN = 0.02  # seconds after which an interrupted read still running is interrupted again


class StoreError(Exception):
    """The database cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class SourceStatus:
    name: str
    type: str
    cursor: str | None
    health: Health


@dataclass(frozen=True)
class Mark:
    """The last mention and decision stored, and the earliest snooze: a snooze that wakes
    logs no decision, and the earliest changing is its only trace (read from its index)."""

    mention: int
    decision: int
    snoozed: str | None


@dataclass
class IngestBatch:
    upserts: list[Stored] = field(default_factory=list)
    deletes: list[tuple[str, str]] = field(default_factory=list)  # (source_name, native_id)
    sources: list[SourceStatus] = field(default_factory=list)


@dataclass(frozen=True)
class IngestResult:
    new_ids: list[int]
    changed_ids: list[int]


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection | None,
        reader: aiosqlite.Connection,
        clock: Clock,
        scanner: aiosqlite.Connection | None = None,
        screens: aiosqlite.Connection | None = None,
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader  # short reads: rows, details, cursors
        self._scanner = scanner or reader  # long reads: whole views, counts, the report
        # A view's first screenful: its own connection, one read at a time, because a slow
        # one is interrupted (_unless_slow) and an interrupt must reach no other read.
        self._screens = screens
        self._screens_lock = asyncio.Lock()
        if scanner is not None:
            # Its readers take columns by position: plain tuples, not sqlite3.Row (a million
            # view ids read as Rows took ~0.8 s in its thread, as tuples ~0.35 s).
            scanner.row_factory = None
        self._lock = asyncio.Lock()
        self._write_lock = WriteLock.beside(path) if writer is not None else None
        self.clock = clock
        self.routes = outbox.Routes()  # where decisions' outside effects go (none by default)

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, readonly: bool = False, clock: Clock = _now) -> Store:
        """Open (and, unless read-only, create and migrate) the database at `path`."""
        if readonly and not path.exists():  # noqa: ASYNC240 - one stat, before any thread
            raise StoreError(f"{path}: no such database")
        opened: list[aiosqlite.Connection] = []
        try:
            if readonly:
                for _ in range(2):  # reader and scanner: reports run on both at once
                    opened.append(await _connect(f"file:{path}?mode=ro", uri=True))
                store = cls(path, None, opened[0], clock, scanner=opened[1])
                if await store._check_version(opened[0]) < schema.LATEST:
                    # Written by an older triage: bring it up to date (the migrations only
                    # add), then read it as asked.
                    while opened:
                        await opened.pop().close()
                    async with await cls.open(path, clock=clock):
                        pass
                    return await cls.open(path, readonly=True, clock=clock)
                return store
            path.parent.mkdir(parents=True, exist_ok=True)
            opened.append(await _connect(str(path)))
            await _pragma(opened[0], "journal_mode = WAL")
            for _ in range(3):
                opened.append(await _connect(str(path)))
            store = cls(path, opened[0], opened[1], clock, scanner=opened[2], screens=opened[3])
            await store._migrate()
            return store
        except BaseException as exc:
            for db in opened:  # aiosqlite threads keep the process alive if left open
                await db.close()
            if isinstance(exc, sqlite3.Error | OSError):
                raise StoreError(f"{path}: cannot open database: {exc}") from None
            raise

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        if self._write_lock is not None:
            self._write_lock.close()
        if self._scanner is not self._reader:
            await self._scanner.close()
        if self._screens is not None:
            await self._screens.close()
        await self._reader.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _check_version(self, db: aiosqlite.Connection) -> int:
        table = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        if await first_row(db, table) is None:
            return 0
        row = await first_row(db, "SELECT coalesce(max(version), 0) FROM schema_version")
        version = int(row[0]) if row else 0
        if version > schema.LATEST:
            raise StoreError(
                f"{self.path}: database schema version {version} is newer than this triage "
                f"understands ({schema.LATEST}); upgrade triage"
            )
        return version

    async def _migrate(self) -> None:
        assert self._writer is not None
        async with self._write() as db:
            version = await self._check_version(db)
            for number, script in enumerate(schema.MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (number, iso(self.clock())),
                )

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._writer is None:
            raise StoreError(f"{self.path}: opened read-only")
        async with self._lock:
            db = self._writer
            if self._write_lock is not None:
                await self._write_lock.acquire()
            try:
                try:
                    await _begin(db)
                    yield db
                    await db.execute("COMMIT")
                except BaseException:
                    # Cancelled while BEGIN or COMMIT was on its way too: the statement still
                    # runs in the connection's thread. A transaction left open made this
                    # connection's next BEGIN fail and held the database's write lock from
                    # every other process (a desk quitting mid-write hung on it).
                    await asyncio.shield(_rollback(db))
                    raise
            finally:
                if self._write_lock is not None:
                    self._write_lock.release()

    # -- ingest ---------------------------------------------------------------------------

    async def ingest(self, batch: IngestBatch) -> IngestResult:
        """Store a batch idempotently: a re-delivered mention makes no second row or suggestion."""
        now = self.clock()
        latest: dict[tuple[str, str], Stored] = {}
        for item in batch.upserts:  # the last delivery of a key in a batch wins
            latest[item.key] = item
        async with self._write() as db:
            existing = await _ids_for(db, latest)
            fresh = {k: p for k, p in latest.items() if k not in existing}
            new_ids = await _insert_mentions(db, fresh)
            await _insert_suggestions(db, fresh, new_ids)
            changed = [(existing[k], p) for k, p in latest.items() if k in existing]
            changed_ids = await _apply_edits(db, changed)
            changed_ids += await _apply_deletes(db, batch.deletes)
            await _save_sources(db, batch.sources, now)
        return IngestResult([new_ids[k] for k in fresh], changed_ids)

    async def cursors(self) -> dict[str, str | None]:
        rows = await all_rows(self._reader, "SELECT name, cursor FROM source_state")
        return {row[0]: row[1] for row in rows}

    async def hold_source(
        self, name: str, type_: str, session: str, lease: timedelta = SOURCE_LEASE
    ) -> bool:
        """Take or renew the right to fetch `name`; False while another live process has it
        (a holder that died on this host is known dead at once, not after its lease)."""
        async with self._write() as db:
            now = self.clock()
            row = await first_row(db, "SELECT holder FROM source_state WHERE name = ?", (name,))
            dead = row[0] if row and row[0] and holder_is_dead(row[0]) else None
            taken = await first_row(
                db,
                """INSERT INTO source_state (name, type, state, updated_at, holder, holder_until)
                   VALUES (?, ?, 'starting', ?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                       holder_until = excluded.holder_until
                   WHERE source_state.holder IS NULL OR source_state.holder_until <= ?
                      OR source_state.holder = excluded.holder OR source_state.holder = ?
                   RETURNING holder""",
                (name, type_, iso(now), session, iso(now + lease), iso(now), dead),
            )
            return taken is not None

    async def let_go_sources(self, session: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE source_state SET holder = NULL, holder_until = NULL WHERE holder = ?",
                (session,),
            )

    async def source_states(self) -> list[dict[str, Any]]:
        rows = await all_rows(self._reader, "SELECT * FROM source_state ORDER BY name")
        return [dict(row) for row in rows]

    # -- queue ----------------------------------------------------------------------------

    async def queue_ids(
        self, query: Query, narrow: Query | None = None, limit: int | None = None
    ) -> list[int]:
        """Mention ids of a view in its order, optionally narrowed by a filter.

        Whole views run on their own connection (a million ids take a few hundred ms), so the
        rows and details the desk asks for meanwhile are not stuck behind them.
        """
        where, args = where_of(query, narrow)

        def ids_sql(start: search.Start) -> str:
            sql = f"SELECT m.id FROM {start.sql} WHERE {where} ORDER BY {query.order}"
            return sql if limit is None else f"{sql} LIMIT {int(limit)}"

        db = self._scanner if limit is None else self._screens or self._reader
        interruptible = db is self._screens
        async with self._screens_lock if interruptible else contextlib.nullcontext():
            start = await _start(db, query, narrow)
            rows = None
            if interruptible and start is search.EVERY_ROW:
                rows = await _unless_slow(db, ids_sql(start), args)
                if rows is None:  # from candidates after all, or every row in table order
                    start = await _start(db, query, narrow, worth=search.cheaper_than_scan)
                    start = search.SCAN if start is search.EVERY_ROW else start
            if rows is None:
                read = _stoppable if interruptible else all_rows
                rows = await read(db, ids_sql(start), (*start.args, *args))
        # A million ids unpacked on the event loop took ~40 ms: in a thread instead.
        return await asyncio.to_thread(_first_column, rows)

    async def still_in(self, query: Query, narrow: Query | None, ids: Sequence[int]) -> set[int]:
        """Which of `ids` the view (and filter) still shows: cheap, by primary key. Told to:
        given `status IN (...)` too, SQLite walked the status index (every new mention, 0.2 s
        at a million) rather than look the few ids up."""
        where, args = where_of(query, narrow)
        out: set[int] = set()
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT m.id FROM {search.SCAN.sql} WHERE m.id IN ({marks}) AND ({where})"
            out.update(row[0] for row in await all_rows(self._reader, sql, (*chunk, *args)))
        return out

    async def mark(self) -> Mark:
        """Where the log of changes stands, to ask later what changed since (`changed_since`)."""
        sql = (
            "SELECT (SELECT coalesce(max(id), 0) FROM mentions),"
            " (SELECT coalesce(max(id), 0) FROM decisions),"
            " (SELECT min(snoozed_until) FROM mentions WHERE snoozed_until IS NOT NULL)"
        )
        [row] = await all_rows(self._reader, sql)
        return Mark(*row)

    async def changed_since(self, before: Mark, now: Mark) -> set[int]:
        """Mentions that arrived, or had a decision logged, between two marks: what can have
        joined or left a steady view (tui.query), or moved in one sorted by a changing key."""
        sql = (
            "SELECT id FROM mentions WHERE id > ? AND id <= ?"
            " UNION SELECT mention_id FROM decisions WHERE id > ? AND id <= ?"
        )
        args = (before.mention, now.mention, before.decision, now.decision)
        return set(_first_column(await all_rows(self._reader, sql, args)))

    async def sort_keys(self, sort: Sort, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        """Each mention's keys in `sort`, by primary key."""
        out: dict[int, tuple[Any, ...]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT m.id, {', '.join(sort.keys)} FROM mentions m WHERE m.id IN ({marks})"
            out.update((row[0], tuple(row[1:])) for row in await all_rows(self._reader, sql, chunk))
        return out

    async def count(self, query: Query) -> int:
        start = await _start(self._scanner, query)
        sql = f"SELECT count(*) FROM {start.sql} WHERE {query.where}"
        [row] = await all_rows(self._scanner, sql, (*start.args, *query.args))
        return int(row[0])

    async def search_backlog(self) -> int:
        """Mentions not yet in the filter's word index (tui.search)."""
        return await search.pending(self._reader)

    async def index_search(self, limit: int) -> int:
        """Add up to `limit` more mentions to the filter's word index; how many it added."""
        async with self._write() as db:
            return await search.index_next(db, limit)

    async def queue_rows(self, ids: Sequence[int]) -> dict[int, QueueRow]:
        out: dict[int, QueueRow] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            sql = f"""
                SELECT m.id, m.priority, m.sla_due_at, m.source, m.author_handle, m.title,
                       m.text, m.status, m.deleted, s.action, s.params, c.actor AS claimed_by
                FROM mentions m
                LEFT JOIN suggestions s ON s.mention_id = m.id AND s.rank = 0
                LEFT JOIN claims c ON c.mention_id = m.id AND c.lease_until > ?
                WHERE m.id IN ({marks})"""
            for row in await all_rows(self._reader, sql, (iso(self.clock()), *chunk)):
                out[row["id"]] = queue_row(row)
        return out

    async def counts(self) -> dict[str, int]:
        sql = "SELECT status, count(*) FROM mentions GROUP BY status"
        return {row[0]: row[1] for row in await all_rows(self._reader, sql)}

    async def detail(self, mention_id: int) -> Detail | None:
        db = self._reader
        row = await first_row(db, "SELECT * FROM mentions WHERE id = ?", (mention_id,))
        if row is None:
            return None
        mention = from_row(row)
        return Detail(
            id=mention_id,
            mention=mention,
            status=row["status"],
            priority=row["priority"],
            sla_due_at=opt_parse(row["sla_due_at"]),
            suggestions=await self._suggestions(db, mention_id),
            decisions=await self._decisions(db, "WHERE mention_id = ? ORDER BY id", (mention_id,)),
            claimed_by=await ledger.claimed_by(db, mention_id, self.clock()),
            parent=await self._thread_parent(db, mention),
            tags=tuple(json.loads(row["tags"])),
            assignee=row["assignee"],
            effects=await outbox.entries(db, "mention_id = ?", (mention_id,)),
        )

    async def _thread_parent(self, db: aiosqlite.Connection, mention: Mention) -> Mention | None:
        """The mention this one replies to, when we have it: the context a reply needs."""
        if mention.in_reply_to_id is None:
            return None
        sql = "SELECT * FROM mentions WHERE source_name = ? AND native_id = ?"
        row = await first_row(db, sql, (mention.source_name, mention.in_reply_to_id))
        return None if row is None else from_row(row)

    async def _suggestions(
        self, db: aiosqlite.Connection, mention_id: int
    ) -> list[SuggestionRecord]:
        sql = "SELECT * FROM suggestions WHERE mention_id = ? ORDER BY rank"
        return [suggestion_record(row) for row in await all_rows(db, sql, (mention_id,))]

    async def _decisions(
        self, db: aiosqlite.Connection, where: str, args: tuple[Any, ...]
    ) -> list[DecisionRecord]:
        rows = await all_rows(db, f"SELECT * FROM decisions {where}", args)
        return [decision_record(row) for row in rows]

    # -- decisions and claims --------------------------------------------------------------

    async def decide(
        self,
        mention_id: int,
        *,
        actor: str,
        action: str,
        params: dict[str, Any] | None = None,
        suggestion_id: int | None = None,
        view: str | None = None,
        shown_at: datetime | None = None,
        session: str = "",
        expect_status: str | None = None,
    ) -> DecisionRecord:
        """Log a decision and update the mention, in one transaction.

        `suggestion_id` names the suggestion the responder answered (the top one on screen);
        the outcome (accepted / edited / overridden / none_offered) is derived from it.
        Refused (DecisionRefused) when another desk holds the mention's claim, or when
        `expect_status` is given and the mention has moved on since the responder saw it.
        """
        intent = ledger.Intent(mention_id, action, params or {}, suggestion_id, expect_status)
        shown = {mention_id: shown_at} if shown_at is not None else {}
        [record] = await self.decide_many([intent], Who(actor, session, view), shown_at=shown)
        if isinstance(record, DecisionRefused):
            raise record
        return record

    async def decide_many(
        self, intents: list[Intent], who: Who, shown_at: dict[int, datetime]
    ) -> list[DecisionRecord | DecisionRefused]:
        """One decision per intent (bulk actions); each refused one is returned, not raised."""
        out: list[DecisionRecord | DecisionRefused] = []
        async with self._write() as db:
            now = self.clock()
            for intent in intents:
                try:
                    when = shown_at.get(intent.mention_id)
                    record = await ledger.decide(db, intent, who, now, when)
                    await outbox.enqueue(db, record, self.routes, now)  # same transaction
                    out.append(record)
                except DecisionRefused as refused:
                    out.append(refused)
        return out

    async def undo_last(
        self, actor: str, *, view: str | None = None, session: str = ""
    ) -> DecisionRecord:
        """Reverse `actor`'s latest decision that is not yet reversed, by logging an undo."""
        async with self._write() as db:
            now = self.clock()

            async def stays_out(reversed_id: int) -> dict[str, Any]:
                """Cancel what has not gone out; record what has (it stays in the world)."""
                sent = await outbox.on_undo(db, reversed_id, now)
                out = [
                    {"outbox": e.id, "kind": e.kind, "target": e.target, "url": e.remote_url}
                    for e in sent
                ]
                return {"stays_out": out} if out else {}

            return await ledger.undo_last(db, Who(actor, session, view), now, stays_out)

    @property
    def reader(self) -> aiosqlite.Connection:
        """For headless readers (the replay): short queries, never a write."""
        return self._reader

    async def first_decision_waits(self, filters: Filters, limit: int = 200_000) -> list[float]:
        """Seconds from arrival to the first decision, per selected mention (for a plot)."""
        selected, args = report.selected_firsts(filters)  # the mentions the report counts
        sql = f"SELECT m.first_wait_s {selected} LIMIT ?"
        return [float(row[0]) for row in await all_rows(self._scanner, sql, [*args, limit])]

    async def report(self, filters: Filters) -> Report:
        lanes = [self._scanner] if self._scanner is self._reader else [self._scanner, self._reader]
        return await report.build(lanes, filters, self.clock())

    # -- outbox ---------------------------------------------------------------------------

    async def outbox_entries(self, where: str = "1", args: tuple[Any, ...] = ()) -> list[Entry]:
        return await outbox.entries(self._reader, where, args)

    async def outbox_count(self, where: str) -> int:
        row = await first_row(self._reader, f"SELECT count(*) FROM outbox WHERE {where}")
        return int(row[0]) if row else 0

    async def source_names(self, mention_ids: Iterable[int]) -> dict[int, str]:
        ids = list(mention_ids)
        marks = ",".join("?" * len(ids))
        sql = f"SELECT id, source_name FROM mentions WHERE id IN ({marks})"
        return {row[0]: row[1] for row in await all_rows(self._reader, sql, ids)}

    async def outbox_take(self, holder: str, lease: timedelta) -> list[Entry]:
        """Due entries, taken for this process; a read first, so an idle desk never writes."""
        if not await outbox.free_due(self._reader, self.clock()):
            return []
        async with self._write() as db:
            return await outbox.take_due(db, holder, self.clock(), lease)

    async def outbox_sent(self, entry_id: int, remote_id: str | None, url: str | None) -> None:
        async with self._write() as db:
            await outbox.mark_sent(db, entry_id, remote_id, url, self.clock())

    async def outbox_failed(self, entry_id: int, error: str, retry_at: datetime | None) -> None:
        async with self._write() as db:
            await outbox.mark_failed(db, entry_id, error, retry_at)

    async def outbox_defer(self, entry_id: int, until: datetime) -> None:
        async with self._write() as db:
            await outbox.defer(db, entry_id, until)

    async def outbox_retry(self, where: str, args: tuple[Any, ...] = ()) -> int:
        async with self._write() as db:
            return await outbox.retry(db, where, args, self.clock())

    async def outbox_cancel(self, where: str, args: tuple[Any, ...] = ()) -> int:
        async with self._write() as db:
            return await outbox.cancel(db, where, args)

    async def outbox_retract(self, entry_ids: list[int], decision_id: int) -> list[int]:
        """Queue the deletion of posted replies (after an undo the responder confirmed)."""
        async with self._write() as db:
            marks = ",".join("?" * len(entry_ids))
            found = await outbox.entries(
                db, f"id IN ({marks}) AND state = 'sent'", tuple(entry_ids)
            )
            return [
                await outbox.retract(
                    db, e, decision_id, self.routes.replies[e.target], self.clock()
                )
                for e in found
                if e.target in self.routes.replies
            ]

    async def reply_target(self, mention_id: int) -> ReplyTo:
        """What a source needs to reply to a stored mention."""
        row = await first_row(
            self._reader,
            "SELECT native_id, author_handle, author_id, url, raw FROM mentions WHERE id = ?",
            (mention_id,),
        )
        if row is None:
            raise StoreError(f"no mention {mention_id}")
        return ReplyTo(row[0], row[1], row[2], row[3], json.loads(row[4]))

    async def claim(self, mention_id: int, who: Who, lease: timedelta = LEASE) -> DecisionRecord:
        """Claim (or renew) a mention for this desk, logged; refused if another desk has it."""
        async with self._write() as db:
            now = self.clock()
            await ledger.claim(db, mention_id, who, now, lease)
            intent = ledger.Intent(mention_id, "claim", {})
            return await ledger.decide(db, intent, who, now, None)

    async def release(self, mention_id: int, who: Who) -> DecisionRecord | None:
        """Give a claim back, logged; None if this desk did not hold it."""
        async with self._write() as db:
            if not await ledger.release(db, mention_id, who):
                return None
            intent = ledger.Intent(mention_id, "release", {})
            return await ledger.decide(db, intent, who, self.clock(), None)

    async def pull_next(
        self, who: Who, query: Query, narrow: Query | None = None, lease: timedelta = LEASE
    ) -> int | None:
        """Claim the most urgent unclaimed mention of a view (and filter), against
        cherry-picking."""
        where, args = where_of(query, narrow)
        async with self._write() as db:
            now = self.clock()
            start = await _start(db, query, narrow)  # the write lock is held: read little
            sql = f"""SELECT m.id FROM {start.sql}
                      WHERE ({where}) AND m.status = 'new' AND NOT EXISTS (
                          SELECT 1 FROM claims c WHERE c.mention_id = m.id AND c.lease_until > ?)
                      ORDER BY m.priority_rank, {DUE}, m.received_at
                      LIMIT 1"""
            row = await first_row(db, sql, (*start.args, *args, iso(now)))
            if row is None:
                return None
            await ledger.claim(db, row[0], who, now, lease)
            await ledger.decide(
                db, ledger.Intent(row[0], "claim", {"pulled": True}), who, now, None
            )
            return int(row[0])

    async def heartbeat(self, who: Who, lease: timedelta = LEASE) -> None:
        """Keep this desk's claims alive; a desk that dies stops renewing, so they expire."""
        async with self._write() as db:
            await db.execute(
                "UPDATE claims SET lease_until = ? WHERE session = ?",
                (iso(self.clock() + lease), who.session),
            )

    async def release_session(self, who: Who) -> None:
        """On quit: every claim this desk holds goes back (not logged one by one)."""
        async with self._write() as db:
            await db.execute("DELETE FROM claims WHERE session = ?", (who.session,))

    async def wake_snoozed(self) -> int:
        async with self._write() as db:
            return await ledger.wake_snoozed(db, self.clock())

    async def all_ids(self) -> list[int]:
        return _first_column(await all_rows(self._reader, "SELECT id FROM mentions ORDER BY id"))

    async def actors(self) -> list[str]:
        """Everyone who has decided something, for the assign picker."""
        sql = "SELECT DISTINCT actor FROM decisions ORDER BY actor"
        return _first_column(await all_rows(self._reader, sql))

    async def data_version(self) -> int:
        """Changes when any other connection commits: cheap polling for other desks' work."""
        row = await first_row(self._reader, "PRAGMA data_version")
        return int(row[0]) if row else 0

    # -- backtest -------------------------------------------------------------------------

    async def backtest_items(self, filters: Filters | None = None) -> AsyncIterator[Item]:
        """Every selected mention with the top suggestion stored for it and its final
        decision (a reviewer's selection: its time and source, and with decision filters
        only mentions that have a selected decision)."""
        filters = filters or Filters()
        final = await self._final_decisions()
        where, args = filters.mentions()
        if filters.narrows_decisions:
            dw, dargs = filters.decisions(d="d", m="m", s="ds")
            where += f""" AND EXISTS (SELECT 1 FROM decisions d
                          LEFT JOIN suggestions ds ON ds.id = d.suggestion_id
                          WHERE d.mention_id = m.id AND {dw})"""
            args += dargs
        sql = f"""
            SELECT m.*, s.playbook_id AS s_playbook, s.rule_id AS s_rule,
                   s.action AS s_action, s.params AS s_params
            FROM mentions m LEFT JOIN suggestions s ON s.mention_id = m.id AND s.rank = 0
            WHERE {where}
            ORDER BY m.id"""
        async with self._reader.execute(sql, args) as cur:
            async for row in cur:
                in_force = None
                if row["s_action"] is not None:
                    params = json.loads(row["s_params"])
                    in_force = Proposal.of(
                        row["s_action"], params, row["s_playbook"], row["s_rule"]
                    )
                yield Item(from_row(row), in_force, final.get(row["id"]))

    async def _final_decisions(self) -> dict[int, Proposal]:
        """Per mention, the latest decision that was not undone (undos themselves excluded)."""
        sql = """
            SELECT d.mention_id, d.action, d.params FROM decisions d
            WHERE d.action != 'undo'
              AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.reverses_id = d.id)
            ORDER BY d.id"""
        rows = await all_rows(self._reader, sql)
        return {row[0]: Proposal.of(row[1], json.loads(row[2])) for row in rows}

    # -- export ---------------------------------------------------------------------------

    async def iter_mentions(self) -> AsyncGenerator[Mention]:
        async with self._reader.execute("SELECT * FROM mentions ORDER BY id") as cur:
            async for row in cur:
                yield from_row(row)

    async def iter_notes(self, filters: Filters) -> AsyncGenerator[dict[str, Any]]:
        where, args = filters.decisions()
        sql = f"""
            SELECT n.id, n.noted_at, n.reviewer, n.text, n.decision_id, d.actor, d.action,
                   d.decided_at, d.mention_id
            FROM review_notes n JOIN decisions d ON d.id = n.decision_id
            JOIN mentions m ON m.id = d.mention_id
            LEFT JOIN suggestions s ON s.id = d.suggestion_id
            WHERE {where} ORDER BY n.id"""
        async with self._reader.execute(sql, args) as cur:
            async for row in cur:
                yield dict(row)

    async def iter_decisions(self, filters: Filters) -> AsyncGenerator[dict[str, Any]]:
        """Each selected decision with its mention and the suggestion it answered, flat."""
        where, args = filters.decisions()
        sql = f"""
            SELECT d.id, d.decided_at, d.actor, d.action, d.params, d.outcome, d.reverses_id,
                   d.view, d.shown_at, d.status_before, d.status_after,
                   d.mention_id, m.source_name, m.native_id, m.url,
                   s.id AS suggestion_id, s.playbook_id, s.playbook_version, s.rule_id,
                   s.action AS suggested_action, s.params AS suggested_params, s.why
            FROM decisions d
            JOIN mentions m ON m.id = d.mention_id
            LEFT JOIN suggestions s ON s.id = d.suggestion_id
            WHERE {where}
            ORDER BY d.id"""
        async with self._reader.execute(sql, args) as cur:
            async for row in cur:
                record = dict(row)
                for key in ("params", "suggested_params"):
                    if record[key] is not None:
                        record[key] = json.loads(record[key])
                yield record


# -- helpers (module level: they take the connection inside a transaction) ----------------


async def _start(
    db: aiosqlite.Connection,
    *queries: Query | None,
    worth: Callable[[int], int] | None = None,
) -> search.Start:
    """Where a view's query (and its filter) starts reading: from the index's candidates for
    a rare word or tag in them, or every row."""
    given = [q for q in queries if q is not None]
    return await search.start_for(
        db, [w for q in given for w in q.words], [t for q in given for t in q.tags], worth
    )


async def _unless_slow(db: aiosqlite.Connection, sql: str, args: Sequence[Any]) -> list[Any] | None:
    """A screenful in the view's order, or None if that is taking long: when few mentions
    pass a filter, SQLite walks the view's index to its end and fetches each row out of the
    table's order (0.74 s at 1M for a rare two-letter word in Inbox), where a scan in the
    table's order takes 0.34. It is given a tenth of the scan's time, so a screenful never
    costs much more than the scan. A query that sorts reads every row anyway: left to run."""
    plan = await all_rows(db, f"EXPLAIN QUERY PLAN {sql}", args)
    if any("TEMP B-TREE" in str(row[-1]) for row in plan):
        return await all_rows(db, sql, args)
    patience = max(PATIENCE_LEAST, 0.1 * search.SCAN_ROW * await search.stored(db))
    if patience <= 0:
        return None
    read = asyncio.ensure_future(all_rows(db, sql, args))
    try:
        done, _ = await asyncio.wait({read}, timeout=patience)
    except asyncio.CancelledError:
        await _stop(db, read)
        raise
    return read.result() if done else await _interrupted(db, read)


async def _stoppable(db: aiosqlite.Connection, sql: str, args: Sequence[Any]) -> list[Any]:
    """A first screenful's read that a newer view or filter may cancel."""
    read = asyncio.ensure_future(all_rows(db, sql, args))
    try:
        return await asyncio.shield(read)
    except asyncio.CancelledError:
        await _stop(db, read)
        raise


async def _stop(db: aiosqlite.Connection, read: asyncio.Future[list[Any]]) -> None:
    """Cancelled by a newer view or filter: the statement still runs in the connection's
    thread, ahead of the next one's; interrupt it rather than wait for it."""
    with contextlib.suppress(Exception):
        await _interrupted(db, read)


async def _interrupted(
    db: aiosqlite.Connection, read: asyncio.Future[list[Any]]
) -> list[Any] | None:
    """Interrupt the statement running in the connection's thread; its rows if it ended first.
    Seen through even if we are cancelled meanwhile: a read left running holds up the next."""
    await asyncio.shield(_until_done(db, read))
    try:
        return read.result()
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        return None


async def _until_done(db: aiosqlite.Connection, read: asyncio.Future[list[Any]]) -> None:
    """An interrupt that lands before the statement has started is lost (the read then ran
    to its end, a second at a time in a test): sent again until the read is over."""
    while True:
        await db.interrupt()
        done, _ = await asyncio.wait({read}, timeout=INTERRUPT_AGAIN)
        if done:
            return


def where_of(query: Query, narrow: Query | None) -> tuple[str, tuple[object, ...]]:
    """A view's query, narrowed by a filter if there is one, as SQL."""
    if narrow is None:
        return query.where, query.args
    return f"({query.where}) AND ({narrow.where})", (*query.args, *narrow.args)


async def _connect(target: str, *, uri: bool = False) -> aiosqlite.Connection:
    db = await aiosqlite.connect(target, uri=uri, isolation_level=None)
    db.row_factory = aiosqlite.Row
    await _pragma(db, f"busy_timeout = {BUSY_TIMEOUT_MS}")
    await _pragma(db, "foreign_keys = ON")
    try:
        await all_rows(db, "SELECT count(*) FROM sqlite_master")  # fail now if not a database
    except sqlite3.Error:
        await db.close()
        raise
    return db


async def _begin(db: aiosqlite.Connection, patience: float = WRITE_PATIENCE) -> None:
    """BEGIN IMMEDIATE, waiting for other processes' writes as long as `patience` allows.

    SQLite's own busy handler (busy_timeout) backs off on a fixed schedule, so under constant
    contention from several desks one process can lose every round; retrying after a random
    pause spreads the turns, and "database is locked" only reaches a user after `patience`.
    """
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            await db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            locked = "locked" in str(exc) or "busy" in str(exc)
            if not locked or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(random.uniform(0.001, 0.05))


async def _rollback(db: aiosqlite.Connection) -> None:
    """Queued after whatever this connection was sent last, so it ends that transaction;
    nothing to do if none began (BEGIN failed) or it ended (COMMIT ran)."""
    with contextlib.suppress(sqlite3.OperationalError):
        await db.execute("ROLLBACK")


async def _pragma(db: aiosqlite.Connection, setting: str) -> None:
    await all_rows(db, f"PRAGMA {setting}")  # read to the end: an unfinished one holds a lock


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _first_column(rows: Iterable[Sequence[Any]]) -> list[Any]:
    return [row[0] for row in rows]


async def _ids_for(
    db: aiosqlite.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    by_source: dict[str, list[str]] = {}
    for source_name, native_id in keys:
        by_source.setdefault(source_name, []).append(native_id)
    found: dict[tuple[str, str], int] = {}
    for source_name, natives in by_source.items():
        for chunk in _chunks(natives):
            marks = ",".join("?" * len(chunk))
            sql = (
                "SELECT id, native_id FROM mentions "
                f"WHERE source_name = ? AND native_id IN ({marks})"
            )
            for row in await all_rows(db, sql, (source_name, *chunk)):
                found[(source_name, row[1])] = row[0]
    return found


_INSERT_COLUMNS = ("id", *COLUMNS, "priority", "sla_due_at", "tags")
_INSERT_MENTION = (
    f"INSERT INTO mentions ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
)


async def _insert_mentions(
    db: aiosqlite.Connection, fresh: dict[tuple[str, str], Stored]
) -> dict[tuple[str, str], int]:
    """Insert mentions known to be absent, numbered from max(id) + 1 as SQLite would number
    them: under the write transaction nobody else can, and the ids need no second lookup."""
    if not fresh:
        return {}
    top = await search.stored(db)
    ids = {key: top + n for n, key in enumerate(fresh, start=1)}
    await db.executemany(_INSERT_MENTION, [(ids[k], *p.values) for k, p in fresh.items()])
    return ids


async def _insert_suggestions(
    db: aiosqlite.Connection,
    fresh: dict[tuple[str, str], Stored],
    ids: dict[tuple[str, str], int],
) -> None:
    rows = [(ids[key], *row) for key, item in fresh.items() for row in item.suggestion_rows]
    await db.executemany(
        "INSERT INTO suggestions (mention_id, rank, playbook_id, playbook_version, rule_id, "
        "action, params, priority, sla_due_at, why, score, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


_EDITS = ", ".join(f"{c} = :{c}" for c in EDITABLE)
_DIFFERS = " OR ".join(f"{c} IS NOT :{c}" for c in EDITABLE)
_EDITABLE_AT = [(c, COLUMNS.index(c)) for c in EDITABLE]


async def _apply_edits(db: aiosqlite.Connection, changed: list[tuple[int, Stored]]) -> list[int]:
    """Re-delivered mentions: update what an edit can change, only when it did change."""
    if not changed:
        return []
    rows = [
        {"id": mention_id, **{c: item.values[i] for c, i in _EDITABLE_AT}}
        for mention_id, item in changed
    ]
    before = db.total_changes
    await db.executemany(f"UPDATE mentions SET {_EDITS} WHERE id = :id AND ({_DIFFERS})", rows)
    if db.total_changes == before:
        return []
    return [mention_id for mention_id, _ in changed]


async def _apply_deletes(db: aiosqlite.Connection, deletes: list[tuple[str, str]]) -> list[int]:
    if not deletes:
        return []
    ids = await _ids_for(db, deletes)
    await db.executemany(
        "UPDATE mentions SET deleted = 1 WHERE id = ?", [(i,) for i in ids.values()]
    )
    return list(ids.values())


async def _save_sources(
    db: aiosqlite.Connection, sources: list[SourceStatus], now: datetime
) -> None:
    rows = [
        (
            s.name,
            s.type,
            s.cursor,
            s.health.state.value,
            opt_iso(s.health.last_success),
            s.health.last_error,
            opt_iso(s.health.retry_at),
            s.health.received,
            s.health.malformed,
            iso(now),
        )
        for s in sources
    ]
    await db.executemany(
        """INSERT INTO source_state (name, type, cursor, state, last_success, last_error,
               retry_at, received, malformed, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET type = excluded.type,
               cursor = coalesce(excluded.cursor, source_state.cursor), state = excluded.state,
               last_success = excluded.last_success, last_error = excluded.last_error,
               retry_at = excluded.retry_at, received = excluded.received,
               malformed = excluded.malformed, updated_at = excluded.updated_at""",
        rows,
    )
