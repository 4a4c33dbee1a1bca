"""Helpers to build a desk over a seeded database for Pilot and snapshot tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from playbooks import Engine
from sources.model import Mention
from tests.conftest import FROZEN, demo_mentions, ingest
from tui.app import FOREVER, DeskApp
from tui.settings import Loaded, load
from tui.store import Store


def settings_for(tmp_path: Path, extra: str = "") -> Loaded:
    config = tmp_path / "config.toml"
    config.write_text(
        f'actor = "pat"\ndb = "{tmp_path / "desk.db"}"\n{extra}\n'
        f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{tmp_path / "in.jsonl"}"\n'
    )
    return load(config)


async def seed(loaded: Loaded, engine: Engine, mentions: list[Mention]) -> list[int]:
    async with await Store.open(loaded.settings.db, clock=lambda: FROZEN) as store:
        return await ingest(store, engine, mentions)


async def arrive(
    pilot: Pilot[int], app: DeskApp, engine: Engine, mentions: list[Mention]
) -> list[int]:
    """`mentions` stored over a connection of their own, as another process's ingest
    stores them; returns once the desk's list has grown by as many."""
    shown = len(app.model) + len(mentions)
    ids = await seed(app.loaded, engine, mentions)
    await until(pilot, lambda: len(app.model) == shown)
    return ids


async def desk(
    tmp_path: Path,
    engine: Engine,
    count: int = 12,
    extra: str = "",
    mentions: list[Mention] | None = None,
) -> DeskApp:
    """A desk on a fresh database seeded with demo (or given) mentions; no live ingest."""
    loaded = settings_for(tmp_path, extra)
    await seed(loaded, engine, mentions if mentions is not None else demo_mentions(count))
    return DeskApp(loaded, engine, clock=lambda: FROZEN, ingest=False)


def desk_sync(
    tmp_path: Path,
    engine: Engine,
    count: int = 12,
    extra: str = "",
    mentions: list[Mention] | None = None,
) -> DeskApp:
    """`desk` for synchronous tests (snapshots run their own event loop)."""
    return asyncio.run(desk(tmp_path, engine, count, extra, mentions))


async def modal(pilot: Pilot[int], key: str) -> None:
    """Press a key that opens a modal (from a worker) and wait until it is up, so the keys
    typed next go to it and not to the queue."""
    await pilot.press(key)
    for _ in range(100):
        if pilot.app.screen.is_modal:
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"{key} opened no dialog")


async def settle(pilot: Pilot[int], limit: float = 5.0) -> None:
    """Wait until the desk's background work (details, counts) is done."""
    from textual.worker import WorkerState

    busy = (WorkerState.PENDING, WorkerState.RUNNING)
    for _ in range(int(limit / 0.05)):
        if not any(w.state in busy and w.group not in FOREVER for w in pilot.app.workers):
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def until(pilot: Pilot[int], done: Callable[[], bool], limit: float = 5.0) -> None:
    """Wait for a condition the desk reaches in the background; fail if it never does."""
    for _ in range(int(limit / 0.05)):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError("the desk did not get there in time")
