"""Bluesky against a local PDS stand-in: one login, refresh on expiry, paging, followers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from sources.bluesky import BlueskyConfig, BlueskySource, terms
from sources.contract import HealthState
from sources.model import MentionEvent, Upsert
from tests.fakenet import FakeNet, Fault
from tests.fakenet.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakenet.jetstream import FakeJetstream
from tests.sources_helpers import drain, eventually

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


@pytest.fixture
def jet(net: FakeNet) -> FakeJetstream:
    return FakeJetstream(net)


async def _follow(src: BlueskySource, out: list[MentionEvent], until: int) -> None:
    async for event in src.events(None):
        out.append(event)
        if len(out) >= until:
            return


async def test_jetstream_matches_locally_resumes_and_drops_the_replay(
    sky: FakeBluesky, jet: FakeJetstream
) -> None:
    sky.profiles["did:plc:pat"] = 77
    src = source(sky, notifications=False, jetstream_url=jet.url)
    events: list[MentionEvent] = []
    task = asyncio.create_task(_follow(src, events, 4))
    await eventually(lambda: len(jet.connections) == 1 and src.health.state is HealthState.OK)
    jet.post("did:plc:pat", "3l1", "ACME sync is down again")
    jet.post("did:plc:other", "3l2", "nothing to see here")
    jet.like("did:plc:pat")
    jet.post(
        "did:plc:fan",
        "3l3",
        "help please",
        facets=[
            {
                "index": {"byteStart": 0, "byteEnd": 4},
                "features": [
                    {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:acmeacmeacme"}
                ],
            }
        ],
    )
    jet.delete("did:plc:pat", "3l1")
    await eventually(lambda: len(events) == 3)
    jet.drop()
    await eventually(lambda: len(jet.connections) == 2)
    jet.post("did:plc:pat", "3l4", "#acme is back")
    async with asyncio.timeout(10):
        await task
    assert [(type(e).__name__, _id(e)) for e in events] == [
        ("Upsert", "at://did:plc:pat/app.bsky.feed.post/3l1"),
        ("Upsert", "at://did:plc:fan/app.bsky.feed.post/3l3"),
        ("Delete", "at://did:plc:pat/app.bsky.feed.post/3l1"),
        ("Upsert", "at://did:plc:pat/app.bsky.feed.post/3l4"),
    ]
    first = events[0]
    assert isinstance(first, Upsert)
    assert (first.mention.author.handle, first.mention.author.followers) == ("pat.example.com", 77)
    assert jet.connections[0]["wantedCollections"] == ["app.bsky.feed.post"]
    resumed_at = int(jet.connections[1]["cursor"][0])
    newest = jet.events[-2]["time_us"]  # the delete, the last event before the drop
    assert newest - 5_000_000 <= resumed_at < newest  # rewound a few seconds, not more


async def test_jetstream_refusal_is_reported_and_retried(
    sky: FakeBluesky, jet: FakeJetstream
) -> None:
    jet.refuse = 429
    src = source(sky, notifications=False, jetstream_url=jet.url)
    task = asyncio.create_task(_follow(src, [], 1))
    await eventually(lambda: src.health.state is HealthState.RATE_LIMITED)
    assert src.health.last_error == "Jetstream: connection refused (429)"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_jetstream_needs_a_query() -> None:
    with pytest.raises(ValidationError, match="jetstream_url needs a query"):
        BlueskyConfig.model_validate(
            {
                "name": "s",
                "type": "bluesky",
                "handle": HANDLE,
                "app_password": "x",
                "jetstream_url": "wss://jetstream2.us-east.bsky.network/subscribe",
            }
        )


def test_query_terms() -> None:
    assert terms('acme OR "acme cloud" (sync AND -spam)') == ["acme cloud", "acme", "sync"]


def _id(event: MentionEvent) -> str:
    return event.mention.native_id if isinstance(event, Upsert) else event.native_id
