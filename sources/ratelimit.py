"""When may we call again? One parser for every network's rate-limit signal (reference §8.5).

- `Retry-After`: delta seconds or an HTTP-date (RFC 9110), sent by Bluesky, RSS hosts, proxies;
- `X-RateLimit-Reset`: an ISO-8601 time (Mastodon), epoch seconds (GitHub) or delta seconds,
  possibly a float (Reddit);
- `RateLimit-Reset`: epoch seconds (Bluesky);
- a JSON body's `backoff` in seconds (Stack Exchange).

`Retry-After` wins over the reset headers, as in the atproto client. A number is read as an
epoch when it is larger than any sane delay (a year of seconds), as a delay otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

_EPOCH_THRESHOLD = 365 * 24 * 3600  # larger numbers are timestamps, smaller are delays
MAX_WAIT = timedelta(hours=24)  # a header promising a longer wait is clamped, not obeyed
_HEADERS = ("retry-after", "x-ratelimit-reset", "ratelimit-reset")


def retry_at(headers: Mapping[str, str], now: datetime, body: Any = None) -> datetime | None:
    """The earliest time the server invites us back, or None when it did not say."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in _HEADERS:
        value = lowered.get(name)
        if value is not None and (when := parse_reset(value, now)) is not None:
            return when
    if isinstance(body, dict) and isinstance(body.get("backoff"), int | float):
        return _clamp(now + timedelta(seconds=float(body["backoff"])), now)
    return None


def parse_reset(value: str, now: datetime) -> datetime | None:
    """One header value in any of the styles above; None when it is none of them."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return _parse_time(value, now)
    if number != number or number < 0:  # NaN or negative: not a time
        return None
    if number > _EPOCH_THRESHOLD:
        return _clamp(datetime.fromtimestamp(number, UTC), now)
    return _clamp(now + timedelta(seconds=number), now)


def _parse_time(value: str, now: datetime) -> datetime | None:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _clamp(when.astimezone(UTC), now)


def _clamp(when: datetime, now: datetime) -> datetime:
    return min(max(when, now), now + MAX_WAIT)
