"""RSS/Atom against a local Google Alerts stand-in: unwrapping, conditional GET, bad feeds."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sources.contract import HealthState
from sources.model import Upsert
from sources.rss import RssConfig, RssSource, unwrap
from tests.fakenet import FakeNet, Fault
from tests.fakenet.feeds import FakeFeed
from tests.sources_helpers import drain


@pytest.fixture
def feed(net: FakeNet) -> FakeFeed:
    feed = FakeFeed(net)
    feed.alert(
        1,
        "<b>Acme</b> recalls sync update after outage",
        "https://news.example/acme-recall",
        "2026-08-01T12:00:03Z",
        "The <b>Acme</b> team said on Friday&nbsp;...",
    )
    return feed


def source(feed: FakeFeed) -> RssSource:
    return RssSource(RssConfig(name="alerts", type="rss", url=feed.url, deadline=3))


def ids(events: Sequence[object]) -> list[str]:
    return [e.mention.native_id for e in events if isinstance(e, Upsert)]


async def test_google_alert_entry_is_unwrapped_and_plain(feed: FakeFeed) -> None:
    events, _ = await drain(source(feed), None)
    (event,) = events
    assert isinstance(event, Upsert)
    m = event.mention
    assert m.url == "https://news.example/acme-recall"
    assert m.title == "Acme recalls sync update after outage"
    assert m.text == "The Acme team said on Friday\xa0..."
    assert m.author.handle == "news.example"
    assert (m.kind, m.created_at.isoformat()) == ("article", "2026-08-01T12:00:03+00:00")


async def test_conditional_get_and_no_redelivery_after_restart(feed: FakeFeed) -> None:
    _, cursor = await drain(source(feed), None)
    events, cursor2 = await drain(source(feed), cursor)  # a fresh process, same cursor
    assert events == []
    assert feed.net.requests(feed.path)[-1].headers["if-none-match"] == feed.etag
    feed.alert(2, "Acme again", "https://blog.example/acme", "2026-08-01T13:00:00Z", "more")
    events, _ = await drain(source(feed), cursor)
    assert ids(events) == ["tag:google.com,2013:googlealerts/feed:2"]
    assert cursor2 == cursor  # a 304 delivers nothing and so moves no cursor


async def test_a_malformed_feed_is_reported_not_raised(feed: FakeFeed) -> None:
    feed.raw = b"<html><body>this is not <a feed"
    src = source(feed)
    events, _ = await drain(src, None)
    assert events == []
    assert src.health.state is HealthState.ERROR
    assert "not a readable RSS/Atom feed" in (src.health.last_error or "")
    assert feed.path not in (src.health.last_error or "")  # the secret URL stays secret


async def test_rate_limit_with_http_date(feed: FakeFeed) -> None:
    feed.net.fail(
        feed.path, Fault.status(429, b"slow down", {"Retry-After": "Sat, 01 Aug 2099 12:00:00 GMT"})
    )
    src = source(feed)
    await drain(src, None)
    assert src.health.state is HealthState.RATE_LIMITED
    assert src.health.retry_at is not None


def test_unwrap_leaves_ordinary_links_alone() -> None:
    assert unwrap("https://example.com/url?url=https://evil.example") == (
        "https://example.com/url?url=https://evil.example"
    )
    assert unwrap("https://www.google.com/url?q=https://a.example/x&sa=U") == "https://a.example/x"
