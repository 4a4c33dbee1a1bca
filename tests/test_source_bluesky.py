"""Bluesky against a local PDS stand-in: one login, refresh on expiry, paging, followers."""

from __future__ import annotations

from typing import Any

import pytest

from sources.bluesky import BlueskyConfig, BlueskySource
from sources.contract import HealthState
from sources.model import MentionEvent, Upsert
from tests.fakenet import FakeNet, Fault
from tests.fakenet.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.sources_helpers import drain

SEARCH = "/xrpc/app.bsky.feed.searchPosts"


@pytest.fixture
def sky(net: FakeNet) -> FakeBluesky:
    return FakeBluesky(net, page=2)


def source(sky: FakeBluesky, **extra: Any) -> BlueskySource:
    table = {
        "name": "sky",
        "type": "bluesky",
        "base_url": sky.base_url,
        "handle": HANDLE,
        "app_password": APP_PASSWORD,
        "query": "acme",
        "deadline": 3,
        **extra,
    }
    return BlueskySource(BlueskyConfig.model_validate(table))


def ids(events: list[MentionEvent]) -> list[str]:
    return [e.mention.native_id for e in events if isinstance(e, Upsert)]


async def test_post_fields_and_follower_counts(sky: FakeBluesky) -> None:
    sky.profiles["did:plc:abc123def456"] = 4321
    post = sky.post("Acme sync broke again @acme.com #acme", "2026-08-01T12:00:04.001Z")
    post["record"]["reply"] = {
        "root": {"uri": "at://did:plc:zzz/app.bsky.feed.post/3lroot", "cid": "r"},
        "parent": {"uri": "at://did:plc:zzz/app.bsky.feed.post/3lparent", "cid": "p"},
    }
    post["record"]["facets"] = [
        {
            "index": {"byteStart": 32, "byteEnd": 37},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "acme"}],
        },
        {
            "index": {"byteStart": 0, "byteEnd": 4},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.example"}],
        },
    ]
    (event,), _ = await drain(source(sky, notifications=False), None)
    assert isinstance(event, Upsert)
    m = event.mention
    assert m.url == f"https://bsky.app/profile/pat.example.com/post/{post['uri'].rsplit('/', 1)[1]}"
    assert (m.author.followers, m.author.id) == (4321, "did:plc:abc123def456")
    assert (m.kind, m.thread_id) == ("reply", "at://did:plc:zzz/app.bsky.feed.post/3lroot")
    assert (m.hashtags, m.links, m.language) == (("acme",), ("https://acme.example",), "en")


async def test_one_login_then_refresh_on_expiry_never_a_login_per_poll(sky: FakeBluesky) -> None:
    src = source(sky)
    sky.post("one", "2026-08-01T12:00:01.000Z")
    _, cursor = await drain(src, None)
    sky.post("two", "2026-08-01T12:01:00.000Z")
    events, cursor = await drain(src, cursor)
    assert ids(events) == [sky.posts[1]["uri"]]
    sky.expire_access()
    sky.post("three", "2026-08-01T12:02:00.000Z")
    events, _ = await drain(src, cursor)
    assert ids(events) == [sky.posts[2]["uri"]]
    assert (sky.logins, sky.refreshes) == (1, 1)


async def test_a_revoked_refresh_token_logs_in_again_once(sky: FakeBluesky) -> None:
    src = source(sky)
    await drain(src, None)
    sky.expire_access()
    sky.refresh.clear()
    await drain(src, None)
    assert src.health.state is HealthState.OK
    assert sky.logins == 2


async def test_wrong_app_password_is_auth_failed_without_the_password(sky: FakeBluesky) -> None:
    src = source(sky, app_password="wrong-password-1234")
    await drain(src, None)
    assert src.health.state is HealthState.AUTH_FAILED
    assert src.health.last_error == (
        f"login as {HANDLE} refused (AuthenticationRequired: Invalid identifier or password): "
        "check the handle and app password"
    )
    assert "wrong-password" not in repr(src.config)


async def test_search_pages_back_to_the_window_and_restart_does_not_repeat(
    sky: FakeBluesky,
) -> None:
    sky.post("old", "2026-08-01T12:00:00.000Z")
    _, cursor = await drain(source(sky), None)
    fresh = [sky.post(f"n{n}", f"2026-08-01T12:0{n}:30.000Z")["uri"] for n in range(1, 6)]
    events, cursor = await drain(source(sky), cursor)  # a new process each time
    assert ids(events) == fresh
    events, _ = await drain(source(sky), cursor)
    assert events == []


async def test_rate_limit_headers(sky: FakeBluesky) -> None:
    sky.net.fail(
        SEARCH,
        Fault.status(
            429,
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            {
                "RateLimit-Limit": "3000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": "4102444800",
                "Retry-After": "30",
            },
        ),
    )
    src = source(sky, notifications=False)
    await drain(src, None)
    assert src.health.state is HealthState.RATE_LIMITED
    assert (
        src.health.last_error
        == "search: rate limited (429) (RateLimitExceeded: Rate Limit Exceeded)"
    )


async def test_notifications_are_mentions_of_the_account(sky: FakeBluesky) -> None:
    note = sky.mention("@acme.example.com help!", "2026-08-01T12:00:04.001Z")
    events, _ = await drain(source(sky, query=None), None)
    assert ids(events) == [note["uri"]]
