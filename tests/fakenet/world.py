"""All five network stand-ins on one server, and the `[[sources]]` TOML that points at them:
shared by the end-to-end tests, the faults benchmark and `python -m tests.fakenet`."""

from __future__ import annotations

from dataclasses import dataclass

from tests.fakenet.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakenet.feeds import FakeFeed
from tests.fakenet.hackernews import FakeHackerNews
from tests.fakenet.mastodon import TOKEN, FakeMastodon
from tests.fakenet.reddit import CLIENT_ID, CLIENT_SECRET, FakeReddit
from tests.fakenet.server import FakeNet

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
