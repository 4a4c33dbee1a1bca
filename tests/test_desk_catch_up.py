"""The desk applies what changed to the list it shows (tui.view_delta) instead of reading the
whole view again, and ends up showing what a whole read would show."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from playbooks import Engine
from sources.model import Mention
from tests.conftest import FROZEN, demo_mentions
from tests.desk import arrive, desk, settle, until
from tui.app import DeskApp
from tui.ledger import Who
from tui.query import Query, compile_query
from tui.store import Store
from tui.views import context


def _late(count: int) -> list[Mention]:
    """Mentions that arrive after the desk opened: other texts, other priorities."""
    return [
        m.model_copy(update={"native_id": f"late-{i}"})
        for i, m in enumerate(demo_mentions(count, seed=11))
    ]


class _WholeReads:
    """Counts the desk's reads of its whole view (a first screenful is not one)."""

    def __init__(self, app: DeskApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        read = app.store.queue_ids

        async def counted(query: Query, narrow: Query | None = None, limit: Any = None) -> Any:
            self.count += limit is None
            return await read(query, narrow, limit)

        monkeypatch.setattr(app.store, "queue_ids", counted)


SAM = Who("sam", "sams-desk")


async def _sam(store: Store, mention_id: int, action: str, params: dict[str, Any]) -> None:
    """A colleague on another desk claims the mention and decides."""
    await store.claim(mention_id, SAM)
    await store.decide(mention_id, actor="sam", action=action, params=params, session=SAM.session)


@asynccontextmanager
async def _running(
    app: DeskApp, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Pilot[int], _WholeReads]]:
    """The desk up with its view read, counting its whole reads from then on."""
    async with app.run_test(size=(120, 20)) as pilot:
        await settle(pilot)
        yield pilot, _WholeReads(app, monkeypatch)


async def _read_whole(app: DeskApp, text: str) -> list[int]:
    async with await Store.open(app.settings.db, readonly=True) as store:
        return await store.queue_ids(compile_query(text, context("pat", FROZEN)))


async def test_arrivals_from_another_process_join_in_order_without_a_whole_read(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await desk(tmp_path, engine, count=40)
    async with _running(app, monkeypatch) as (pilot, whole):
        cursor_on = app.model.id_at(app.queue.cursor)
        await arrive(pilot, app, engine, _late(30))
        assert len(app.model) == 70
        assert app.model.ids == await _read_whole(app, "status:new")
        assert app.model.id_at(app.queue.cursor) == cursor_on  # the responder's place
        assert whole.count == 0


async def test_a_colleagues_decision_off_screen_leaves_the_view_and_undo_brings_it_back(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await desk(tmp_path, engine, count=60)
    async with _running(app, monkeypatch) as (pilot, whole):
        before = list(app.model.ids)
        target = before[-3]  # far below the screen: not among the rows the desk holds
        assert target not in app.model.loaded()
        async with await Store.open(app.settings.db, clock=lambda: FROZEN) as other:
            await _sam(other, target, "dismiss", {"reason": "spam"})
            await until(pilot, lambda: target not in app.model)
            assert app.model.ids == [i for i in before if i != target]
            await other.undo_last("sam", session=SAM.session)
        await until(pilot, lambda: target in app.model)
        assert app.model.ids == before
        assert whole.count == 0


async def test_own_decisions_and_undo_keep_the_list_as_a_whole_read_has_it(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await desk(tmp_path, engine, count=30)
    async with _running(app, monkeypatch) as (pilot, whole):
        await pilot.press("j", "j", "a", "a")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        await until(pilot, lambda: len(app.model) == 29)
        assert app.model.ids == await _read_whole(app, "status:new")
        assert whole.count == 0
        with sqlite3.connect(app.settings.db) as db:
            [[undone]] = db.execute("SELECT count(*) FROM decisions WHERE action = 'undo'")
        assert undone == 1


async def test_a_view_that_depends_on_the_clock_is_read_whole(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await desk(
        tmp_path, engine, count=20, extra='[[views]]\nname = "Fresh"\nquery = "age:<1d"\n'
    )
    async with _running(app, monkeypatch) as (pilot, whole):
        await arrive(pilot, app, engine, _late(5))
        assert len(app.model) == 25
        assert app.model.ids == await _read_whole(app, "age:<1d")
        assert whole.count >= 1


async def test_a_snooze_woken_by_another_desk_returns_to_the_view(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [FROZEN]
    app = await desk(tmp_path, engine, count=20)
    app.clock = lambda: now[0]
    async with _running(app, monkeypatch) as (pilot, whole):
        before = list(app.model.ids)
        target = before[4]
        async with await Store.open(app.settings.db, clock=lambda: now[0]) as other:
            await _sam(other, target, "snooze", {"snooze": "30m"})
            await until(pilot, lambda: target not in app.model)
            await pilot.pause(0.5)  # the desk has caught up with the snooze: it is out
            now[0] = FROZEN + timedelta(minutes=31)
            assert await other.wake_snoozed() == 1  # logs no decision: no trace but the snooze
        await until(pilot, lambda: target in app.model)
        assert app.model.ids == before
        assert whole.count >= 1  # a woken snooze logs nothing to catch up from: read whole
