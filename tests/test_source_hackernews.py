"""Hacker News against a local Algolia stand-in: fields, the moving window, faults."""

from __future__ import annotations

import pytest

from sources.contract import HealthState
from sources.hackernews import HackerNewsConfig, HackerNewsSource
from sources.model import Upsert
from tests.fakenet import FakeNet, Fault
from tests.fakenet.hackernews import PATH, FakeHackerNews
from tests.sources_helpers import drain


@pytest.fixture
def hn(net: FakeNet) -> FakeHackerNews:
    return FakeHackerNews(net, page_size=2)


def source(hn: FakeHackerNews) -> HackerNewsSource:
    return HackerNewsSource(
        HackerNewsConfig(
            name="hn", type="hackernews", base_url=hn.base_url, query="acme", deadline=3
        )
    )


async def test_comment_fields_are_plain_text_in_utc(hn: FakeHackerNews) -> None:
    hn.comment(
        44700123,
        1785585603,
        'We moved off <a href="https:&#x2F;&#x2F;acme.example">Acme</a> because sync '
        "kept failing &amp; support didn&#x27;t answer.<p>Second paragraph",
    )
    events, _ = await drain(source(hn), None)
    (event,) = events
    assert isinstance(event, Upsert)
    m = event.mention
    assert m.text == (
        "We moved off Acme because sync kept failing & support didn't answer.\n\nSecond paragraph"
    )
    assert m.links == ("https://acme.example",)
    assert m.url == "https://news.ycombinator.com/item?id=44700123"
    assert m.created_at.isoformat() == "2026-08-01T12:00:03+00:00"
    assert (m.kind, m.author.handle, m.thread_id, m.in_reply_to_id) == (
        "comment",
        "pat",
        "44699000",
        "44699500",
    )
    assert m.title == "Show HN: Acme 3.2"


async def test_pages_are_read_oldest_first_and_the_cursor_resumes(hn: FakeHackerNews) -> None:
    hn.story(1, 1000, "first")
    events, cursor = await drain(source(hn), None)
    assert [e.mention.native_id for e in events if isinstance(e, Upsert)] == ["1"]
    for n in range(2, 7):
        hn.story(n, 1000 + n * 1000, f"story {n}")
    # A fresh source (a restarted desk): the first story is inside the re-read margin, and
    # the cursor says it was delivered already.
    events, cursor = await drain(source(hn), cursor)
    assert [e.mention.native_id for e in events if isinstance(e, Upsert)] == [
        "2",
        "3",
        "4",
        "5",
        "6",
    ]
    assert len(hn.net.requests(PATH)) == 1 + 3


@pytest.mark.parametrize(
    ("fault", "state", "words"),
    [
        (
            Fault.status(429, headers={"Retry-After": "120"}),
            HealthState.RATE_LIMITED,
            "rate limited",
        ),
        (Fault.status(503), HealthState.BACKING_OFF, "server error 503"),
        (Fault.reset(), HealthState.BACKING_OFF, "connection"),
        (Fault.garbage(), HealthState.BACKING_OFF, "not valid JSON"),
        (Fault.truncated(), HealthState.BACKING_OFF, "closed the connection mid-answer"),
        (Fault.html_block(), HealthState.BLOCKED, "HTML page"),
        (Fault.trickle(), HealthState.BACKING_OFF, "no complete answer within 3 s"),
    ],
)
async def test_a_fault_is_a_health_state_and_the_next_poll_recovers(
    hn: FakeHackerNews, fault: Fault, state: HealthState, words: str
) -> None:
    hn.story(1, 1000, "first")
    hn.net.fail(PATH, fault)
    src = source(hn)
    events, cursor = await drain(src, None)
    assert events == []
    assert src.health.state is state
    assert words in (src.health.last_error or "")
    assert src.health.retry_at is not None
    events, _ = await drain(src, cursor)
    assert [e.mention.native_id for e in events if isinstance(e, Upsert)] == ["1"]
    assert src.health.state is HealthState.OK


async def test_a_malformed_hit_is_counted_and_skipped(hn: FakeHackerNews) -> None:
    hn.page_size = 100
    hn.story(1, 1000, "good")
    hn.hits.append({"objectID": "2", "title": "no time", "created_at_i": "soon"})
    hn.hits.append({"title": "no id", "created_at_i": 1001})
    src = source(hn)
    events, _ = await drain(src, None)
    assert [e.mention.native_id for e in events if isinstance(e, Upsert)] == ["1"]
    assert src.health.malformed == 2
    assert src.health.errors == [
        "search result 0: skipped a malformed item: Invalid isoformat string: 'soon'",
        "search result 2: skipped a malformed item: missing field 'objectID'",
    ]
