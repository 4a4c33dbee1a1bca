"""One fixed-width UTC text format for every stored time: sortable, readable in `sqlite3`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_FORMAT)


def opt_iso(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def parse(value: str) -> datetime:
    return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)


def opt_parse(value: str | None) -> datetime | None:
    return None if value is None else parse(value)


def short_duration(delta: timedelta) -> str:
    """'45s', '12m', '3h', '2d' — for clocks in the queue; negative means overdue."""
    seconds = int(delta.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{sign}{seconds // size}{unit}"
    return f"{sign}{seconds}s"
