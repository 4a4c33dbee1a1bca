"""Stored times: one fixed-width UTC text, in time order, read back exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from tui.timefmt import iso, parse

OFFSETS = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# Away from the ends of the calendar: an offset there would leave it.
AWARE = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=OFFSETS
)


@given(AWARE)
@example(datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC))  # strftime would drop the year's zero
@example(datetime(2026, 11, 26, 12, 0, tzinfo=timezone(timedelta(hours=-5))))
def test_iso_is_fixed_width_utc_and_reads_back(value: datetime) -> None:
    text = iso(value)
    assert len(text) == 27 and text.endswith("Z")
    assert text == value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"
    assert parse(text) == value


@given(AWARE, AWARE)
def test_text_order_is_time_order(a: datetime, b: datetime) -> None:
    assert (iso(a) < iso(b)) == (a < b)
