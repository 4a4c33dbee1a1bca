"""The filter's word index: what a filter finds never depends on it, only how fast it is found.

Every answer is checked against the same query run over every row, as the store ran it
before the index existed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playbooks import Engine
from tests.conftest import FROZEN, demo_mentions, ingest
from tests.desk import desk
from tui import search
from tui import store as store_module
from tui.ledger import Who
from tui.prepare import prepare
from tui.query import Query, QueryError, compile_query
from tui.store import IngestBatch, Store, where_of
from tui.views import context

FILTERS = [
    "outage",
    "OUTAGE",  # any case
    "down",
    "zzyzx",  # in no mention
    "straße",  # not ASCII: case is folded for ASCII only, as LIKE does
    "STRASSE",
    "éclair",
    "ÉCLAIR",
    "is",  # too short for a trigram: from the trigrams that begin with it
    "qx",  # only at the very end of a text
    "QX",
    "va",
    "q",
    "é",  # folds to itself
    "É",
    "ß",  # folds to "ss": read from every row
    '"is down"',
    "down -outage",
    "tag:outage",
    "tag:vip",
    "tag:vip,outage",
    "-tag:outage status:new",
    "refund tag:billing",
    'say "hi"',
]


def query(text: str) -> Query:
    return compile_query(text, context("pat", FROZEN))


def every_row(path: Path, view: Query, narrow: Query) -> list[int]:
    where, args = where_of(view, narrow)
    with sqlite3.connect(path) as db:
        sql = f"SELECT m.id FROM mentions m WHERE {where} ORDER BY {view.order}"
        return [row[0] for row in db.execute(sql, args)]


async def a_shift(store: Store, engine: Engine) -> list[int]:
    mentions = demo_mentions(240)
    odd = ["Straße ÉCLAIR is down", "STRASSE éclair", 'they say "hi"', "ca va", "fix it, Qx"]
    for n, text in enumerate(odd):
        mentions[n * 7] = mentions[n * 7].model_copy(update={"text": text})
    return await ingest(store, engine, mentions)


async def found_as_every_row_finds(store: Store) -> None:
    for view_text in ("status:new", "sort:newest", ""):
        view = query(view_text)
        for text in FILTERS:
            narrow = query(text)
            expected = every_row(store.path, view, narrow)
            assert await store.queue_ids(view, narrow) == expected, (view_text, text)
            assert await store.queue_ids(view, narrow, limit=5) == expected[:5], text
            assert await store.count(narrow) == len(every_row(store.path, query(""), narrow))


@pytest.mark.parametrize("indexed", ["none", "half", "all"])
@pytest.mark.parametrize("least", [3, search.DRIVE_LEAST])
@pytest.mark.parametrize("in_order", [True, False])
async def test_a_filter_finds_what_reading_every_row_finds(
    store: Store,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    indexed: str,
    least: int,
    in_order: bool,
) -> None:
    """Whatever part of the store is indexed, whether a word is rare enough to start from
    its candidates (3: almost never; the default: always, at this size), and whether a first
    screenful is read in the view's order or by a scan of the table."""
    monkeypatch.setattr(search, "DRIVE_FACTOR", 0)
    monkeypatch.setattr(search, "DRIVE_LEAST", least)
    if not in_order:
        monkeypatch.setattr(store_module, "PATIENCE_LEAST", 0)
        monkeypatch.setattr(search, "SCAN_ROW", 0)
    ids = await a_shift(store, engine)
    if indexed != "none":
        await store.index_search(len(ids) // 2 if indexed == "half" else len(ids))
    assert await store.search_backlog() == {"none": 240, "half": 120, "all": 0}[indexed]
    await found_as_every_row_finds(store)


def _slow(work: int) -> Query:
    """A filter that keeps SQLite busy on every row (`work` steps) and passes every third."""
    sql = (
        "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ? + m.id)"
        " SELECT count(*) FROM c) % 3 = 0"
    )
    return Query("slow", sql, (work,), query("").sort)


@pytest.fixture
def interrupts(monkeypatch: pytest.MonkeyPatch) -> list[aiosqlite.Connection]:
    """Each connection interrupted, in order."""
    seen: list[aiosqlite.Connection] = []
    interrupt = aiosqlite.Connection.interrupt

    async def counted(db: aiosqlite.Connection) -> None:
        seen.append(db)
        await interrupt(db)

    monkeypatch.setattr(aiosqlite.Connection, "interrupt", counted)
    return seen


async def test_a_slow_first_screenful_is_stopped_and_read_by_a_scan_instead(
    store: Store, engine: Engine, interrupts: list[aiosqlite.Connection]
) -> None:
    """A filter that keeps SQLite busy on every row: the read in the view's order is
    interrupted, the scan gives the same answer, and the reader is fine afterwards."""
    ids = await a_shift(store, engine)
    narrow = _slow(5000)  # ~1 ms of work a row
    view = query("sort:newest")  # the view's index, in order: no sort to wait for
    expected = every_row(store.path, view, narrow)
    assert 0 < len(expected) < len(ids)
    assert await store.queue_ids(view, narrow, limit=20) == expected[:20]
    assert len(interrupts) == 1 and interrupts[0] is not store.reader  # not the rows' reads
    assert await store.queue_ids(view, narrow, limit=20) == expected[:20]  # and again
    assert (await store.detail(ids[0])) is not None


async def test_a_screenful_the_views_order_is_slow_to_find_is_read_from_candidates(
    store: Store, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too common a word to start from, whose matches the view's order does not reach in
    its time: read from its candidates when they cost less than a scan of every row."""
    await a_shift(store, engine)
    await store.index_search(1000)
    monkeypatch.setattr(search, "DRIVE_LEAST", 3)
    monkeypatch.setattr(search, "DRIVE_FACTOR", 0)  # no word is rare enough to start from
    monkeypatch.setattr(store_module, "PATIENCE_LEAST", 0)
    monkeypatch.setattr(search, "SCAN_ROW", 0)  # the view's order gets no time at all
    starts: list[search.Start] = []
    start_for = search.start_for

    async def recorded(*args: Any) -> search.Start:
        starts.append(await start_for(*args))
        return starts[-1]

    monkeypatch.setattr(search, "start_for", recorded)
    view, narrow = query("sort:newest"), query("down")
    for cheaper_below, from_candidates in ((10**9, True), (3, False)):
        monkeypatch.setattr(search, "cheaper_than_scan", lambda _, below=cheaper_below: below)
        starts.clear()
        found = await store.queue_ids(view, narrow, limit=5)
        assert found == every_row(store.path, view, narrow)[:5]
        assert len(starts) == 2 and starts[0] is search.EVERY_ROW  # asked again, when late
        assert (search.TEXT in starts[1].sql) is from_candidates


@pytest.mark.parametrize(
    ("patience", "stops"),
    [(10.0, 1), (0.0, 2)],  # cancelled while read in the view's order; while scanned after
)
async def test_a_first_screenful_cancelled_by_a_newer_one_stops_its_read(
    store: Store,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    interrupts: list[aiosqlite.Connection],
    patience: float,
    stops: int,
) -> None:
    await a_shift(store, engine)
    monkeypatch.setattr(store_module, "PATIENCE_LEAST", patience)
    view = query("sort:newest")
    # ~60 ms of work a row: 20 in the view's order take ~4 s, a scan ~20
    reading = asyncio.ensure_future(store.queue_ids(view, _slow(200_000), limit=20))
    await asyncio.sleep(0.3)
    assert not reading.done()
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert len(interrupts) >= stops  # each statement stopped (an early interrupt is sent again)
    newer = query("acme")  # the next view's screenful is not stuck behind the old one
    async with asyncio.timeout(2):
        found = await store.queue_ids(view, newer, limit=5)
    assert found == every_row(store.path, view, newer)[:5]


async def test_arrivals_after_the_index_are_found_before_it_reaches_them(
    store: Store, engine: Engine
) -> None:
    await a_shift(store, engine)
    await store.index_search(1000)
    late = demo_mentions(300)[-1].model_copy(update={"native_id": "late", "text": "zzyzx"})
    [late_id] = await ingest(store, engine, [late])
    assert await store.search_backlog() == 1
    assert await store.queue_ids(query(""), query("zzyzx")) == [late_id]
    pat = Who("pat", "desk-1")
    assert await store.pull_next(pat, query("status:new"), query("zzyzx")) == late_id
    assert await store.pull_next(pat, query("status:new"), query("zzyzx")) is None  # claimed


async def test_edits_and_tags_after_indexing_are_found_and_the_index_stays_whole(
    store: Store, engine: Engine
) -> None:
    ids = await a_shift(store, engine)
    await store.index_search(1000)
    first = demo_mentions(1)[0]
    edited = first.model_copy(update={"text": "now it reads zzyzx", "edited_at": FROZEN})
    await store.ingest(IngestBatch(upserts=[prepare(edited, engine, store.clock())]))
    await store.decide(ids[5], actor="pat", action="tag", params={"tags": ["qwerty"]})
    assert await store.queue_ids(query(""), query("zzyzx")) == [ids[0]]
    assert await store.queue_ids(query(""), query("tag:qwerty")) == [ids[5]]
    assert await store.queue_ids(query(""), query(first.text[:12])) == every_row(
        store.path, query(""), query(first.text[:12])
    )
    await found_as_every_row_finds(store)
    with sqlite3.connect(store.path) as db:  # the index agrees with the rows it was built from
        for table in (search.TEXT, search.TAGS):
            db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")


def test_a_rare_word_starts_from_its_candidates_and_a_common_one_from_the_view(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> tuple[search.Start, ...]:
        async with await Store.open(tmp_path / "t.db") as store:
            await a_shift(store, engine)
            await store.index_search(1000)
            db = store.reader
            found = (
                await search.start_for(db, ["zzyzx"], []),
                await search.start_for(db, ["e"], []),  # no trigram
                await search.start_for(db, [], ["vip"]),
                await search.start_for(db, ["down", "zzyzx"], []),  # the rarer one
                await search.start_for(db, ["qx"], []),  # only "qx " (the text's end)
                await search.start_for(db, ["zq"], []),  # begins none
            )
            monkeypatch.setattr(search, "DRIVE_LEAST", 20)  # as if the store were huge
            return (*found, await search.start_for(db, ["acme"], []))

    rare, short, tag, rarer, two, none, common = asyncio.run(main())
    assert rare.args == ('"yzx" AND "zyz" AND "zzy"',) and search.TEXT in rare.sql
    assert short is search.EVERY_ROW
    assert tag.args == ('"vip"',) and search.TAGS in tag.sql
    assert rarer.args == rare.args
    assert two.args == ('"qx "',) and search.TEXT in two.sql
    assert none.args == () and search.TEXT not in none.sql
    assert common is search.EVERY_ROW


async def test_keep_up_indexes_a_trickle_and_makes_way_for_an_import() -> None:
    backlog, indexed, caught_up = [0], [], asyncio.Event()

    async def waiting() -> int:
        return backlog[0]

    async def index(limit: int) -> int:
        await asyncio.sleep(0.005)  # a chunk's transaction
        done = min(limit, backlog[0])
        backlog[0] -= done
        indexed.append(done)
        if not backlog[0]:
            caught_up.set()
        return done

    task = asyncio.create_task(search.keep_up(waiting, index, idle=0.01))
    try:
        for _ in range(40):  # an import: 1,000 more every 10 ms; indexing keeps a tenth
            backlog[0] += 1_000
            await asyncio.sleep(0.01)
        assert 1 <= len(indexed) <= 15  # at half of the time it would have been ~40
        async with asyncio.timeout(20):  # it has finished: catch up
            await caught_up.wait()
        assert max(indexed) == search.CHUNK
        caught_up.clear()
        backlog[0] += 3  # a trickle is indexed as it comes
        async with asyncio.timeout(1):
            await caught_up.wait()
        assert indexed[-1] == 3
    finally:
        task.cancel()


async def test_a_desk_indexes_what_it_finds_unindexed(tmp_path: Path, engine: Engine) -> None:
    """A database written before the index, or by a bulk import: the desk catches up."""
    app = await desk(tmp_path, engine, count=60)
    async with app.run_test(size=(120, 30)) as pilot:
        assert await app.store.search_backlog() == 60
        for _ in range(100):
            if not await app.store.search_backlog():
                break
            await pilot.pause(0.1)
        assert await app.store.search_backlog() == 0


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Path:
    """A shift's database, indexed up to its second-to-last mention."""

    async def build(path: Path) -> None:
        async with await Store.open(path) as store:
            ids = await a_shift(store, engine)
            await store.index_search(len(ids) - 1)

    path = tmp_path_factory.mktemp("search") / "t.db"
    asyncio.run(build(path))
    return path


WORDS = st.sampled_from(
    sorted({w for m in demo_mentions(240) for w in m.text.split()} | {"tag:outage", "tag:vip"})
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.lists(st.one_of(WORDS, TEXT), min_size=1, max_size=3).map(" ".join))
def test_any_filter_finds_what_reading_every_row_finds(indexed: Path, text: str) -> None:
    """Quotes, FTS5's own syntax, NULs, any script: the index never errs and never hides."""
    try:
        narrow = query(text)
    except QueryError:
        return

    async def found() -> list[int]:
        async with await Store.open(indexed) as store:
            return await store.queue_ids(query(""), narrow)

    assert asyncio.run(found()) == every_row(indexed, query(""), narrow)
