"""The shared HTTP pieces: rate-limit parsing in every style, backoff, HTML to text."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sources.backoff import Backoff
from sources.htmltext import html_to_text
from sources.ratelimit import MAX_WAIT, retry_at

NOW = datetime(2026, 8, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Retry-After": "120"}, None, NOW + timedelta(seconds=120)),
        ({"Retry-After": "Sat, 01 Aug 2026 12:03:00 GMT"}, None, NOW + timedelta(minutes=3)),
        ({"X-RateLimit-Reset": "2026-08-01T12:05:00.000000Z"}, None, NOW + timedelta(minutes=5)),
        ({"x-ratelimit-reset": "312.0"}, None, NOW + timedelta(seconds=312)),  # Reddit: delta
        (
            {"RateLimit-Reset": str(int((NOW + timedelta(seconds=90)).timestamp()))},
            None,
            NOW + timedelta(seconds=90),
        ),  # Bluesky: epoch
        ({"Retry-After": "30", "RateLimit-Reset": "1"}, None, NOW + timedelta(seconds=30)),
        ({}, {"backoff": 10, "items": []}, NOW + timedelta(seconds=10)),  # Stack Exchange
        ({"Retry-After": "soon"}, None, None),
        ({}, None, None),
        ({"Retry-After": "99999999999"}, None, NOW + MAX_WAIT),  # an epoch far off: clamped
        ({"X-RateLimit-Reset": "2020-01-01T00:00:00Z"}, None, NOW),  # already past: now
    ],
)
def test_retry_at_understands_every_style(
    headers: dict[str, str], body: object, expected: datetime | None
) -> None:
    assert retry_at(headers, NOW, body) == expected


def test_backoff_grows_with_jitter_up_to_the_cap_and_respects_a_floor() -> None:
    backoff = Backoff(base=2, cap=60, rng=random.Random(1))
    waits = [backoff.next() for _ in range(10)]
    assert 1 <= waits[0] <= 2 and 2 <= waits[1] <= 4
    assert all(30 <= w <= 60 for w in waits[6:])
    assert backoff.next(floor=600) == 600
    backoff.reset()
    assert backoff.next() <= 2


@pytest.mark.parametrize(
    ("html", "text", "links"),
    [
        ("<p>a &amp; b</p><p>c<br>d</p>", "a & b\n\nc\nd", []),
        (
            '<a href="https://x.example/long"><span class="invisible">https://</span>'
            '<span class="ellipsis">x.example/lo</span><span class="invisible">ng</span></a>',
            "x.example/lo",
            ["https://x.example/long"],
        ),
        ('<a class="mention u-url" href="https://m.example/@a">@a</a> hi', "@a hi", []),
        ("<b>Acme</b> recalls", "Acme recalls", []),
        ('<a href="javascript:alert(1)">x</a><script>evil()</script>', "x", []),
        ("plain [b]markup[/b] stays text", "plain [b]markup[/b] stays text", []),
    ],
)
def test_html_to_text(html: str, text: str, links: list[str]) -> None:
    assert html_to_text(html) == (text, links)
