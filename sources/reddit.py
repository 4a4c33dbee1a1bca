"""Reddit search (reference §3) with the user's own OAuth app (client credentials grant),
or unauthenticated `search.json` when no credentials are configured — which Reddit often
answers with a 403 HTML block page; that is reported as "blocked", with what to do.

Listings are newest first; a poll reads the newest page and keeps what it has not delivered
(the fullnames delivered travel in the cursor). A removed or deleted item becomes a delete.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from sources.contract import HealthState
from sources.http import (
    USER_AGENT,
    Failure,
    HttpConfig,
    HttpSource,
    HttpUrl,
    Reply,
    Secret,
    parse_time,
)
from sources.model import Author, Delete, Engagement, Mention, MentionEvent, Upsert
from sources.window import Delivered

WEB = "https://www.reddit.com"
GONE = {"[deleted]", "[removed]"}


class RedditConfig(HttpConfig):
    type: Literal["reddit"] = "reddit"
    base_url: HttpUrl = Field(default="https://oauth.reddit.com", description="API root (OAuth).")
    auth_url: HttpUrl = Field(default="https://www.reddit.com", description="Token endpoint root.")
    public_url: HttpUrl = Field(default="https://www.reddit.com", description="Without OAuth.")
    query: str = Field(min_length=1, description="Search words, e.g. 'acme'.")
    subreddit: str | None = Field(default=None, description="Search only this subreddit.")
    client_id: str | None = Field(default=None, description="Your approved Reddit app's id.")
    client_secret: Secret | None = Field(default=None, description="Its secret.")
    user_agent: str = Field(
        default=f"python:{USER_AGENT.split(' ')[0]}", description="Reddit wants a descriptive one."
    )
    poll_interval: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _both_or_neither(self) -> RedditConfig:
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("client_id and client_secret go together")
        return self


class RedditSource(HttpSource[RedditConfig]):
    config_model = RedditConfig
    network = "reddit"

    def __init__(self, config: RedditConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._token: str | None = None
        self._token_until = self.clock()

    async def poll(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        children = await self._search()
        delivered = Delivered(state, size=1000)
        for number, child in reversed(list(enumerate(children))):  # oldest first
            try:
                data = child["data"]
                name = str(data["name"])
                gone = (
                    data.get("author") in GONE
                    and (data.get("body") or data.get("selftext")) in GONE
                )
                mention = None if gone else self.mention(child["kind"], data)
            except (KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(f"search item {number}", exc)
                continue
            key = f"{name}@{'gone' if gone else data.get('edited')}"
            if key in delivered:
                continue
            delivered.add(key)
            if mention is None:
                yield Delete(source_name=self.name, native_id=name, cursor=self.cursor(state))
            else:
                yield Upsert(mention=mention, cursor=self.cursor(state))

    async def _search(self) -> list[dict[str, Any]]:
        sub = f"/r/{self.config.subreddit}" if self.config.subreddit else ""
        params = {
            "q": self.config.query,
            "sort": "new",
            "limit": 100,
            "raw_json": 1,
            "type": "link",
            **({"restrict_sr": 1} if sub else {}),
        }
        headers = {"User-Agent": self.config.user_agent}
        if self.config.client_id is None:
            url = f"{self.config.public_url}{sub}/search.json"
        else:
            url = f"{self.config.base_url}{sub}/search"
            headers["Authorization"] = f"Bearer {await self._bearer()}"
        reply = await self.request(
            "GET",
            url,
            params=params,
            headers=headers,
            ok=(200, 401),
            what=f"search {self.config.query!r}",
        )
        if reply.status == 401:  # the token expired early: once more with a new one
            self._token = None
            headers["Authorization"] = f"Bearer {await self._bearer()}"
            reply = await self.request(
                "GET", url, params=params, headers=headers, what=f"search {self.config.query!r}"
            )
        body = reply.json()
        try:
            children = body["data"]["children"]
        except (KeyError, TypeError):
            raise Failure(HealthState.ERROR, "search: the answer is not a Listing") from None
        return [c for c in children if isinstance(c, dict)]

    async def _bearer(self) -> str:
        if self._token is not None and self.clock() < self._token_until:
            return self._token
        assert self.config.client_id is not None and self.config.client_secret is not None
        reply = await self.request(
            "POST",
            f"{self.config.auth_url}/api/v1/access_token",
            data={"grant_type": "client_credentials"},
            auth=(self.config.client_id, self.config.client_secret.get_secret_value()),
            headers={"User-Agent": self.config.user_agent},
            what="Reddit sign-in",
        )
        body = reply.json()
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise Failure(HealthState.AUTH_FAILED, "Reddit sign-in: no token in the answer")
        self._token = body["access_token"]
        lifetime = float(body.get("expires_in") or 3600)
        self._token_until = self.clock() + timedelta(seconds=max(lifetime - 60, 30))
        return self._token

    def failure_for(self, reply: Reply) -> Failure:
        if reply.status == 403 and reply.is_html:
            advice = (
                "set client_id and client_secret of an approved app"
                if self.config.client_id is None
                else "the app or this network is blocked"
            )
            return Failure(
                HealthState.BLOCKED,
                f"{reply.what}: Reddit answered with its HTML block page (403); {advice}",
            )
        if reply.status == 401 and reply.what == "Reddit sign-in":
            return Failure(
                HealthState.AUTH_FAILED, "Reddit sign-in refused: check client_id and client_secret"
            )
        return super().failure_for(reply)

    def mention(self, kind: str, data: dict[str, Any]) -> Mention:
        is_comment = kind == "t1"
        title = data.get("link_title") if is_comment else data.get("title")
        text = data.get("body") if is_comment else data.get("selftext")
        author = str(data.get("author") or "[unknown]")
        return Mention(
            source=self.network,
            source_name=self.name,
            native_id=str(data["name"]),
            kind="comment" if is_comment else "post",
            url=WEB + str(data["permalink"]),
            created_at=parse_time(data["created_utc"]),
            edited_at=parse_time(data["edited"])
            if isinstance(data.get("edited"), int | float)
            and not isinstance(data.get("edited"), bool)
            else None,
            author=Author(
                id=data.get("author_fullname"), handle=author, url=f"{WEB}/user/{author}"
            ),
            text=str(text or title or ""),
            title=str(title) if title else None,
            in_reply_to_id=data.get("parent_id") if is_comment else None,
            thread_id=data.get("link_id") if is_comment else str(data["name"]),
            links=tuple(
                u
                for u in [data.get("url")]
                if isinstance(u, str) and not is_comment and not u.startswith(WEB)
            ),
            engagement=Engagement(score=data.get("score"), replies=data.get("num_comments")),
            raw=data,
        )
