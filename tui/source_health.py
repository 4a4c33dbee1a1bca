"""Source health as the desk shows it: one line per source for the status bar, the full
story for the sources screen. Headless; the widgets only lay it out.

A source this process fetches reports its live `Health`. A source another desk fetches
(standby here) is shown with the state that desk last stored, so every desk tells the same
truth about a source whoever fetches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sources.contract import HealthState, Source
from tui.timefmt import opt_parse, short_duration

# States a responder should hear about once, when they start: they do not fix themselves.
ALARMING = {s.value for s in (HealthState.AUTH_FAILED, HealthState.BLOCKED, HealthState.DISABLED)}


@dataclass(frozen=True)
class SourceLine:
    name: str
    type: str
    state: str
    retry_at: datetime | None
    last_success: datetime | None
    last_error: str | None
    received: int
    malformed: int
    errors: tuple[str, ...] = ()
    elsewhere: bool = False  # fetched by another desk sharing the database

    def short(self, now: datetime) -> str:
        """'rate limited, retry in 4m', 'blocked, retry in 29m' — what the status bar says."""
        if self.retry_at is not None and self.state != HealthState.OK and self.retry_at > now:
            return f"{self.state}, retry in {short_duration(self.retry_at - now)}"
        return self.state


def lines(sources: list[Source[Any]], stored: Mapping[str, Mapping[str, Any]]) -> list[SourceLine]:
    out = []
    for source in sources:
        health = source.health
        row = stored.get(source.name)
        if health.state is HealthState.STANDBY and row is not None:
            out.append(_from_row(source, row))
            continue
        out.append(
            SourceLine(
                source.name,
                source.config.type,
                health.state.value,
                health.retry_at,
                health.last_success,
                health.last_error,
                health.received,
                health.malformed,
                tuple(health.errors[-5:]),
            )
        )
    return out


def _from_row(source: Source[Any], row: Mapping[str, Any]) -> SourceLine:
    return SourceLine(
        source.name,
        source.config.type,
        str(row["state"]),
        opt_parse(row["retry_at"]),
        opt_parse(row["last_success"]),
        row["last_error"],
        int(row["received"]),
        int(row["malformed"]),
        elsewhere=True,
    )


def ago(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else f"{short_duration(now - when)} ago"
