"""What a headless `triage ingest` server writes to its log while it runs: each error a source
records (a skipped line, a refused request) and each change into, between and out of trouble.
A source going from fetching to caught up and back is its normal life, and stays quiet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from sources.contract import FINE, Health, HealthState, Source
from tui.timefmt import iso

EVERY = 1.0  # seconds between looks
_QUIET = FINE - {HealthState.STANDBY}  # standby (another process fetches it) is worth a line


class HealthLog:
    def __init__(
        self,
        sources: Sequence[Source[Any]],
        out: TextIO,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sources = sources
        self.out = out
        self.clock = clock
        self._errors = {s.name: s.health.error_count for s in sources}
        self._kind = {s.name: HealthState.OK for s in sources}

    async def run(self) -> None:
        try:
            while True:
                self.look()
                await asyncio.sleep(EVERY)
        finally:  # stopped: what changed since the last look, before the summary
            self.look()

    def look(self) -> None:
        for source in self.sources:
            for line in self._news(source.name, source.health):
                print(f"{iso(self.clock())} {source.name}: {line}", file=self.out, flush=True)

    def _news(self, name: str, health: Health) -> list[str]:
        fresh = min(health.error_count - self._errors[name], len(health.errors))
        self._errors[name] = health.error_count
        lines = health.errors[len(health.errors) - fresh :] if fresh else []
        kind = HealthState.OK if health.state in _QUIET else health.state
        if kind is not self._kind[name]:
            self._kind[name] = kind
            lines.append(self._state(health, told=lines))
        return lines

    def _state(self, health: Health, told: list[str]) -> str:
        """The state in words, with the error behind it unless that was just told."""
        words = health.state.value
        if health.state in FINE:
            return words
        if health.last_error and health.last_error not in told:
            words += f": {health.last_error}"
        if health.retry_at is not None and health.retry_at > self.clock():
            words += f" (retry at {iso(health.retry_at)})"
        return words
