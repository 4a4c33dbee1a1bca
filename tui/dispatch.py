"""The dispatcher: delivers due outbox entries, at least once, with backoff. Headless.

Entries are taken under a lease, so desks sharing a database never send the same entry at
the same time, and an entry whose sender died mid-send is taken again when the lease runs out,
with the same idempotency key (Mastodon then returns the first reply, Bluesky finds its own
record, a webhook receiver can drop the repeat). Each attempt has a deadline; each target a
rate limit; a failure that trying again cannot fix ends the entry at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from sources.sanitize import clean_line
from tui import deliver
from tui.deliver import Sender, Undelivered
from tui.holders import session_id
from tui.records import Entry
from tui.settings import Loaded
from tui.store import Store

LEASE = timedelta(seconds=120)  # longer than any attempt's deadline
BASE, CAP = 5.0, 900.0  # backoff between attempts, seconds


@dataclass
class Bucket:
    """A token bucket: `per_minute` deliveries a minute, smoothly."""

    per_minute: int
    tokens: float = 0.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a delivery may go now, else the seconds until one may."""
        if self.at == 0.0:
            self.tokens, self.at = float(self.per_minute), now
        self.tokens = min(self.per_minute, self.tokens + (now - self.at) * self.per_minute / 60)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) * 60 / self.per_minute


@dataclass
class Dispatcher:
    store: Store
    senders: Mapping[tuple[str, str], Sender]
    max_attempts: int = 8
    deadline: float = 20.0
    per_minute: Mapping[str, int] = field(default_factory=dict)  # team -> limit
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    holder: str = field(default_factory=session_id)
    poll: float = 1.0
    on_change: Callable[[Entry], object] | None = None  # after each attempt (the desk redraws)
    delivered: int = 0
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def wake(self) -> None:
        """A decision just queued something: look now, not at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self.once()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()
            self._wake.clear()

    async def once(self) -> int:
        """Deliver everything due now; how many were taken."""
        due = await self.store.outbox_take(self.holder, LEASE)
        await asyncio.gather(*(self._deliver(entry) for entry in due))
        if self.on_change is not None:
            for entry in due:
                self.on_change(entry)
        return len(due)

    async def _deliver(self, entry: Entry) -> None:
        group = "reply" if entry.kind in {"reply", "retract"} else "team"
        sender = self.senders.get((group, entry.target))
        if sender is None:
            await self.store.outbox_failed(
                entry.id, f"no {group} target {entry.target!r} configured", None
            )
            return
        wait = self._bucket(entry.target).take(asyncio.get_running_loop().time())
        if wait:
            await self.store.outbox_defer(entry.id, self.clock() + timedelta(seconds=wait))
            return
        try:
            async with asyncio.timeout(self.deadline):
                posted = await sender.send(entry)
        except TimeoutError:
            await self._failed(
                entry, Undelivered(f"no answer within {self.deadline:g} s", retry=True)
            )
        except Undelivered as exc:
            await self._failed(entry, exc)
        else:
            self.delivered += 1
            await self.store.outbox_sent(entry.id, posted.remote_id, posted.url)

    async def _failed(self, entry: Entry, exc: Undelivered) -> None:
        message = clean_line(str(exc), 300)
        if not exc.retry or entry.attempts >= self.max_attempts:
            if exc.retry:
                message = f"gave up after {entry.attempts} attempts: {message}"
            await self.store.outbox_failed(entry.id, message, None)
            return
        delay = min(CAP, BASE * 2 ** (entry.attempts - 1)) * random.uniform(0.5, 1.0)
        when = self.clock() + timedelta(seconds=delay)
        if exc.not_before is not None:
            when = max(when, exc.not_before)
        await self.store.outbox_failed(entry.id, message, when)

    def _bucket(self, target: str) -> Bucket:
        if target not in self._buckets:
            self._buckets[target] = Bucket(self.per_minute.get(target, 30))
        return self._buckets[target]


def from_settings(loaded: Loaded, store: Store, client: httpx.AsyncClient) -> Dispatcher:
    """The dispatcher the settings describe: targets, attempts, deadline, rate limits."""
    settings = loaded.settings
    return Dispatcher(
        store,
        deliver.senders(loaded, client, store.reply_target),
        max_attempts=settings.outbox.max_attempts,
        deadline=settings.outbox.deadline,
        per_minute={name: team.per_minute for name, team in settings.teams.items()},
    )
