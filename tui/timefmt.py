"""One fixed-width UTC text format for every stored time: sortable, readable in `sqlite3`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso(value: datetime) -> str:
    """`2026-11-26T12:00:00.000000Z`, the year always four digits (strftime drops the zero
    before 1000), so text order is time order. Formatted from the fields: 0.7 us, against
    1.2 for isoformat and 1.9 for strftime; ingest writes two or three a mention."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return _ISO % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


_ISO = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


def opt_iso(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def parse(value: str) -> datetime:
    """A stored time back, in UTC: fromisoformat reads the `Z` since 3.11, ~50x faster than
    strptime (the ledger reads every decision time of a mention on each decision)."""
    return datetime.fromisoformat(value).astimezone(UTC)


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
