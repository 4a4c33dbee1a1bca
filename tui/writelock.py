"""One writer at a time across the processes sharing a database, handed over without sleeps.

SQLite serialises writers itself, but a writer that finds the lock taken sleeps on a fixed
schedule (1, 2, 5 ... 100 ms) and wakes to find it taken again, while the others keep
grabbing it: with 8 desks and ingest on one file the measured decision-commit tail was
seconds (DESIGN §9: max 250 ms). A blocking `flock` on a file beside the database wakes a
waiter the moment the holder lets go, so BEGIN IMMEDIATE then finds the database free. The
kernel drops the lock when its process dies, kill -9 included. Where `flock` is missing
(Windows), the file cannot be made, or TRIAGE_WRITE_LOCK=0 is set (a file system whose locks
cannot be trusted; the benchmark's baseline), writers fall back to SQLite's own waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

SUFFIX = "-writelock"


class WriteLock:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def beside(cls, db: Path) -> WriteLock | None:
        if fcntl is None or os.environ.get("TRIAGE_WRITE_LOCK") == "0":
            return None
        try:  # permissions as SQLite gives its -wal file: whoever may write the db may lock
            fd = os.open(db.with_name(db.name + SUFFIX), os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            return None
        return cls(fd)

    async def acquire(self) -> None:
        with contextlib.suppress(BlockingIOError):
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return  # free: no thread hop
        waiting = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, self._fd, fcntl.LOCK_EX))
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:  # the thread still gets the lock: give it back then
            waiting.add_done_callback(self._release_if_taken)
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)

    def _release_if_taken(self, waiting: asyncio.Future[None]) -> None:
        if not waiting.cancelled() and waiting.exception() is None:
            self.release()
