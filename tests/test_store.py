"""The store: a real SQLite file; idempotent ingest, append-only decisions, outcomes, undo."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from playbooks import Engine
from sources.contract import Health, HealthState
from tests.conftest import FROZEN, demo_mentions, ingest
from tui import reads, schema
from tui import store as store_module
from tui.ledger import Who
from tui.prepare import prepare
from tui.query import Query, compile_query
from tui.store import DecisionRefused, IngestBatch, SourceStatus, Store, StoreError, where_of
from tui.timefmt import iso, parse
from tui.views import context
from tui.writelock import WriteLock


def query(text: str) -> Query:
    return compile_query(text, context("pat", FROZEN))


def _sql(store: Store, query: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(store.path) as db:
        return db.execute(query, args).fetchall()


async def test_database_is_wal_with_a_schema_version(store: Store) -> None:
    assert _sql(store, "PRAGMA journal_mode") == [("wal",)]
    versions = [(n,) for n in range(1, schema.LATEST + 1)]
    assert _sql(store, "SELECT version FROM schema_version") == versions


async def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    for _ in range(2):
        async with await Store.open(tmp_path / "x.db"):
            pass
    with sqlite3.connect(tmp_path / "x.db") as db:
        assert db.execute("SELECT count(*) FROM schema_version").fetchone() == (schema.LATEST,)


async def test_a_write_cancelled_while_beginning_leaves_no_transaction_open(
    tmp_path: Path, engine: Engine
) -> None:
    """The BEGIN still runs in the connection's thread after the cancel: without a rollback
    the connection could not begin again and other processes could not write at all."""
    async with (
        await Store.open(tmp_path / "t.db") as store,
        await Store.open(tmp_path / "t.db") as other,
    ):
        writing = asyncio.create_task(ingest(store, engine, demo_mentions(1)))
        await asyncio.sleep(0)  # it has sent BEGIN IMMEDIATE and waits for it
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
        async with asyncio.timeout(5):
            [mention_id] = await ingest(other, engine, demo_mentions(1))
        assert await ingest(store, engine, demo_mentions(2)) == [mention_id + 1]


async def test_ingest_is_idempotent(store: Store, engine: Engine) -> None:
    mentions = demo_mentions(40)
    first = await ingest(store, engine, mentions)
    again = await ingest(store, engine, mentions)
    assert len(first) == 40 and again == []
    assert _sql(store, "SELECT count(*) FROM mentions") == [(40,)]
    assert _sql(store, "SELECT count(DISTINCT mention_id) FROM suggestions") == [(40,)]


async def test_an_edit_updates_the_row_and_keeps_its_suggestions(
    store: Store, engine: Engine
) -> None:
    [mention] = demo_mentions(1)
    [mention_id] = await ingest(store, engine, [mention])
    before = _sql(store, "SELECT id, rule_id FROM suggestions")
    edited = mention.model_copy(update={"text": "edited text", "edited_at": mention.created_at})
    batch = IngestBatch(upserts=[prepare(edited, engine, store.clock())])
    result = await store.ingest(batch)
    assert result.new_ids == [] and result.changed_ids == [mention_id]
    assert _sql(store, "SELECT text FROM mentions") == [("edited text",)]
    assert _sql(store, "SELECT id, rule_id FROM suggestions") == before


async def test_delete_marks_the_mention_and_keeps_the_record(store: Store, engine: Engine) -> None:
    [mention] = demo_mentions(1)
    await ingest(store, engine, [mention])
    await store.ingest(IngestBatch(deletes=[(mention.source_name, mention.native_id)]))
    assert _sql(store, "SELECT deleted, text FROM mentions") == [(1, mention.text)]


async def test_cursor_and_health_are_saved_with_the_batch(store: Store) -> None:
    health = Health(state=HealthState.OK, received=3)
    await store.ingest(IngestBatch(sources=[SourceStatus("demo", "demo", "42", health)]))
    await store.ingest(IngestBatch(sources=[SourceStatus("demo", "demo", None, health)]))
    assert await store.cursors() == {"demo": "42"}  # a batch without progress keeps the cursor


async def test_decision_outcomes_against_the_suggestion(store: Store, engine: Engine) -> None:
    ids = await ingest(store, engine, demo_mentions(4))
    outcomes = []
    for mention_id, how in zip(
        ids, ("accepted", "edited", "overridden", "none_offered"), strict=True
    ):
        detail = await store.detail(mention_id)
        assert detail is not None
        top = detail.suggestions[0]
        params = dict(top.params)
        action = top.action
        if how == "edited":
            params["note"] = "changed"
        if how == "overridden":
            action = "snooze" if top.action != "snooze" else "tag"
        record = await store.decide(
            mention_id,
            actor="pat",
            action=action,
            params=params,
            suggestion_id=None if how == "none_offered" else top.id,
            view="Inbox",
        )
        outcomes.append(record.outcome)
    assert outcomes == ["accepted", "edited", "overridden", "none_offered"]
    assert _sql(store, "SELECT count(*) FROM decisions WHERE actor = 'pat'") == [(4,)]


async def test_decisions_are_append_only_in_the_database_itself(
    store: Store, engine: Engine
) -> None:
    [mention_id] = await ingest(store, engine, demo_mentions(1))
    await store.decide(mention_id, actor="pat", action="tag")
    with (
        sqlite3.connect(store.path) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute("UPDATE decisions SET actor = 'mallory'")
    with (
        sqlite3.connect(store.path) as db,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        db.execute("DELETE FROM decisions")


async def test_undo_logs_a_reversing_decision_and_restores_status(
    store: Store, engine: Engine
) -> None:
    [mention_id] = await ingest(store, engine, demo_mentions(1))
    done = await store.decide(mention_id, actor="pat", action="escalate", params={"team": "sre"})
    undo = await store.undo_last("pat", view="Inbox")
    assert (undo.action, undo.reverses_id, undo.status_after) == ("undo", done.id, "new")
    assert _sql(store, "SELECT status FROM mentions") == [("new",)]
    assert _sql(store, "SELECT count(*) FROM decisions") == [(2,)]
    with pytest.raises(DecisionRefused, match="nothing to undo"):
        await store.undo_last("pat")


async def test_undo_is_per_actor_and_refused_after_someone_else_decided(
    store: Store, engine: Engine
) -> None:
    [mention_id] = await ingest(store, engine, demo_mentions(1))
    await store.decide(mention_id, actor="pat", action="tag")
    await store.decide(mention_id, actor="sam", action="escalate", params={"team": "x"})
    with pytest.raises(DecisionRefused, match="decided again"):
        await store.undo_last("pat")
    assert (await store.undo_last("sam")).status_after == "done"


async def test_queue_order_is_most_urgent_then_oldest(store: Store, engine: Engine) -> None:
    ids = await ingest(store, engine, demo_mentions(60))
    order = await store.queue_ids(query("status:new"))
    assert sorted(order) == sorted(ids)
    rows = await store.queue_rows(order)
    ranks = [("urgent", "high", "normal", "low").index(rows[i].priority) for i in order]
    assert ranks == sorted(ranks)


async def test_unknown_action_and_foreign_suggestion_are_refused(
    store: Store, engine: Engine
) -> None:
    a, b = await ingest(store, engine, demo_mentions(2))
    detail_b = await store.detail(b)
    assert detail_b is not None
    with pytest.raises(DecisionRefused, match="unknown action"):
        await store.decide(a, actor="pat", action="launch")
    with pytest.raises(DecisionRefused, match="is not for mention"):
        await store.decide(a, actor="pat", action="tag", suggestion_id=detail_b.suggestions[0].id)


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("this is not sqlite " * 100)
    with pytest.raises(
        StoreError, match=r"notes\.db: cannot open database: file is not a database"
    ):
        await Store.open(path)


async def test_read_only_store_refuses_writes(tmp_path: Path, engine: Engine) -> None:
    async with await Store.open(tmp_path / "r.db") as writable:
        await ingest(writable, engine, demo_mentions(1))
    async with await Store.open(tmp_path / "r.db", readonly=True) as readonly:
        assert len(await readonly.queue_ids(query("status:new"))) == 1
        with pytest.raises(StoreError, match="read-only"):
            await readonly.decide(1, actor="pat", action="tag")
    with pytest.raises(StoreError, match="no such database"):
        await Store.open(tmp_path / "missing.db", readonly=True)


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "n.db"):
        pass
    with sqlite3.connect(tmp_path / "n.db") as db:
        db.execute("INSERT INTO schema_version VALUES (99, 'later')")
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        await Store.open(tmp_path / "n.db")


async def test_an_older_database_is_migrated_in_place_keeping_its_data(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a database as the first release left it
        db.executescript(schema.MIGRATIONS[0])
        db.execute("INSERT INTO schema_version VALUES (1, '2026-11-01T00:00:00.000000Z')")
        db.execute(
            "INSERT INTO mentions (source, source_name, native_id, kind, published_at,"
            " received_at, author_handle, text) VALUES ('rss', 'news', 'a1', 'article',"
            " '2026-11-01T00:00:00.000000Z', '2026-11-01T00:00:00.000000Z', 'x', 'hello')"
        )
        db.execute(
            "INSERT INTO suggestions (mention_id, rank, playbook_id, playbook_version, rule_id,"
            " action, params, priority, why, created_at) VALUES (1, 0, 'p', 'v', 'r', 'tag',"
            " '{\"tags\": [\"press\"]}', 'low', 'why', '2026-11-01T00:00:00.000000Z')"
        )
    async with await Store.open(path) as store:
        assert _sql(store, "SELECT max(version) FROM schema_version") == [(schema.LATEST,)]
        assert _sql(store, "SELECT text, tags FROM mentions") == [("hello", '["press"]')]


async def test_a_writer_cancelled_while_waiting_for_the_write_lock_does_not_keep_it(
    tmp_path: Path,
) -> None:
    db = tmp_path / "x.db"
    first, second, third = (WriteLock.beside(db) for _ in range(3))
    assert first is not None and second is not None and third is not None
    await first.acquire()
    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.05)
    waiting.cancel()
    first.release()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with asyncio.timeout(2):  # the abandoned wait gave the lock back
        await third.acquire()
    for lock in (first, second, third):
        lock.close()


async def test_a_word_index_built_before_short_words_were_indexed_is_built_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    at = "2026-11-01T00:00:00.000000Z"
    with sqlite3.connect(path) as db:  # schema 13, its word index up to date
        for number, script in enumerate(schema.MIGRATIONS[:13], start=1):
            db.executescript(script)
            db.execute("INSERT INTO schema_version VALUES (?, ?)", (number, at))
        db.execute(
            "INSERT INTO mentions (source, source_name, native_id, kind, published_at,"
            " received_at, author_handle, text, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("rss", "news", "a1", "article", at, at, "x", "hello", '["vip"]'),
        )
        db.execute("INSERT INTO mention_search (rowid, title, text) VALUES (1, NULL, 'hello')")
        db.execute("INSERT INTO mention_tag_search (rowid, tags) VALUES (1, '[\"vip\"]')")
        db.execute("UPDATE search_state SET indexed_to = 1")
    async with await Store.open(path) as store:
        assert await store.search_backlog() == 1
        await store.index_search(10)
        assert await store.queue_ids(query(""), query("lo")) == [1]  # the text's last two
        assert await store.queue_ids(query(""), query("tag:vip")) == [1]
    with sqlite3.connect(path) as db:  # each index agrees with what it was built from
        for table in ("mention_search", "mention_tag_search"):
            db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")


NEGATABLE = [
    "status:new",
    "priority:urgent,high",
    "source:mastodon",
    "tag:outage",
    "assignee:me",
    "assignee:none",
    "claimed:me",
    "claimed:any",
    "age:<1h",
    "due:<15m",
    "sla:breached",
    "decided:today",
    "lang:en",
    "kind:reply",
    "rule:down-report",
    "action:escalate",
    "down",
    '"EU region"',
]


async def test_a_negated_term_finds_every_mention_the_term_does_not(
    store: Store, engine: Engine
) -> None:
    """Including those where the term's column is empty: `-lang:en` keeps the mentions of
    no known language, and `-assignee:me` the unassigned ones."""
    mentions = demo_mentions(60)
    for n in range(0, 60, 6):
        mentions[n] = mentions[n].model_copy(update={"language": None})
    ids = await ingest(store, engine, mentions)
    pat = Who("pat", "desk-1")
    await store.decide(ids[1], actor="pat", action="assign", params={"assignee": "pat"})
    await store.decide(ids[2], actor="pat", action="dismiss", params={"reason": "spam"})
    await store.claim(ids[3], pat)
    everything = set(ids)
    for term in NEGATABLE:
        found = set(await store.queue_ids(query(term)))
        assert 0 < len(found) < len(ids), term  # a term that splits the mentions
        assert set(await store.queue_ids(query(f"-{term}"))) == everything - found, term


async def test_due_and_sla_terms_agree_with_the_stored_due_times(
    store: Store, engine: Engine
) -> None:
    """Mentions with no due time included (they sort last, and are never due or breached),
    and a clock at a due time exactly."""
    ids = await ingest(store, engine, demo_mentions(60))
    await store.decide(ids[0], actor="pat", action="dismiss", params={"reason": "spam"})
    Row = tuple[int, str | None, str]
    rows = [cast(Row, row) for row in _sql(store, "SELECT id, sla_due_at, status FROM mentions")]
    assert any(due is None for _, due, _ in rows)
    for clock in (FROZEN, parse(min(due for _, due, _ in rows if due))):
        soon, now = iso(clock + timedelta(minutes=15)), iso(clock)
        breached = {i for i, due, status in rows if due and due < now and status == "new"}
        expected = {
            "due:<15m": {i for i, due, _ in rows if due and due < soon},
            "due:>15m": {i for i, due, _ in rows if due and due > soon},
            "sla:breached": breached,
            "sla:ok": {i for i, *_ in rows} - breached,
        }
        if clock == FROZEN:  # each term splits the mentions
            assert all(0 < len(want) < len(rows) for want in expected.values())
        for term, want in expected.items():
            found = await store.queue_ids(compile_query(term, context("pat", clock)))
            assert set(found) == want, (term, clock)


async def test_urgent_is_in_due_order_and_its_first_screenful_reads_an_index(
    store: Store, engine: Engine
) -> None:
    """Sorting every urgent mention for a screenful took 0.4-0.65 s at a million."""
    await ingest(store, engine, demo_mentions(60))
    urgent = query("status:new priority:urgent,high,low sort:due")
    rows = _sql(
        store, "SELECT id, sla_due_at, priority_rank FROM mentions WHERE priority != 'normal'"
    )
    assert any(due is None for _, due, _ in rows)
    by_due = [i for i, *_ in sorted(rows, key=lambda r: (r[1] or "9999", r[2], r[0]))]
    assert await store.queue_ids(urgent) == by_due
    assert await store.queue_ids(urgent, limit=10) == by_due[:10]
    where, args = where_of(urgent, None)
    sql = f"SELECT m.id FROM mentions m WHERE {where} ORDER BY {urgent.order} LIMIT 10"
    plan = " ".join(str(row[-1]) for row in _sql(store, f"EXPLAIN QUERY PLAN {sql}", *args))
    assert "mentions_due" in plan and "TEMP B-TREE" not in plan, plan


async def test_which_mentions_are_still_in_a_view_is_looked_up_by_primary_key(
    store: Store, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a status term, SQLite walked the status index instead: every new mention, 0.2 s
    at a million, on each commit any other desk made."""
    ids = await ingest(store, engine, demo_mentions(60))
    await store.decide(ids[1], actor="pat", action="dismiss", params={"reason": "spam"})
    ran: list[tuple[str, tuple[object, ...]]] = []
    read = reads.all_rows

    async def recorded(db: Any, sql: str, args: Sequence[object] = ()) -> list[Any]:
        ran.append((sql, tuple(args)))
        return await read(db, sql, args)

    monkeypatch.setattr(store_module, "all_rows", recorded)
    assert await store.still_in(query("status:new"), None, ids[:3]) == {ids[0], ids[2]}
    [(sql, args)] = ran
    plan = " ".join(str(row[-1]) for row in _sql(store, f"EXPLAIN QUERY PLAN {sql}", *args))
    assert "INTEGER PRIMARY KEY" in plan and "INDEX" not in plan.replace("PRIMARY KEY", ""), plan
