"""The ingest runner: batches, cursors with the data, failing sources, one fetcher per source."""

from __future__ import annotations

import asyncio
import itertools
import random
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from playbooks import Engine
from sources.contract import HealthState, Source, SourceConfig
from sources.jsonl import JsonlConfig, JsonlSource
from sources.model import MentionEvent
from tests.conftest import FROZEN, demo_mentions, upsert
from tui.ingest import IngestRunner
from tui.store import Store


def feed(path: Path, count: int, start: int = 0) -> None:
    with path.open("a") as handle:
        for mention in demo_mentions(start + count)[start:]:
            handle.write(mention.model_dump_json() + "\n")


def jsonl(path: Path, follow: bool = False) -> JsonlSource:
    config = JsonlConfig(name="pipe", type="jsonl", path=path, follow=follow, follow_interval=0.02)
    return JsonlSource(config, clock=lambda: FROZEN)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


class BrokenConfig(SourceConfig):
    type: Literal["broken"] = "broken"


class Broken(Source[BrokenConfig]):
    config_model = BrokenConfig

    async def events(
        self, cursor: str | None, *, once: bool = False
    ) -> AsyncIterator[MentionEvent]:
        raise ConnectionError("the network is down")
        yield  # pragma: no cover


async def test_once_stores_everything_and_saves_the_cursor(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "in.jsonl"
    feed(path, 30)
    async with await Store.open(tmp_path / "t.db") as store:
        runner = IngestRunner(store, [jsonl(path)], lambda: engine, batch_size=7)
        await runner.run(once=True)
        assert runner.stored == 30
        cursor = (await store.cursors())["pipe"]
    assert cursor == f"{path.stat().st_size}:30"
    assert rows(
        tmp_path / "t.db",
        "SELECT count(*), count(DISTINCT mention_id) FROM suggestions WHERE rank = 0",
    ) == [(30, 30)]


async def test_a_failing_source_is_reported_and_the_others_still_run(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "in.jsonl"
    feed(path, 5)
    broken = Broken(BrokenConfig(name="flaky"))
    async with await Store.open(tmp_path / "t.db") as store:
        runner = IngestRunner(store, [broken, jsonl(path)], lambda: engine)
        await runner.run(once=True)
        assert runner.stored == 5
        states = {s["name"]: s for s in await store.source_states()}
    assert broken.health.state is HealthState.ERROR
    assert states["flaky"]["last_error"] == "ConnectionError: the network is down"


async def test_only_one_process_fetches_a_source_and_another_takes_over(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "grow.jsonl"
    feed(path, 10)
    db = tmp_path / "shared.db"
    async with await Store.open(db) as first_store, await Store.open(db) as second_store:
        first = IngestRunner(
            first_store,
            [jsonl(path, follow=True)],
            lambda: engine,
            session="desk-1",
            standby_poll=0.05,
        )
        second_source = jsonl(path, follow=True)
        second = IngestRunner(
            second_store, [second_source], lambda: engine, session="desk-2", standby_poll=0.05
        )
        first_task = asyncio.create_task(first.run())
        await asyncio.sleep(0.3)
        second_task = asyncio.create_task(second.run())
        await asyncio.sleep(0.3)
        assert second_source.health.state is HealthState.STANDBY
        assert rows(db, "SELECT holder FROM source_state") == [("desk-1",)]

        first_task.cancel()  # the first desk quits: it lets go of the source
        await asyncio.gather(first_task, return_exceptions=True)
        feed(path, 5, start=10)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if rows(db, "SELECT count(*) FROM mentions") == [(15,)]:
                break
        second_task.cancel()
        await asyncio.gather(second_task, return_exceptions=True)
    assert rows(db, "SELECT count(*), count(DISTINCT native_id) FROM mentions") == [(15, 15)]
    assert first.stored == 10 and second.stored == 5  # the second resumed at the cursor


async def test_ingest_once_stands_by_while_a_desk_fetches(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "in.jsonl"
    feed(path, 3)
    async with await Store.open(tmp_path / "t.db") as store:
        assert await store.hold_source("pipe", "jsonl", "a-desk")
        source = jsonl(path)
        runner = IngestRunner(store, [source], lambda: engine, session="cron")
        await runner.run(once=True)
    assert source.health.state is HealthState.STANDBY
    assert runner.stored == 0


def test_a_dead_holder_on_this_host_is_known_dead_a_live_one_is_not() -> None:
    import subprocess

    from tui.holders import holder_is_dead, session_id

    finished = subprocess.Popen(["true"])
    finished.wait()
    host, _, _ = session_id().split(":")
    assert holder_is_dead(f"{host}:{finished.pid}:abc")
    assert not holder_is_dead(session_id())  # this process
    assert not holder_is_dead(f"{host}:1:abc")  # init: alive
    assert not holder_is_dead(f"elsewhere.example:{finished.pid}:abc")  # cannot tell: lease


class EndlessConfig(SourceConfig):
    type: Literal["endless"] = "endless"


class Endless(Source[EndlessConfig]):
    """Mentions as fast as the event loop takes them, for ever."""

    config_model = EndlessConfig

    async def events(
        self, cursor: str | None, *, once: bool = False
    ) -> AsyncIterator[MentionEvent]:
        pool = demo_mentions(50)
        for n in itertools.count():
            yield upsert(pool[n % len(pool)], cursor=str(n))
            await asyncio.sleep(0)


async def test_a_busy_runner_always_stops_when_cancelled(tmp_path: Path, engine: Engine) -> None:
    """A server stopped under load must stop: 3.11's `wait_for` lost the cancel ~15% of the
    times when its queue read finished in the same turn, and `triage ingest` ran on."""
    random.seed(5)
    async with await Store.open(tmp_path / "t.db") as store:
        for _ in range(40):
            runner = IngestRunner(store, [Endless(EndlessConfig(name="fast"))], lambda: engine)
            running = asyncio.ensure_future(runner.run())
            asyncio.get_running_loop().call_later(random.uniform(0.01, 0.05), running.cancel)
            done, _ = await asyncio.wait({running}, timeout=5)
            assert done == {running}, "the runner ran on after it was cancelled"
            assert running.cancelled()
            assert asyncio.all_tasks() == {asyncio.current_task()}, "a source read on"
