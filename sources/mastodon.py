"""Mastodon (reference §1): hashtag timelines (no token), mentions of the team account via
notifications (token), and live streaming over SSE (token).

Polling uses `min_id` (the page right after the cursor, no gaps) until a page comes back
empty; ids are opaque strings ordered by (length, text). Streaming connects first, then
backfills over REST from the cursor, then follows the stream, so nothing falls between the
two; when the stream drops it reconnects with backoff and backfills again. A tag feed that
answers `[]` is checked against the instance's `timelines_access` so "disabled by the admin"
is not mistaken for "nobody posted".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import Field, field_validator, model_validator

from sources.contract import HealthState, Posted, Replies, ReplyTo
from sources.htmltext import html_to_text
from sources.http import (
    Failure,
    HttpConfig,
    HttpSource,
    HttpUrl,
    Reply,
    Secret,
    parse_time,
    transport_words,
    worst,
)
from sources.jsondecode import loads
from sources.model import Author, Delete, Engagement, Mention, MentionEvent, Upsert
from sources.sse import HEARTBEAT, server_events

PAGE = 40  # the tag timeline's maximum
NOTIFICATION_PAGE = 80
MAX_PAGES = 10  # per feed per round; the rest comes next round
INSTANCE_TTL = timedelta(minutes=10)


class MastodonConfig(HttpConfig):
    type: Literal["mastodon"] = "mastodon"
    base_url: HttpUrl = Field(default="https://mastodon.social", description="The instance.")
    hashtags: list[str] = Field(default=[], description="Tags to follow, without '#'.")
    token: Secret | None = Field(default=None, description="User token: mentions, streaming.")
    notifications: bool = Field(default=True, description="With a token: @mentions of you.")
    streaming: bool = Field(default=False, description="With a token: live SSE streams.")
    reply_visibility: Literal["public", "unlisted", "private", "direct"] = Field(
        default="public", description="Visibility of replies posted from the desk."
    )
    poll_interval: float = Field(default=60.0, gt=0)  # the paging throttle allows ~20/min/IP

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        cleaned = [t.strip().lstrip("#").lower() for t in tags]
        if any(not t or " " in t for t in cleaned):
            raise ValueError("each hashtag is one word, like 'acme'")
        return list(dict.fromkeys(cleaned))

    @model_validator(mode="after")
    def _something_to_follow(self) -> MastodonConfig:
        if self.streaming and self.token is None:
            raise ValueError("streaming needs a token (Mastodon 4.2+ streams need a user token)")
        if not self.hashtags and (self.token is None or not self.notifications):
            raise ValueError("nothing to follow: give hashtags, or a token for notifications")
        return self


def id_key(native_id: str) -> tuple[int, str]:
    """Mastodon ids are opaque strings; vanilla ones sort by length, then text."""
    return len(native_id), native_id


class MastodonSource(HttpSource[MastodonConfig], Replies):
    config_model = MastodonConfig
    network = "mastodon"

    def __init__(self, config: MastodonConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._instance: dict[str, Any] | None = None
        self._instance_at: datetime | None = None
        self.host = httpx.URL(config.base_url).host

    # -- polling ---------------------------------------------------------------------
    async def poll(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        failures: list[Failure] = []
        for feed in self._feeds():
            try:
                async for event in self._read_feed(feed, state):
                    yield event
            except Failure as failure:
                failures.append(failure)
        if failures:
            raise worst(failures)

    def _feeds(self) -> list[str]:
        feeds = [f"tag:{tag}" for tag in self.config.hashtags]
        if self.config.token is not None and self.config.notifications:
            feeds.append("notifications")
        return feeds

    async def _read_feed(self, feed: str, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        for _ in range(MAX_PAGES if state.get(feed) else 1):
            items = await self._page(feed, state.get(feed))
            if not items:
                if feed.startswith("tag:"):
                    await self._explain_empty(feed[4:])
                return
            for item_id, status in sorted(items, key=lambda pair: id_key(pair[0])):
                if state.get(feed) is None or id_key(item_id) > id_key(state[feed]):
                    state[feed] = item_id
                if status is not None and (mention := self._read_status(status, feed)):
                    yield Upsert(mention=mention, cursor=self.cursor(state))
            if len(items) < (NOTIFICATION_PAGE if feed == "notifications" else PAGE):
                return

    async def _page(self, feed: str, after: str | None) -> list[tuple[str, Any]]:
        """(id, status) pairs of one page after `after` (the newest page without it)."""
        params: dict[str, Any] = {}
        if after is not None:
            params["min_id"] = after
        if feed == "notifications":
            url, what = f"{self.config.base_url}/api/v1/notifications", "notifications"
            params.update({"types[]": "mention", "limit": NOTIFICATION_PAGE})
        else:
            tag = feed[4:]
            url, what = f"{self.config.base_url}/api/v1/timelines/tag/{quote(tag)}", f"#{tag}"
            params["limit"] = PAGE
        body = (
            await self.request("GET", url, params=params, headers=self._auth(), what=what)
        ).json()
        if not isinstance(body, list):
            raise Failure(HealthState.ERROR, f"{what}: expected a list of posts")
        pairs: list[tuple[str, Any]] = []
        for number, item in enumerate(body):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                self.skip_malformed(f"{what}: item {number}", ValueError("no string 'id'"))
                continue
            pairs.append((item["id"], item.get("status") if feed == "notifications" else item))
        return pairs

    def _read_status(self, status: Any, what: str) -> Mention | None:
        try:
            mention = self.mention(status)
        except (KeyError, TypeError, ValueError) as exc:
            self.skip_malformed(what, exc)
            return None
        key = f"{mention.native_id}@{mention.edited_at}"
        return mention if self.seen.add(key) else None

    async def _explain_empty(self, tag: str) -> None:
        """`[]` may mean the admin disabled hashtag feeds (Mastodon 4.5): say so."""
        access = await self._hashtag_access()
        if access == {"disabled"}:
            raise Failure(
                HealthState.DISABLED, f"#{tag}: hashtag feeds are disabled on {self.host}"
            )
        if access == {"authenticated"} and self.config.token is None:
            raise Failure(
                HealthState.AUTH_FAILED,
                f"#{tag}: {self.host} shows hashtag feeds only with a token",
            )

    async def _hashtag_access(self) -> set[str]:
        info = await self.instance()
        feeds = (info.get("configuration", {}).get("timelines_access", {}) or {}).get(
            "hashtag_feeds"
        )
        if not isinstance(feeds, dict):
            return {"public"}  # before 4.5: always public
        return {str(v) for v in feeds.values()} or {"public"}

    async def instance(self) -> dict[str, Any]:
        now = self.clock()
        if (
            self._instance is None
            or self._instance_at is None
            or now - self._instance_at > INSTANCE_TTL
        ):
            reply = await self.request(
                "GET", f"{self.config.base_url}/api/v2/instance", what="instance info"
            )
            body = reply.json()
            self._instance = body if isinstance(body, dict) else {}
            self._instance_at = now
        return self._instance

    def _auth(self) -> dict[str, str]:
        if self.config.token is None:
            return {}
        return {"Authorization": f"Bearer {self.config.token.get_secret_value()}"}

    # -- replies ---------------------------------------------------------------------
    async def reply(self, to: ReplyTo, text: str, *, key: str, at: datetime, retry: bool) -> Posted:
        """`POST /api/v1/statuses` with `Idempotency-Key`: Mastodon returns the first status
        again for a repeated key, so a retry never posts twice."""
        if self.config.token is None:
            raise Failure(HealthState.AUTH_FAILED, "replying needs a token for this source")
        handle = f"@{to.author_handle}"
        status = text if handle.casefold() in text.casefold() else f"{handle} {text}"
        body = {
            "status": status,
            "in_reply_to_id": to.native_id,
            "visibility": self.config.reply_visibility,
        }
        async with self.using_client():
            reply = await self.request(
                "POST",
                f"{self.config.base_url}/api/v1/statuses",
                json_body=body,
                headers={**self._auth(), "Idempotency-Key": key},
                what="reply",
            )
        posted = reply.json()
        if not isinstance(posted, dict) or not isinstance(posted.get("id"), str):
            raise Failure(HealthState.ERROR, "reply: the server did not return the new status")
        return Posted(posted["id"], posted.get("url") or posted.get("uri"))

    async def retract(self, remote_id: str) -> None:
        async with self.using_client():
            await self.request(
                "DELETE",
                f"{self.config.base_url}/api/v1/statuses/{quote(remote_id)}",
                headers=self._auth(),
                what="delete reply",
                ok=(200, 404),
            )

    # -- the normalised mention ------------------------------------------------------
    def mention(self, status: dict[str, Any]) -> Mention:
        if isinstance(status.get("reblog"), dict):
            status = status["reblog"]
        account = status["account"]
        text, links = html_to_text(str(status.get("content") or ""))
        acct = str(account["acct"])
        if "@" not in acct:
            acct = f"{acct}@{self.host}"  # local accounts come without a domain
        edited = status.get("edited_at")
        reply_to = status.get("in_reply_to_id")
        card = status.get("card")
        if isinstance(card, dict) and isinstance(card.get("url"), str) and card["url"] not in links:
            links.append(card["url"])
        return Mention(
            source=self.network,
            source_name=self.name,
            native_id=str(status["id"]),
            kind="reply" if reply_to else "post",
            url=status.get("url") or status.get("uri"),
            created_at=parse_time(status["created_at"]),
            edited_at=parse_time(edited) if edited else None,
            author=Author(
                id=str(account.get("id")) if account.get("id") is not None else None,
                handle=acct,
                display_name=account.get("display_name") or None,
                url=account.get("url"),
                followers=account.get("followers_count"),
                is_bot=account.get("bot"),
            ),
            text=text,
            language=status.get("language"),
            content_warning=status.get("spoiler_text") or None,
            in_reply_to_id=str(reply_to) if reply_to else None,
            hashtags=tuple(str(t["name"]) for t in status.get("tags") or [] if isinstance(t, dict)),
            mentioned_handles=tuple(
                str(m["acct"]) for m in status.get("mentions") or [] if isinstance(m, dict)
            ),
            links=tuple(links),
            engagement=Engagement(
                likes=status.get("favourites_count"),
                reposts=status.get("reblogs_count"),
                replies=status.get("replies_count"),
                quotes=status.get("quotes_count"),
            ),
            raw=status,
        )

    # -- streaming -------------------------------------------------------------------
    async def follow(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        if not self.config.streaming:
            async for event in super().follow(state):
                yield event
            return

        async def handle(item: tuple[str, str, str]) -> list[MentionEvent]:
            return self._stream_events(*item, state)

        feeders = [partial(self._stream, feed) for feed in self._feeds()]
        async for event in self.live(state, feeders, handle):
            yield event

    async def _stream(self, feed: str, queue: asyncio.Queue[Any]) -> None:
        """Put one stream's events on the queue; put a Failure there when it ends."""
        if feed == "notifications":
            path, params, what = "user/notification", {}, "notification stream"
        else:
            path, params, what = "hashtag", {"tag": feed[4:]}, f"#{feed[4:]} stream"
        assert self.client is not None
        try:
            base = await self._streaming_base()
            async with self.client.stream(
                "GET", f"{base}/api/v1/streaming/{path}", params=params, headers=self._auth()
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self.failure_for(
                        Reply(response.status_code, response.headers, response.content, what)
                    )
                async for event in server_events(response):
                    if event is not HEARTBEAT:
                        await queue.put((feed, event.event, event.data))
            failure = Failure(HealthState.BACKING_OFF, f"{what}: the server ended the stream")
        except Failure as exc:
            failure = exc
        except httpx.TimeoutException:
            failure = Failure(
                HealthState.BACKING_OFF, f"{what}: no heartbeat for 60 s, reconnecting"
            )
        except httpx.HTTPError as exc:
            failure = Failure(HealthState.BACKING_OFF, f"{what}: {transport_words(exc)}")
        await queue.put(failure)

    async def _streaming_base(self) -> str:
        """The streaming server may live on another host (`configuration.urls.streaming`)."""
        urls = (await self.instance()).get("configuration", {}).get("urls", {})
        found = urls.get("streaming") if isinstance(urls, dict) else None
        if isinstance(found, str) and found.startswith(("wss://", "ws://", "https://", "http://")):
            return found.replace("wss://", "https://", 1).replace("ws://", "http://", 1).rstrip("/")
        return self.config.base_url

    def _stream_events(
        self, feed: str, name: str, data: str, state: dict[str, Any]
    ) -> list[MentionEvent]:
        what = f"{feed} stream"
        if name == "delete":  # data is the bare status id
            return [
                Delete(source_name=self.name, native_id=data.strip(), cursor=self.cursor(state))
            ]
        if name not in {"update", "status.update", "notification"}:
            return []  # filters_changed, announcements...
        try:
            payload = loads(data)
        except ValueError as exc:
            self.skip_malformed(what, exc)
            return []
        if name == "notification":
            if not isinstance(payload, dict) or payload.get("type") != "mention":
                return []
            item_id, payload = str(payload.get("id")), payload.get("status")
        else:
            item_id = str(payload.get("id")) if isinstance(payload, dict) else ""
        if not isinstance(payload, dict):
            self.skip_malformed(what, ValueError("no status in the event"))
            return []
        mention = self._read_status(payload, what)
        if (
            name != "status.update"
            and item_id
            and (state.get(feed) is None or id_key(item_id) > id_key(state[feed]))
        ):
            state[feed] = item_id  # safe: the stream was open before the backfill ran
        if mention is None:
            return []
        return [Upsert(mention=mention, cursor=self.cursor(state))]
