"""Bluesky (reference §2): `searchPosts` for the query and mention notifications of the
account, through the account's PDS with an app password; follower counts from `getProfiles`.

With `jetstream_url`, the source also follows Jetstream (the whole network's posts over a
WebSocket) between polls and matches the query's words locally: open the stream first, backfill
with `searchPosts`, then follow; the cursor is the last event's `time_us`, rewound a few seconds
on reconnect (delivery is at-least-once) with the posts inside the rewind remembered.

One login per process: the session is kept and refreshed on `ExpiredToken` (the refresh
rotates the refresh token; one refresh at a time behind a lock), and a new login happens only
when the refresh itself is refused — never a `createSession` per poll (it is limited to 30
per 5 minutes). Tokens stay in memory: never in the database, never in a message.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal
from urllib.parse import urlencode

import websockets
from pydantic import Field, field_validator, model_validator
from websockets.asyncio.client import connect

from sources.contract import HealthState, Posted, Replies, ReplyTo
from sources.http import (
    USER_AGENT,
    Failure,
    HttpConfig,
    HttpSource,
    HttpUrl,
    Reply,
    Secret,
    json_or_none,
    parse_time,
    worst,
)
from sources.jsondecode import loads
from sources.model import Author, Delete, Engagement, Mention, MentionEvent, Upsert
from sources.seen import BoundedSet
from sources.window import Window

MARGIN = 60.0  # seconds of `indexedAt` re-read each poll
REWIND = 5.0  # seconds of Jetstream replayed on reconnect
POST = "app.bsky.feed.post"
DELIVERED_URIS = 20_000  # posts whose deletion we pass on
MAX_PAGES = 5
PROFILE_BATCH = 25  # getProfiles' limit
PROFILE_CACHE = 5000
WEB = "https://bsky.app/profile"


class BlueskyConfig(HttpConfig):
    type: Literal["bluesky"] = "bluesky"
    base_url: HttpUrl = Field(default="https://bsky.social", description="The account's PDS.")
    handle: str = Field(min_length=1, description="The account's handle, e.g. acme.com.")
    app_password: Secret = Field(description="An app password (Settings > App passwords).")
    query: str | None = Field(default=None, description="searchPosts query, Lucene syntax.")
    notifications: bool = Field(default=True, description="Mentions, replies, quotes of you.")
    jetstream_url: str | None = Field(
        default=None, description="e.g. wss://jetstream2.us-east.bsky.network/subscribe"
    )

    @field_validator("jetstream_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("wss://", "ws://")):
            raise ValueError("must be a wss:// (or ws://) URL")
        return value

    @model_validator(mode="after")
    def _jetstream_needs_words(self) -> BlueskyConfig:
        if self.jetstream_url and not terms(self.query or ""):
            raise ValueError("jetstream_url needs a query: its words are matched locally")
        return self

    poll_interval: float = Field(default=60.0, gt=0)


class BlueskySource(HttpSource[BlueskyConfig], Replies):
    config_model = BlueskyConfig
    network = "bluesky"

    def __init__(self, config: BlueskyConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._access: str | None = None
        self._refresh: str | None = None
        self._auth_lock = asyncio.Lock()
        self.profiles: dict[str, dict[str, Any]] = {}  # did -> profile (handle, followers...)
        self.logins = 0
        self._terms = terms(config.query or "")
        self._did: str | None = None
        self._delivered = BoundedSet(DELIVERED_URIS)

    # -- polling ---------------------------------------------------------------------
    async def poll(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        failures: list[Failure] = []
        feeds = [("search", self._search)] if self.config.query else []
        if self.config.notifications:
            feeds.append(("notifications", self._notifications))
        for name, read in feeds:
            window = Window(state, name, MARGIN)
            try:
                items = await read(window)
            except Failure as failure:
                failures.append(failure)
                continue
            await self._learn_profiles([p["author"]["did"] for p in items if _has_did(p)])
            items.sort(key=lambda p: str(p.get("indexedAt") or ""))
            for number, item in enumerate(items):
                try:
                    mention = self.mention(item)
                    stamp = parse_time(item["indexedAt"]).timestamp()
                except (KeyError, TypeError, ValueError) as exc:
                    self.skip_malformed(f"{name} item {number}", exc)
                    continue
                if window.take(f"{item['uri']}@{item.get('cid')}", stamp):
                    self._delivered.add(mention.native_id)
                    yield Upsert(mention=mention, cursor=self.cursor(state))
        if failures:
            raise worst(failures)

    async def _search(self, window: Window) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"q": self.config.query, "sort": "latest", "limit": 100}
        if window.since is not None:
            params["since"] = _iso(window.since)
        return await self._pages("app.bsky.feed.searchPosts", params, "posts", window, "search")

    async def _notifications(self, window: Window) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"reasons": ["mention", "reply", "quote"], "limit": 100}
        found = await self._pages(
            "app.bsky.notification.listNotifications",
            params,
            "notifications",
            window,
            "notifications",
        )
        return [n for n in found if n.get("reason") in {"mention", "reply", "quote"}]

    async def _pages(
        self, nsid: str, params: dict[str, Any], key: str, window: Window, what: str
    ) -> list[dict[str, Any]]:
        """Newest first, until a page reaches back past the window (or one page, first time)."""
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES if window.since is not None else 1):
            body = await self.xrpc(nsid, params, what)
            page = body.get(key) if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise Failure(HealthState.ERROR, f"{what}: no '{key}' list in the answer")
            found += [p for p in page if isinstance(p, dict)]
            oldest = min((str(p.get("indexedAt") or "") for p in page), default="")
            cursor = body.get("cursor")
            if not page or not cursor or (window.since is not None and oldest < _iso(window.since)):
                break
            params = {**params, "cursor": cursor}
        return found

    async def _learn_profiles(self, dids: list[str]) -> None:
        """Follower counts (search results carry none) and handles (Jetstream events carry
        only a DID): batched by 25, cached, best effort."""
        wanted = list(dict.fromkeys(d for d in dids if d not in self.profiles))
        for start in range(0, len(wanted), PROFILE_BATCH):
            try:
                body = await self.xrpc(
                    "app.bsky.actor.getProfiles",
                    {"actors": wanted[start : start + PROFILE_BATCH]},
                    "profiles",
                )
            except Failure:
                return  # counts are a nicety; the mentions still go in
            for profile in body.get("profiles") or [] if isinstance(body, dict) else []:
                if isinstance(profile, dict) and isinstance(profile.get("did"), str):
                    self.profiles[profile["did"]] = profile
        while len(self.profiles) > PROFILE_CACHE:
            self.profiles.pop(next(iter(self.profiles)))

    # -- Jetstream -------------------------------------------------------------------
    async def follow(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        if not self.config.jetstream_url:
            async for event in super().follow(state):
                yield event
            return
        window = Window(state, "jetstream", REWIND)

        async def handle(message: str | bytes) -> list[MentionEvent]:
            return await self._jetstream_event(message, window, state)

        async for event in self.live(state, [partial(self._jetstream, window)], handle):
            yield event

    async def _jetstream(self, window: Window, queue: asyncio.Queue[Any]) -> None:
        """Put Jetstream messages on the queue; a Failure when the connection ends."""
        assert self.config.jetstream_url is not None
        params = [("wantedCollections", POST)]
        if window.since is not None:
            params.append(("cursor", str(int(window.since * 1_000_000))))
        url = f"{self.config.jetstream_url}?{urlencode(params)}"
        try:
            async with connect(
                url,
                user_agent_header=USER_AGENT,
                open_timeout=self.config.deadline,
                max_size=2**21,
                compression=None,
            ) as socket:
                async for message in socket:
                    await queue.put(message)
            failure = Failure(HealthState.BACKING_OFF, "Jetstream: the server closed the stream")
        except websockets.exceptions.InvalidStatus as exc:
            status = exc.response.status_code
            kind = HealthState.RATE_LIMITED if status == 429 else HealthState.BACKING_OFF
            failure = Failure(kind, f"Jetstream: connection refused ({status})")
        except (websockets.exceptions.WebSocketException, OSError, TimeoutError) as exc:
            failure = Failure(
                HealthState.BACKING_OFF, f"Jetstream: connection lost ({type(exc).__name__})"
            )
        await queue.put(failure)

    async def _jetstream_event(
        self, message: str | bytes, window: Window, state: dict[str, Any]
    ) -> list[MentionEvent]:
        """A post that matches the query becomes an upsert, the deletion of a post we
        delivered a delete; everything else only moves the cursor."""
        try:
            event = loads(message)
            stamp = int(event["time_us"]) / 1_000_000
            did = str(event["did"])
        except (ValueError, KeyError, TypeError) as exc:
            self.skip_malformed("Jetstream", exc)
            return []
        window.passed(stamp)
        commit = event.get("commit")
        if event.get("kind") != "commit" or not isinstance(commit, dict):
            return []
        if commit.get("collection") != POST:
            return []
        uri = f"at://{did}/{POST}/{commit.get('rkey')}"
        if commit.get("operation") == "delete":
            if uri not in self._delivered or not window.take(f"{uri}@deleted", stamp):
                return []
            return [Delete(source_name=self.name, native_id=uri, cursor=self.cursor(state))]
        record = commit.get("record")
        if not isinstance(record, dict) or not self._matches(record):
            return []
        if not window.take(f"{uri}@{commit.get('cid')}", stamp):
            return []  # replayed after a reconnect
        await self._learn_profiles([did])
        indexed = datetime.fromtimestamp(stamp, UTC).isoformat()
        post = {
            "uri": uri,
            "cid": commit.get("cid"),
            "author": {"did": did},
            "record": record,
            "indexedAt": indexed,
        }
        try:
            mention = self.mention(post)
        except (KeyError, TypeError, ValueError) as exc:
            self.skip_malformed("Jetstream post", exc)
            return []
        self._delivered.add(uri)
        return [Upsert(mention=mention, cursor=self.cursor(state))]

    def _matches(self, record: dict[str, Any]) -> bool:
        """Any query word or phrase in the text or tags, or a mention of this account."""
        text = str(record.get("text") or "").casefold()
        tags, _ = _facets(record)
        tags += [str(t) for t in record.get("tags") or []]
        words = {t.casefold().lstrip("#") for t in tags}
        if any(term in text or term.lstrip("#") in words for term in self._terms):
            return True
        return self._did is not None and self._did in _mentioned(record)

    # -- replies ---------------------------------------------------------------------
    async def reply(self, to: ReplyTo, text: str, *, key: str, at: datetime, retry: bool) -> Posted:
        """A post record with the reply's root and parent refs and a mention facet for the
        author. Bluesky has no idempotency key, so the record key is derived from ours: on a
        retry we look for that record first and never post it twice."""
        parent = {"uri": to.native_id, "cid": to.raw.get("cid")}
        if not isinstance(parent["cid"], str):
            raise Failure(HealthState.ERROR, "reply: the post's cid is unknown, cannot reply")
        record_reply = (to.raw.get("record") or {}).get("reply") or {}
        found_root = record_reply.get("root")
        root: dict[str, Any] = found_root if isinstance(found_root, dict) else parent
        handle = f"@{to.author_handle}"
        text = text if handle.casefold() in text.casefold() else f"{handle} {text}"
        rkey = tid(at, key)
        async with self.using_client():
            await self._token()
            if retry and (found := await self._own_post(rkey)) is not None:
                return found
            record = {
                "$type": POST,
                "text": text,
                "createdAt": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "reply": {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent},
                "facets": _mention_facet(text, handle, to.author_id),
            }
            body = {"repo": self._did, "collection": POST, "rkey": rkey, "record": record}
            await self.xrpc("com.atproto.repo.createRecord", {}, "reply", body=body)
        return self._posted(rkey)

    async def retract(self, remote_id: str) -> None:
        rkey = remote_id.rsplit("/", 1)[-1]
        async with self.using_client():
            await self._token()
            body = {"repo": self._did, "collection": POST, "rkey": rkey}
            await self.xrpc("com.atproto.repo.deleteRecord", {}, "delete reply", body=body)

    async def _own_post(self, rkey: str) -> Posted | None:
        """The reply an earlier attempt posted, if it got through."""
        found = await self.xrpc(
            "com.atproto.repo.getRecord",
            {"repo": self._did, "collection": POST, "rkey": rkey},
            "reply check",
            missing="RecordNotFound",
        )
        return None if found is None else self._posted(rkey)

    def _posted(self, rkey: str) -> Posted:
        return Posted(f"at://{self._did}/{POST}/{rkey}", f"{WEB}/{self.config.handle}/post/{rkey}")

    # -- session ---------------------------------------------------------------------
    async def xrpc(
        self,
        nsid: str,
        params: dict[str, Any],
        what: str,
        *,
        body: Any = None,
        missing: str | None = None,
    ) -> Any:
        """Call an XRPC method with the session (a query, or a procedure when `body` is
        given); refresh (or log in again) once if the token expired. None when the server
        answers with the error named `missing` (RecordNotFound, say)."""
        for attempt in range(2):
            token = await self._token()
            reply = await self.request(
                "GET" if body is None else "POST",
                f"{self.config.base_url}/xrpc/{nsid}",
                params=params,
                json_body=body,
                what=what,
                headers={"Authorization": f"Bearer {token}"},
                ok=(200, 400, 401),
            )
            if reply.status == 200:
                return reply.json()
            if missing is not None and _error_name(reply) == missing:
                return None
            if _error_name(reply) in {"ExpiredToken", "InvalidToken"} and attempt == 0:
                await self._renew(token)
                continue
            raise self.failure_for(reply)
        raise AssertionError("unreachable")

    async def _token(self) -> str:
        async with self._auth_lock:
            if self._access is None:
                await self._login()
            assert self._access is not None
            return self._access

    async def _renew(self, expired: str) -> None:
        async with self._auth_lock:
            if self._access != expired:
                return  # another request refreshed it meanwhile
            if self._refresh is not None:
                reply = await self.request(
                    "POST",
                    f"{self.config.base_url}/xrpc/com.atproto.server.refreshSession",
                    headers={"Authorization": f"Bearer {self._refresh}"},
                    ok=(200, 400, 401),
                    what="session refresh",
                )
                if reply.status == 200:
                    self._keep(reply.json())
                    return
            self._access = self._refresh = None
            await self._login()

    async def _login(self) -> None:
        self.logins += 1
        reply = await self.request(
            "POST",
            f"{self.config.base_url}/xrpc/com.atproto.server.createSession",
            json_body={
                "identifier": self.config.handle,
                "password": self.config.app_password.get_secret_value(),
            },
            ok=(200, 400, 401),
            what=f"login as {self.config.handle}",
        )
        if reply.status != 200:
            detail = reply.error_detail()
            raise Failure(
                HealthState.AUTH_FAILED,
                f"login as {self.config.handle} refused ({detail or reply.status}): "
                "check the handle and app password",
            )
        self._keep(reply.json())

    def _keep(self, session: Any) -> None:
        """Store the new pair together: the old refresh token is revoked by the server."""
        if not isinstance(session, dict) or not all(
            isinstance(session.get(k), str) for k in ("accessJwt", "refreshJwt")
        ):
            raise Failure(HealthState.AUTH_FAILED, "login: the server sent no session tokens")
        self._access, self._refresh = session["accessJwt"], session["refreshJwt"]
        self._did = session.get("did") if isinstance(session.get("did"), str) else self._did

    def failure_for(self, reply: Reply) -> Failure:
        if reply.status in {400, 401, 403} and _error_name(reply) == "AuthMissing":
            return Failure(HealthState.AUTH_FAILED, f"{reply.what}: the server wants a login")
        return super().failure_for(reply)

    # -- the normalised mention ------------------------------------------------------
    def mention(self, post: dict[str, Any]) -> Mention:
        record, author = post["record"], post["author"]
        did = str(author["did"])
        profile = self.profiles.get(did, {})
        handle = str(author.get("handle") or profile.get("handle") or did)
        if handle == "handle.invalid":
            handle = did
        uri = str(post["uri"])
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else None
        tags, links = _facets(record)
        embed = post.get("embed") or record.get("embed") or {}
        external = embed.get("external") if isinstance(embed, dict) else None
        if isinstance(external, dict) and isinstance(external.get("uri"), str):
            links.append(external["uri"])
        langs = record.get("langs") or []
        labels = [str(lb.get("val")) for lb in post.get("labels") or [] if isinstance(lb, dict)]
        return Mention(
            source=self.network,
            source_name=self.name,
            native_id=uri,
            kind="reply" if reply else "post",
            url=f"{WEB}/{handle}/post/{uri.rsplit('/', 1)[-1]}",
            created_at=parse_time(record.get("createdAt") or post["indexedAt"]),
            author=Author(
                id=did,
                handle=handle,
                display_name=author.get("displayName") or profile.get("displayName") or None,
                url=f"{WEB}/{handle}",
                followers=_count(profile.get("followersCount")),
            ),
            text=str(record.get("text") or ""),
            language=str(langs[0]) if langs else None,
            content_warning=", ".join(labels) or None,
            in_reply_to_id=str(reply["parent"]["uri"]) if reply else None,
            thread_id=str(reply["root"]["uri"]) if reply else None,
            hashtags=tuple(dict.fromkeys([*tags, *(str(t) for t in record.get("tags") or [])])),
            links=tuple(dict.fromkeys(links)),
            engagement=Engagement(
                likes=post.get("likeCount"),
                reposts=post.get("repostCount"),
                replies=post.get("replyCount"),
                quotes=post.get("quoteCount"),
            ),
            raw=post,
        )


def _facets(record: dict[str, Any]) -> tuple[list[str], list[str]]:
    tags: list[str] = []
    links: list[str] = []
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or [] if isinstance(facet, dict) else []:
            kind = str(feature.get("$type", "")) if isinstance(feature, dict) else ""
            if kind.endswith("#tag") and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"])
            elif kind.endswith("#link") and isinstance(feature.get("uri"), str):
                links.append(feature["uri"])
    return tags, links


def _has_did(item: dict[str, Any]) -> bool:
    return isinstance(item.get("author"), dict) and isinstance(item["author"].get("did"), str)


def _error_name(reply: Reply) -> str:
    body = json_or_none(reply)
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def terms(query: str) -> list[str]:
    """The words and "quoted phrases" of a search query, lowercased, operators dropped: what
    Jetstream posts are matched against (a substring match, so 'acme' finds 'acmecloud')."""
    found = [p.casefold() for p in re.findall(r'"([^"]+)"', query)]
    rest = re.sub(r'"[^"]*"', " ", query)
    words = re.findall(r"[^\s()]+", rest)
    found += [w.casefold() for w in words if w not in {"AND", "OR", "NOT"}]
    return [t for t in dict.fromkeys(found) if t and not t.startswith("-")]


def _mentioned(record: dict[str, Any]) -> set[str]:
    dids = set()
    for facet in record.get("facets") or []:
        for feature in facet.get("features") or [] if isinstance(facet, dict) else []:
            if isinstance(feature, dict) and str(feature.get("$type", "")).endswith("#mention"):
                dids.add(str(feature.get("did")))
    return dids


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"


def tid(at: datetime, key: str) -> str:
    """A record key in the TID format (13 base32-sortable characters: 53 bits of
    microseconds, 10 bits of clock id), the same for the same (time, key) on every retry."""
    micros = int(at.timestamp() * 1_000_000) & ((1 << 53) - 1)
    clock = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=2).digest(), "big") % 1024
    value = (micros << 10) | clock
    return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _mention_facet(text: str, handle: str, did: str | None) -> list[dict[str, Any]]:
    """A facet so the author is notified: byte offsets into the UTF-8 text."""
    start = text.casefold().find(handle.casefold())
    if did is None or start < 0:
        return []
    begin = len(text[:start].encode())
    end = begin + len(text[start : start + len(handle)].encode())
    return [
        {
            "index": {"byteStart": begin, "byteEnd": end},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
        }
    ]
