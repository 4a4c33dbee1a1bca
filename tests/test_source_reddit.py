"""Reddit against a local stand-in: OAuth sign-in, raw_json text, deletes, the block page."""

from __future__ import annotations

from typing import Any

import pytest

from sources.contract import HealthState
from sources.model import Delete, Upsert
from sources.reddit import RedditConfig, RedditSource
from tests.fakenet import FakeNet, Fault
from tests.fakenet.reddit import CLIENT_ID, CLIENT_SECRET, FakeReddit
from tests.sources_helpers import drain


@pytest.fixture
def reddit(net: FakeNet) -> FakeReddit:
    return FakeReddit(net)


def source(reddit: FakeReddit, **extra: Any) -> RedditSource:
    table = {
        "name": "reddit",
        "type": "reddit",
        "base_url": reddit.url,
        "auth_url": reddit.url,
        "public_url": reddit.url,
        "query": "acme",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "deadline": 3,
        **extra,
    }
    return RedditSource(RedditConfig.model_validate(table))


async def test_oauth_search_gives_unescaped_text_and_reddit_urls(reddit: FakeReddit) -> None:
    reddit.post(
        "Acme sync broken after update?", "Since 3.2 my files & folders don't sync.", 1785585603.0
    )
    (event,), cursor = await drain(source(reddit), None)
    assert isinstance(event, Upsert)
    m = event.mention
    assert m.text == "Since 3.2 my files & folders don't sync."
    assert m.url == "https://www.reddit.com/r/acme/comments/p1/slug/"
    assert (m.native_id, m.kind, m.created_at.isoformat()) == (
        "t3_p1",
        "post",
        "2026-08-01T12:00:03+00:00",
    )
    assert (
        reddit.net.requests("/search")[0].headers["user-agent"].startswith("python:mention-triage/")
    )
    events, _ = await drain(source(reddit), cursor)  # restarted: nothing again
    assert events == []


async def test_a_removed_post_becomes_a_delete(reddit: FakeReddit) -> None:
    data = reddit.post("Acme?", "hello", 1785585603.0)
    _, cursor = await drain(source(reddit), None)
    data.update(author="[deleted]", selftext="[removed]")
    events, _ = await drain(source(reddit), cursor)
    assert [(type(e), getattr(e, "native_id", None)) for e in events] == [(Delete, "t3_p1")]


async def test_unauthenticated_block_page_says_what_to_do(reddit: FakeReddit) -> None:
    reddit.net.fail("/search.json", Fault.html_block())
    src = source(reddit, client_id=None, client_secret=None)
    await drain(src, None)
    assert src.health.state is HealthState.BLOCKED
    assert src.health.last_error == (
        "search 'acme': Reddit answered with its HTML block page (403); "
        "set client_id and client_secret of an approved app"
    )
    assert src.health.retry_at is not None  # stays away for half an hour, not seconds


async def test_bad_credentials(reddit: FakeReddit) -> None:
    src = source(reddit, client_secret="nope-nope")
    await drain(src, None)
    assert src.health.state is HealthState.AUTH_FAILED
    assert "nope-nope" not in (src.health.last_error or "")


async def test_rate_limit_reset_in_float_seconds(reddit: FakeReddit) -> None:
    reddit.net.fail(
        "/search",
        Fault.status(
            429,
            {"message": "Too Many Requests"},
            {
                "X-Ratelimit-Used": "100",
                "X-Ratelimit-Remaining": "0.0",
                "X-Ratelimit-Reset": "312.0",
            },
        ),
    )
    src = source(reddit)
    await drain(src, None)
    assert src.health.state is HealthState.RATE_LIMITED
    assert src.health.retry_at is not None and src.health.last_success is None
