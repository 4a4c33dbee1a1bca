"""A second process that parses and prepares a fast JSONL feed's lines (`tui.prepare`).

Ingest is CPU-bound in Python: parsing, sanitising, the playbooks and the rows cost about
60 us a mention, the store about 40. In one process the GIL serialises them; with the lines
prepared here, the ingesting process only writes, and a feed uses two cores. Lines go in
(cheap to send), plain row tuples come back.

The process is started only once ingest falls behind (a full batch); making it happens in a
thread, and line batches wait for its first answer (~0.4 s). If it fails to start or dies,
lines are prepared in a thread of this process; `failed` says why (`triage ingest` prints it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.context import SpawnContext, SpawnProcess

from playbooks.engine import Engine
from playbooks.loader import LoadedPlaybook
from sources.jsonl import JsonlConfig
from tui.prepare import PreparedLines, prepare_lines

EngineKey = tuple[tuple[str, str], ...]
STARTUP_PATIENCE = 10.0  # seconds a starting worker may take before lines go to a thread


def engine_key(engine: Engine) -> EngineKey:
    """Which playbooks, by file and content hash: a reload changes it."""
    return tuple((str(p.path), p.version) for p in engine.playbooks)


@dataclass(frozen=True)
class _Job:
    config: JsonlConfig
    lines: list[tuple[bytes, int]]
    now: datetime
    engine: EngineKey
    playbooks: list[LoadedPlaybook] | None  # only when the worker may not have them yet


_engines: dict[EngineKey, Engine] = {}  # in the worker: the one it compiled last


def _run(job: _Job) -> PreparedLines | None:
    """In the worker. None asks for the playbooks (a fresh worker, or a reload)."""
    engine = _engines.get(job.engine)
    if engine is None:
        if job.playbooks is None:
            return None
        _engines.clear()
        engine = _engines[job.engine] = Engine(job.playbooks)
    return prepare_lines(job.config, job.lines, engine, job.now)


def _ready() -> int:
    """In the worker: its answer that it is up, and its process id."""
    return os.getpid()


def _watch_parent(parent: int) -> None:
    """In the worker, first. ProcessPoolExecutor's workers outlive a parent killed with -9
    (each holds both ends of its job pipe, so it never reads an end of file): leave with it.
    The parent names itself: one killed while this process was still importing is gone
    before it could be asked."""
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class _LowPriorityProcess(SpawnProcess):
    """Runs at a lower priority from its first import on: when both cores are busy, the
    kernel then runs the parent (its event loop, its writes) first."""

    def start(self) -> None:
        super().start()
        if self.pid is not None:  # (0 would mean this process)
            with contextlib.suppress(OSError, AttributeError):  # no setpriority: Windows
                os.setpriority(os.PRIO_PROCESS, self.pid, 10)


class _Spawn(SpawnContext):
    """Spawn, not fork: the parent has threads (SQLite's, the desk's) that a fork would copy
    mid-flight."""

    Process = _LowPriorityProcess


class LineWorker:
    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._starting: asyncio.Future[None] | None = None
        self._started: Future[int] | None = None
        self._sent: EngineKey | None = None
        self.failed: str | None = None  # why lines are prepared in a thread after all
        self.batches = 0  # prepared in the worker
        self._closed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the process in the background; idempotent. In a thread: making the pool
        also starts multiprocessing's resource tracker, a process, 8-25 ms of the loop's time."""
        if self._starting is not None or self.failed is not None or self._closed:
            return
        self._starting = asyncio.ensure_future(asyncio.to_thread(self._spawn))

    def _spawn(self) -> None:
        with self._lock:  # against a close() meanwhile
            if self._closed:
                return
            try:
                self._pool = ProcessPoolExecutor(
                    1, mp_context=_Spawn(), initializer=_watch_parent, initargs=(os.getpid(),)
                )
                self._started = self._pool.submit(_ready)
            except Exception as exc:  # no processes here (a sandbox): stay in the thread
                self.failed = f"{type(exc).__name__}: {exc}"

    async def wait_ready(self) -> bool:
        """Start the process and wait until it answers (or fails to)."""
        self.start()
        if self._starting is not None:
            await self._starting
        if self._started is not None:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self._started)
        return self.ready

    async def _until_ready(self) -> None:
        """A starting worker is worth its ~0.4 s: preparing lines in threads meanwhile, beside
        its imports, made the event loop's turns up to twice as long."""
        try:
            async with asyncio.timeout(STARTUP_PATIENCE):
                await asyncio.shield(self.wait_ready())
        except TimeoutError:
            self._give_up(TimeoutError(f"no answer in {STARTUP_PATIENCE:.0f} s"))

    @property
    def pid(self) -> int | None:
        """The worker's process id, once it has answered."""
        return self._started.result() if self.ready and self._started else None

    @property
    def ready(self) -> bool:
        started = self._started
        return (
            self.failed is None
            and self._pool is not None
            and started is not None
            and started.done()
            and started.exception() is None
        )

    async def prepare(
        self, config: JsonlConfig, lines: list[tuple[bytes, int]], engine: Engine, now: datetime
    ) -> PreparedLines:
        """The lines prepared in the worker (waiting for it if it is starting); in a thread
        if it was never started or has failed."""
        if self._starting is not None and not self.ready and self.failed is None:
            await self._until_ready()
        if self.ready:
            try:
                return await self._in_worker(config, lines, engine, now)
            except Exception as exc:  # a dead worker (BrokenProcessPool), an error in it
                self._give_up(exc)
        return await asyncio.to_thread(prepare_lines, config, lines, engine, now)

    async def _in_worker(
        self, config: JsonlConfig, lines: list[tuple[bytes, int]], engine: Engine, now: datetime
    ) -> PreparedLines:
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        key = engine_key(engine)
        job = _Job(config, lines, now, key, None if key == self._sent else engine.playbooks)
        done = await loop.run_in_executor(self._pool, _run, job)
        if done is None:
            done = await loop.run_in_executor(
                self._pool, _run, replace(job, playbooks=engine.playbooks)
            )
        assert done is not None
        self._sent = key
        self.batches += 1
        return done

    def _give_up(self, exc: BaseException) -> None:
        self.failed = f"{type(exc).__name__}: {exc}"
        self.close()

    def close(self) -> None:
        """Stop the process, if any (one being started: once it is made)."""
        with self._lock:
            self._closed = True
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
