"""Seeded synthetic mention traffic with bursts, for trying the desk and for tests.

The stream is a pure function of the seed: post number n is always the same post, so the
cursor is simply how many posts were delivered and a restart resumes where it stopped.
Traffic comes in cycles; part of each cycle is an outage burst (faster arrivals, mostly
outage reports), the rest a mix of praise, questions, complaints, spam, press and noise.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field

from sources.contract import HealthState, Source, SourceConfig
from sources.demo.corpus import CorpusPost, Thread, threads
from sources.demo.people import Persona, persona
from sources.model import Author, Engagement, ItemKind, Mention, MentionEvent, Upsert


class DemoConfig(SourceConfig):
    type: Literal["demo"] = "demo"
    name: str = "demo"
    seed: int = Field(default=7, description="Same seed, same traffic.")
    rate: float = Field(default=0.5, gt=0, description="Mean mentions per second, outside bursts.")
    burst_factor: float = Field(default=8.0, ge=1, description="How much faster bursts arrive.")
    backlog: int = Field(
        default=20, ge=0, description="Posts delivered at once on the first run (or per --once)."
    )


CYCLE = 150  # posts per traffic cycle
BURST = range(90, 120)  # positions in a cycle that belong to the outage burst
SOCIAL = ("mastodon", "bluesky", "reddit")
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_HANDLE = re.compile(r"(?<![\w@])@([A-Za-z0-9_.]+)")
_LINK = re.compile(r"\b((?:https?://)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:example|com)(?:/\S*)?)")


@dataclass(frozen=True)
class Planned:
    """One post of the stream, with the pause before it (seconds at rate 1)."""

    seq: int
    post: CorpusPost
    platform: str
    thread_root: int | None  # seq of the thread root, for replies
    gap: float


def plan(seed: int) -> Iterator[Planned]:
    """The infinite, deterministic sequence of posts for `seed`."""
    rng = random.Random(seed)
    corpus = threads()
    outages = [t for t in corpus if t.root.category == "outage"]
    seq = 0
    while True:
        in_burst = seq % CYCLE in BURST
        pool = outages if in_burst and rng.random() < 0.75 else corpus
        thread: Thread = rng.choice(pool)
        platform = thread.root.platform
        if platform == "*":
            platform = rng.choice(SOCIAL)
        root_seq = seq
        for index, post in enumerate((thread.root, *thread.replies)):
            root = None if index == 0 else root_seq
            yield Planned(seq, post, platform, root, rng.expovariate(1.0))
            seq += 1


class DemoSource(Source[DemoConfig]):
    config_model = DemoConfig

    def __init__(self, config: DemoConfig, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(config)
        self.clock = clock or (lambda: datetime.now(UTC))

    async def events(
        self, cursor: str | None, *, once: bool = False
    ) -> AsyncIterator[MentionEvent]:
        start = int(cursor) if cursor else 0
        quick = self.config.backlog if (once or cursor is None) else 0
        self.health.state = HealthState.OK
        for planned in plan(self.config.seed):
            if planned.seq < start:
                continue
            delivered = planned.seq - start
            if delivered >= quick:
                if once:
                    self.health.state = HealthState.IDLE
                    return
                await asyncio.sleep(self._pause(planned))
            yield Upsert(mention=self.mention(planned), cursor=str(planned.seq + 1))
            self.health.received += 1
            self.health.last_success = self.clock()

    def _pause(self, planned: Planned) -> float:
        burst = self.config.burst_factor if planned.seq % CYCLE in BURST else 1.0
        return planned.gap / (self.config.rate * burst)

    def mention(self, planned: Planned) -> Mention:
        """Build the normalised mention for one planned post (also used by tests/bench)."""
        rng = random.Random(self.config.seed * 1_000_003 + planned.seq)
        post = planned.post
        who = persona(rng, planned.platform, post.category)
        native_id, url = _ids(planned, who, rng)
        title, text = _title_and_text(post)
        root = planned.thread_root
        reply_to = None if root is None else _native(planned.platform, root)
        created = self.clock() - timedelta(seconds=rng.uniform(1, 45))
        return Mention(
            source=planned.platform,
            source_name=self.config.name,
            native_id=native_id,
            kind=_kind(planned),
            url=url,
            created_at=created,
            author=Author(
                id=f"{planned.platform}-{who.handle}",
                handle=who.handle,
                display_name=who.display_name,
                url=who.url,
                followers=who.followers,
                is_bot=post.category == "spam" and rng.random() < 0.5,
            ),
            text=text,
            title=title,
            language=post.language,
            in_reply_to_id=reply_to,
            thread_id=reply_to,
            hashtags=tuple(_HASHTAG.findall(text)),
            mentioned_handles=tuple(_HANDLE.findall(text)),
            links=tuple(_LINK.findall(text)),
            engagement=Engagement(
                likes=int(rng.expovariate(1 / 6)),
                reposts=int(rng.expovariate(1 / 2)),
                replies=len(planned.post.text) % 5,
            ),
            raw={"demo": {"seq": planned.seq, "corpus_line": post.line, "category": post.category}},
        )


def _kind(planned: Planned) -> ItemKind:
    if planned.platform == "rss":
        return "article"
    if planned.thread_root is not None:
        return "comment" if planned.platform in ("reddit", "hackernews") else "reply"
    return "story" if planned.platform == "hackernews" else "post"


def _title_and_text(post: CorpusPost) -> tuple[str | None, str]:
    if post.platform in ("rss", "hackernews") and " :: " in post.text:
        title, body = post.text.split(" :: ", 1)
        return title, body
    return None, post.text


def _native(platform: str, seq: int) -> str:
    match platform:
        case "mastodon":
            return str(113_000_000_000_000_000 + seq * 7919)
        case "bluesky":
            return f"at://did:plc:demo{seq % 97:02d}/app.bsky.feed.post/3l{seq:09d}"
        case "reddit":
            return f"t3_demo{seq:x}"
        case "hackernews":
            return str(42_000_000 + seq)
        case _:
            return f"tag:news.example,2026:acme-{seq}"


def _ids(planned: Planned, who: Persona, rng: random.Random) -> tuple[str, str]:
    native = _native(planned.platform, planned.seq)
    match planned.platform:
        case "mastodon":
            url = f"{who.url}/{native}"
        case "bluesky":
            url = f"https://bsky.app/profile/{who.handle}/post/{native.rsplit('/', 1)[1]}"
        case "reddit":
            url = f"https://www.reddit.com/r/acme/comments/{native[3:]}/"
        case "hackernews":
            url = f"https://news.ycombinator.com/item?id={native}"
        case _:
            url = f"https://{who.handle}/2026/acme-{planned.seq}-{rng.randrange(1000)}"
    return native, url


def sample(count: int, now: datetime, seed: int = 7) -> list[Mention]:
    """The first `count` demo mentions as if they arrived one a minute up to `now`.

    Deterministic (no wall clock): for tests, benchmarks and screenshots.
    """
    source = DemoSource(DemoConfig(seed=seed, backlog=count), clock=lambda: now)
    out = []
    for planned in plan(seed):
        if planned.seq >= count:
            break
        received = now - timedelta(minutes=count - planned.seq)
        out.append(source.mention(planned).model_copy(update={"received_at": received}))
    return out
