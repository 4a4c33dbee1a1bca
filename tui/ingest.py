"""The ingest runner: sources -> received time -> sanitise -> playbooks -> store, in batches.

Each source runs in its own task and feeds one queue; a single writer drains it in batches
(up to `batch_size` events or `window` seconds), so SQLite sees a few large transactions
instead of one per mention. A source's cursor is saved in the same transaction as the
mentions before it: a crash loses no mention and stores none twice. A failing source is
reported in its health and retried with backoff; it never stops the others.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from playbooks.engine import Engine
from sources.contract import HealthState, Source
from sources.http import fetches_http, shared_client
from sources.jsonl import JsonlSource, LineBatch
from sources.model import Delete, MentionEvent, Upsert
from tui.holders import session_id
from tui.line_worker import LineWorker
from tui.prepare import prepare
from tui.store import SOURCE_LEASE, IngestBatch, IngestResult, SourceStatus, Store

OnBatch = Callable[[IngestResult], Awaitable[None] | None]
_DONE = object()  # a source task finished (once mode or end of a finite source)


@dataclass
class _Item:
    source: Source[Any]
    event: MentionEvent | LineBatch

    @property
    def size(self) -> int:
        return len(self.event.lines) if isinstance(self.event, LineBatch) else 1


class IngestRunner:
    def __init__(
        self,
        store: Store,
        sources: list[Source[Any]],
        engine: Callable[[], Engine],
        *,
        on_batch: OnBatch | None = None,
        batch_size: int = 200,  # bigger batches hold the GIL long enough to stall the desk
        window: float = 0.05,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        session: str | None = None,
        standby_poll: float = 10.0,
        offload: bool | None = None,
    ) -> None:
        self.store = store
        self.sources = sources
        self.engine = engine  # a callable, so a playbook reload takes effect on the next batch
        self.on_batch = on_batch
        self.batch_size = batch_size
        self.window = window
        self.clock = clock
        self.stored = 0
        self._cursors: dict[str, str | None] = {}
        self.session = session or session_id()  # this process, as a source lease holder
        self.standby_poll = standby_poll
        self.store_lease = SOURCE_LEASE
        # Fast JSONL feeds parsed and prepared in a second process: by default where there is
        # a second core for it.
        self.offload = (os.cpu_count() or 1) > 1 if offload is None else offload
        self.worker = LineWorker()

    async def run(self, *, once: bool = False) -> None:
        """Run every source; with `once`, return when each has delivered what it has now."""
        # One connection pool for every HTTP source, and none without them (closing even an
        # unused one imports anyio's backend on the loop: a 20 ms turn).
        pool = shared_client(self.sources) if fetches_http(self.sources) else nullcontext()
        async with pool:
            await self._run(once)

    async def _run(self, once: bool) -> None:
        # A batch's worth waiting, no more: each parsed mention waiting here is a dozen objects
        # every young collection walks (a desk fetching a 150k feed: the middle generation's
        # collections took 6.6 ms, median, with 800 waiting; 4.2-4.7 with 200).
        queue: asyncio.Queue[_Item | object] = asyncio.Queue(maxsize=self.batch_size)
        tasks = [
            asyncio.create_task(self._hold_and_pump(s, queue, once), name=f"source:{s.name}")
            for s in self.sources
        ]
        try:
            await self._write_loop(queue, running=len(tasks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.store.let_go_sources(self.session)

    async def _hold_and_pump(
        self, source: Source[Any], queue: asyncio.Queue[_Item | object], once: bool
    ) -> None:
        try:
            await self._fetch_while_held(source, queue, once)
        finally:
            # Cancelled, the write loop has stopped already: nobody would drain a full queue.
            if not _cancelling():
                await queue.put(_DONE)

    async def _fetch_while_held(
        self, source: Source[Any], queue: asyncio.Queue[_Item | object], once: bool
    ) -> None:
        """Fetch only while holding the source's lease, so desks sharing a database do not
        fetch the same source twice; stand by (and take over if the holder dies) otherwise."""
        while True:
            if not await self.store.hold_source(source.name, source.config.type, self.session):
                source.health.state = HealthState.STANDBY
                if once:
                    return
                await asyncio.sleep(self.standby_poll)
                continue
            # Another process may have advanced the cursor while we stood by.
            self._cursors[source.name] = (await self.store.cursors()).get(source.name)
            pump = asyncio.create_task(self._pump(source, queue, once))
            if await self._keep_lease(source, pump):
                return

    async def _keep_lease(self, source: Source[Any], pump: asyncio.Task[None]) -> bool:
        """Renew while the pump runs; True when it finished, False when the lease was lost.
        The pump never outlives this, whether it returns, loses the lease or is cancelled."""
        renew = self.store_lease.total_seconds() / 3
        try:
            while True:
                done, _ = await asyncio.wait({pump}, timeout=renew)
                if done:
                    pump.result()
                    return True
                if not await self.store.hold_source(source.name, source.config.type, self.session):
                    return False
        finally:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    async def _pump(
        self, source: Source[Any], queue: asyncio.Queue[_Item | object], once: bool
    ) -> None:
        failures = 0
        while True:
            try:
                async for event in self._stream(source, once):
                    failures = 0
                    await queue.put(_Item(source, event))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken source is a health state, never a crash
                failures += 1
                source.health.state = HealthState.ERROR
                source.health.last_error = f"{type(exc).__name__}: {exc}"
                if not once:
                    await asyncio.sleep(min(300.0, 2.0**failures) * random.uniform(0.5, 1.0))
                    continue
            return

    def _stream(self, source: Source[Any], once: bool) -> AsyncIterator[MentionEvent | LineBatch]:
        """A fast JSONL feed's lines unparsed (prepared in bulk, in the worker process when
        ingest falls behind); every other source's events."""
        cursor = self._cursors.get(source.name)
        if self.offload and isinstance(source, JsonlSource) and source.batches_lines:
            return source.line_batches(cursor, once=once)
        return source.events(cursor, once=once)

    async def _write_loop(self, queue: asyncio.Queue[_Item | object], running: int) -> None:
        """Prepare a batch in the line worker while the one before it is written, when more
        are coming (the last batch was full). Otherwise write each batch at once: an idle
        feed's without delay, and two batches prepared by threads of one process would only
        contend for its GIL."""
        writing: asyncio.Task[IngestBatch] | None = None
        try:
            while running:
                items, finished, full = await self._collect(queue)
                running -= finished
                preparing = asyncio.ensure_future(self._prepare(items, behind=full))
                if writing is not None:
                    await self._store(await writing)
                writing = preparing
                if not (full and running and self.worker.ready):
                    writing = None
                    await self._store(await preparing)
        finally:
            if writing is not None:
                writing.cancel()
            self.worker.close()

    async def _collect(self, queue: asyncio.Queue[_Item | object]) -> tuple[list[_Item], int, bool]:
        """Wait for the first event, then gather more for up to `window` seconds: the items,
        how many sources finished, and whether the batch is full (ingest is behind)."""
        items: list[_Item] = []
        finished = size = 0
        try:
            async with asyncio.timeout(2.0):  # flush health now and then
                first = await queue.get()
        except TimeoutError:
            return items, 0, False
        deadline = asyncio.get_running_loop().time() + self.window
        entry: _Item | object = first
        while True:
            if entry is _DONE:
                finished += 1
            elif isinstance(entry, _Item):
                items.append(entry)
                size += entry.size
            if size >= self.batch_size:
                break
            try:  # what is already queued, without a trip through the event loop per item
                entry = queue.get_nowait()
                continue
            except asyncio.QueueEmpty:
                pass
            timeout = deadline - asyncio.get_running_loop().time()
            if timeout <= 0:
                break
            try:
                async with asyncio.timeout(timeout):
                    entry = await queue.get()
            except TimeoutError:
                break
        return items, finished, size >= self.batch_size

    async def _store(self, batch: IngestBatch) -> None:
        result = await self.store.ingest(batch)
        self.stored += len(result.new_ids)
        if self.on_batch is not None and (result.new_ids or result.changed_ids):
            outcome = self.on_batch(result)
            if outcome is not None:
                await outcome

    async def _prepare(self, items: list[_Item], *, behind: bool) -> IngestBatch:
        """Sanitise, apply the playbooks and build the rows, off the event loop: events in a
        thread, JSONL lines in the worker process (or a thread, until it is up)."""
        engine, now = self.engine(), self.clock()
        for item in items:  # in order: each batch saves the cursors it got to
            if item.event.cursor is not None:
                self._cursors[item.source.name] = item.event.cursor
        cursors = dict(self._cursors)
        events = [i.event for i in items if not isinstance(i.event, LineBatch)]
        feeds = [(i.source, i.event) for i in items if isinstance(i.event, LineBatch)]
        if feeds and behind:
            self.worker.start()  # a feed is ahead of us: use a second core from now on
        in_thread = asyncio.ensure_future(_prepare_events_in_thread(events, engine, now))
        done = await asyncio.gather(
            *(self.worker.prepare(s.config, lines.lines, engine, now) for s, lines in feeds)
        )
        batch = await in_thread
        for (source, _), prepared in zip(feeds, done, strict=True):
            batch.upserts += prepared.stored
            cast(JsonlSource, source).took(len(prepared.stored), prepared.malformed)
        batch.sources = [  # only what this process fetches: a standby's view is stale
            SourceStatus(s.name, s.config.type, cursors.get(s.name), s.health)
            for s in self.sources
            if s.health.state is not HealthState.STANDBY
        ]
        return batch


async def _prepare_events_in_thread(
    events: list[MentionEvent], engine: Engine, now: datetime
) -> IngestBatch:
    if not events:  # a JSONL feed's batch: no thread hop
        return IngestBatch()
    return await asyncio.to_thread(_prepare_events, events, engine, now)


def _prepare_events(events: list[MentionEvent], engine: Engine, now: datetime) -> IngestBatch:
    batch = IngestBatch()
    for event in events:
        if isinstance(event, Upsert):
            batch.upserts.append(prepare(event.mention, engine, now))
        elif isinstance(event, Delete):
            batch.deletes.append((event.source_name, event.native_id))
        # Let go of the GIL after each mention, so an event loop that wants it (a desk
        # drawing) gets it within ~50 us instead of the 1 ms switch interval, and has it most
        # of the time rather than half. A desk fetching a 20k feed: turns over 16 ms in 0 of
        # 30 runs, was 10 of 30 (p99 3.0 ms, was 4.9); it ingests 4.7k/s instead of 8k/s.
        time.sleep(0)
    return batch


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
