"""The demo source: a varied corpus, deterministic per seed, resumable, bursty."""

from __future__ import annotations

import statistics
from collections import Counter
from itertools import islice

from sources.demo.corpus import threads
from sources.demo.source import BURST, CYCLE, DemoConfig, DemoSource, Planned, plan
from sources.model import Upsert
from tests.conftest import FROZEN


async def _events(config: DemoConfig, cursor: str | None = None) -> list[Upsert]:
    source = DemoSource(config, clock=lambda: FROZEN)
    return [e async for e in source.events(cursor, once=True) if isinstance(e, Upsert)]


def test_corpus_is_large_and_varied() -> None:
    corpus = threads()
    posts = [p for t in corpus for p in (t.root, *t.replies)]
    assert len(posts) >= 300
    categories = Counter(p.category for p in posts)
    for needed in ("praise", "question", "complaint", "outage", "spam", "press", "offtopic"):
        assert categories[needed] >= 10, needed
    assert len({p.language for p in posts}) >= 6
    assert sum(len(t.replies) for t in corpus) >= 20  # threads with replies


async def test_same_seed_same_stream_and_cursor_resumes_exactly() -> None:
    config = DemoConfig(seed=3, backlog=30)
    first = await _events(config)
    assert first == await _events(config)
    resumed = await _events(config, first[9].cursor)
    assert [e.mention.native_id for e in resumed[:20]] == [
        e.mention.native_id for e in first[10:30]
    ]


async def test_other_seed_other_stream() -> None:
    a = await _events(DemoConfig(seed=1, backlog=10))
    b = await _events(DemoConfig(seed=2, backlog=10))
    assert [e.mention.text for e in a] != [e.mention.text for e in b]


async def test_mentions_are_shaped_like_their_network() -> None:
    events = await _events(DemoConfig(backlog=200))
    by_source = {e.mention.source: e.mention for e in events}
    assert set(by_source) >= {"mastodon", "bluesky", "reddit"}
    assert by_source["bluesky"].native_id.startswith("at://")
    assert (by_source["bluesky"].url or "").startswith("https://bsky.app/profile/")
    assert "@" in by_source["mastodon"].author.handle
    assert by_source["reddit"].author.followers is None
    replies = [e.mention for e in events if e.mention.in_reply_to_id]
    ids = {e.mention.native_id for e in events}
    assert replies and all(r.in_reply_to_id in ids for r in replies)


def test_bursts_are_outage_heavy_and_faster() -> None:
    planned = list(islice(plan(7), CYCLE * 4))
    source = DemoSource(DemoConfig(seed=7))
    burst = [p for p in planned if p.seq % CYCLE in BURST]
    calm = [p for p in planned if p.seq % CYCLE not in BURST]

    def share(ps: list[Planned]) -> float:
        return sum(p.post.category == "outage" for p in ps) / len(ps)

    def pause(ps: list[Planned]) -> float:
        return statistics.median(source._pause(p) for p in ps)

    assert share(burst) > 2 * share(calm)
    assert pause(burst) * 4 < pause(calm)
