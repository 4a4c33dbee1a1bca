"""Mastodon against a local instance stand-in: paging, notifications, disabled feeds,
auth, rate limits and the live stream with its backfill."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import ValidationError

from sources.contract import HealthState
from sources.mastodon import MastodonConfig, MastodonSource
from sources.model import Delete, MentionEvent, Upsert
from tests.fakenet import FakeNet, Fault
from tests.fakenet.mastodon import TOKEN, FakeMastodon
from tests.sources_helpers import drain, eventually

TAG_PATH = "/api/v1/timelines/tag/acme"


@pytest.fixture
def masto(net: FakeNet) -> FakeMastodon:
    return FakeMastodon(net)


def source(masto: FakeMastodon, **extra: Any) -> MastodonSource:
    table = {
        "name": "fedi",
        "type": "mastodon",
        "base_url": masto.base_url,
        "hashtags": ["#Acme"],
        "deadline": 3,
        **extra,
    }
    return MastodonSource(MastodonConfig.model_validate(table))


def ids(events: list[MentionEvent]) -> list[str]:
    return [e.mention.native_id for e in events if isinstance(e, Upsert)]


async def test_status_is_normalised(masto: FakeMastodon) -> None:
    masto.status(
        '<p>Loving the new <a href="https://fedi.example/tags/acme" class="mention hashtag" '
        'rel="tag">#<span>acme</span></a> release, but sync is broken &amp; slow. '
        '<a href="https://acme.example/status/long"><span class="invisible">https://</span>'
        '<span class="">acme.example/status</span><span class="invisible">/long</span></a></p>',
        spoiler_text="outage talk",
        in_reply_to_id="112999999999999990",
        account={
            "id": "7",
            "acct": "sam",
            "display_name": "Sam",
            "followers_count": 99,
            "url": "https://127.0.0.1/@sam",
            "bot": True,
        },
    )
    (event,), _ = await drain(source(masto), None)
    assert isinstance(event, Upsert)
    m = event.mention
    assert m.text == "Loving the new #acme release, but sync is broken & slow. acme.example/status"
    assert m.links == ("https://acme.example/status/long",)
    assert m.author.handle == "sam@127.0.0.1"  # local account: the instance's domain added
    assert (m.author.followers, m.author.is_bot, m.content_warning) == (99, True, "outage talk")
    assert (m.kind, m.in_reply_to_id, m.hashtags) == ("reply", "112999999999999990", ("acme",))
    assert m.created_at.isoformat() == "2026-08-01T12:00:03+00:00"
    assert m.url is not None and m.url.startswith("https://fedi.example/@pat/")


async def test_min_id_paging_reads_everything_new_oldest_first(masto: FakeMastodon) -> None:
    first = masto.status("one")
    events, cursor = await drain(source(masto), None)
    assert ids(events) == [first["id"]]
    new = [masto.status(f"post {n}")["id"] for n in range(95)]  # three pages of 40
    events, cursor = await drain(source(masto), cursor)
    assert ids(events) == new
    requests = masto.net.requests(TAG_PATH)
    assert requests[1].arg("min_id") == first["id"]
    assert len(requests) == 1 + 3


async def test_notifications_need_the_token_and_use_their_own_cursor(masto: FakeMastodon) -> None:
    note = masto.mention("@acmesupport help!")
    src = source(masto, token=TOKEN)
    events, cursor = await drain(src, None)
    assert ids(events) == [note["status"]["id"]]
    assert cursor is not None and note["id"] in cursor
    bad = source(masto, token="wrong")
    await drain(bad, None)
    assert bad.health.state is HealthState.AUTH_FAILED
    assert "credentials refused (401) (The access token is invalid)" in (
        bad.health.last_error or ""
    )
    assert "wrong" not in (bad.health.last_error or "")


async def test_token_from_a_named_environment_variable(
    masto: FakeMastodon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_MASTODON_TOKEN", TOKEN)
    note = masto.mention("hello")
    events, _ = await drain(source(masto, token={"env": "ACME_MASTODON_TOKEN"}), None)
    assert ids(events) == [note["status"]["id"]]
    monkeypatch.delenv("ACME_MASTODON_TOKEN")
    with pytest.raises(
        ValidationError, match="environment variable ACME_MASTODON_TOKEN is not set"
    ):
        source(masto, token={"env": "ACME_MASTODON_TOKEN"})


async def test_a_disabled_tag_feed_is_reported_not_silent(masto: FakeMastodon) -> None:
    masto.status("hidden")
    masto.hashtag_access = "disabled"
    src = source(masto)
    events, _ = await drain(src, None)
    assert events == []
    assert src.health.state is HealthState.DISABLED
    assert src.health.last_error == "#acme: hashtag feeds are disabled on 127.0.0.1"


async def test_rate_limit_reset_is_an_iso_time(masto: FakeMastodon) -> None:
    masto.net.fail(
        TAG_PATH,
        Fault.status(
            429,
            {"error": "Too many requests"},
            {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "2099-08-01T12:05:00.000000Z",
            },
        ),
    )
    src = source(masto)
    await drain(src, None)
    assert src.health.state is HealthState.RATE_LIMITED
    assert src.health.retry_at is not None and src.health.retry_at.year >= 2026


def test_streaming_without_a_token_is_a_located_config_error(masto: FakeMastodon) -> None:
    with pytest.raises(ValidationError, match="streaming needs a token"):
        source(masto, streaming=True)


async def _collect(src: MastodonSource, until: int, out: list[MentionEvent]) -> None:
    async for event in src.events(None):
        out.append(event)
        if len(out) >= until:
            return


async def test_stream_delivers_live_then_backfills_after_a_drop(masto: FakeMastodon) -> None:
    masto.status("before start")
    src = source(masto, token=TOKEN, streaming=True, notifications=False)
    events: list[MentionEvent] = []
    task = asyncio.create_task(_collect(src, 6, events))
    for _ in range(200):  # wait for the stream to be open and the backfill done
        if masto.stream_count and len(events) >= 1:
            break
        await asyncio.sleep(0.02)
    live = masto.status("live")
    masto.push("update", live)
    masto.push("delete", live["id"])
    await eventually(lambda: len(events) >= 3)
    masto.drop_streams()
    missed = masto.status("posted while disconnected")  # only the backfill can find this
    after = masto.status("after reconnect")
    await eventually(lambda: masto.stream_count > 0 and len(events) >= 5)
    masto.push("update", after)  # already delivered by the backfill: dropped
    later = masto.status("live again")
    masto.push("update", later)
    async with asyncio.timeout(10):
        await task
    assert ids(events) == [
        masto.statuses[0]["id"],
        live["id"],
        missed["id"],
        after["id"],
        later["id"],
    ]
    assert isinstance(events[2], Delete) and events[2].native_id == live["id"]
