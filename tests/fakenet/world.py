"""All five network stand-ins on one server, and the `[[sources]]` TOML that points at them:
shared by the end-to-end tests, the faults benchmark and `python -m tests.fakenet`."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from tests.fakenet.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakenet.feeds import PATH as FEED_PATH
from tests.fakenet.feeds import FakeFeed
from tests.fakenet.hackernews import PATH as HN_PATH
from tests.fakenet.hackernews import FakeHackerNews
from tests.fakenet.mastodon import TOKEN, FakeMastodon
from tests.fakenet.reddit import CLIENT_ID, CLIENT_SECRET, FakeReddit
from tests.fakenet.server import FakeNet, Fault

SECRETS = {"mastodon": TOKEN, "bluesky": APP_PASSWORD, "reddit": CLIENT_SECRET}


@dataclass
class World:
    net: FakeNet
    masto: FakeMastodon
    sky: FakeBluesky
    hn: FakeHackerNews
    feed: FakeFeed
    reddit: FakeReddit

    @classmethod
    def serve(cls, net: FakeNet) -> World:
        return cls(
            net,
            FakeMastodon(net),
            FakeBluesky(net),
            FakeHackerNews(net),
            FakeFeed(net),
            FakeReddit(net),
        )

    def sources_toml(
        self, env: dict[str, str] | None = None, *, every: str = "", mastodon_token: bool = True
    ) -> str:
        """One table per network. `env` names the environment variable holding each secret
        (by network); without it the secrets are inline. `every` is appended to each table."""

        def secret(network: str) -> str:
            if env is None:
                return f'"{SECRETS[network]}"'
            return f'{{ env = "{env[network]}" }}'

        url = self.net.url
        token = f"token = {secret('mastodon')}\n" if mastodon_token else ""
        return f"""
[[sources]]
name = "fedi"
type = "mastodon"
base_url = "{url}"
hashtags = ["acme"]
{token}{every}
[[sources]]
name = "sky"
type = "bluesky"
base_url = "{url}"
handle = "{HANDLE}"
app_password = {secret("bluesky")}
query = "acme"
{every}
[[sources]]
name = "hn"
type = "hackernews"
base_url = "{url}/api/v1"
query = "acme"
{every}
[[sources]]
name = "alerts"
type = "rss"
url = "{self.feed.url}"
{every}
[[sources]]
name = "reddit"
type = "reddit"
base_url = "{url}"
auth_url = "{url}"
query = "acme"
client_id = "{CLIENT_ID}"
client_secret = {secret("reddit")}
{every}"""


def every_fault() -> list[Fault]:
    return [
        Fault.status(429, headers={"Retry-After": "1"}),
        Fault.status(429, headers={"X-RateLimit-Reset": "2020-01-01T00:00:00Z"}),
        Fault.status(429, headers={"RateLimit-Reset": "1"}),
        Fault.status(500),
        Fault.status(503),
        Fault.reset(),
        Fault.garbage(),
        Fault.truncated(),
        Fault.trickle(),
        Fault.html_block(),
        Fault.status(401, {"error": "The access token is invalid"}),
    ]


def recoverable_faults() -> list[Fault]:
    """The faults a source gets over by itself (no block page, no refused credentials), each
    followed by a normal answer: a source that cycles through these keeps polling."""
    return [f for fault in every_fault()[:-2] for f in (fault, Fault.none())]


# Where each source's requests fail: its first request (a login where there is one), or the
# request every poll makes (searches), so a source that got over a login keeps meeting faults.
FIRST_PATHS = [
    "/api/v1/timelines/tag/acme",
    "/xrpc/com.atproto.server.createSession",
    HN_PATH,
    FEED_PATH,
    "/api/v1/access_token",
]
POLL_PATHS = [*FIRST_PATHS[:1], "/xrpc/app.bsky.feed.searchPosts", HN_PATH, FEED_PATH, "/search"]


def failing_world(
    net: FakeNet, faults: list[Fault] | None = None, paths: list[str] = FIRST_PATHS
) -> tuple[World, str]:
    """Stand-ins whose every answer at `paths` is the next fault in a cycle (of `every_fault`
    unless given); the world and the TOML for sources pointing at them."""
    world = World.serve(net)
    for path in paths:
        net.fail(path, *itertools.islice(itertools.cycle(faults or every_fault()), 100_000))
    toml = world.sources_toml(every="poll_interval = 0.5\ndeadline = 2\n", mastodon_token=False)
    return world, toml
