"""A Mastodon instance: tag timelines and notifications with min_id/since_id/max_id and Link
headers, `/api/v2/instance` with `timelines_access`, and SSE streams with `:thump`
heartbeats that a test can feed and drop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from tests.fakenet.server import FakeNet, Request, Response

TOKEN = "mastodon-user-token-s3cret"
FIRST_ID = 113000000000000001


class FakeMastodon:
    def __init__(self, net: FakeNet, heartbeat: float = 0.2) -> None:
        self.net = net
        self.statuses: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.hashtag_access = "public"  # or "authenticated" / "disabled" (Mastodon 4.5)
        self.heartbeat = heartbeat
        self._streams: list[tuple[Request, asyncio.Queue[tuple[str, str] | None]]] = []
        self._next = FIRST_ID
        net.route("GET", r"/api/v1/timelines/tag/(?P<tag>[^/]+)", self._tag)
        net.route("GET", "/api/v1/notifications", self._notifications)
        net.route("GET", "/api/v2/instance", self._instance)
        net.route("GET", r"/api/v1/streaming/(?P<stream>hashtag|user/notification)", self._stream)

    @property
    def base_url(self) -> str:
        return self.net.url

    def _id(self) -> str:
        self._next += 1
        return str(self._next)

    def status(self, text: str, tag: str = "acme", **extra: Any) -> dict[str, Any]:
        sid = self._id()
        status = {
            "id": sid,
            "created_at": "2026-08-01T12:00:03.000Z",
            "edited_at": None,
            "in_reply_to_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": "public",
            "language": "en",
            "uri": f"https://fedi.example/users/pat/statuses/{sid}",
            "url": f"https://fedi.example/@pat/{sid}",
            "replies_count": 2,
            "reblogs_count": 5,
            "favourites_count": 11,
            "quotes_count": 0,
            "content": text,
            "reblog": None,
            "account": {
                "id": "109000000000000042",
                "username": "pat",
                "acct": "pat@fedi.example",
                "display_name": "Pat Example",
                "bot": False,
                "url": "https://fedi.example/@pat",
                "followers_count": 1234,
            },
            "media_attachments": [],
            "mentions": [],
            "tags": [{"name": tag, "url": ""}],
            "emojis": [],
            "card": None,
            "poll": None,
            **extra,
        }
        self.statuses.append(status)
        return status

    def mention(self, text: str) -> dict[str, Any]:
        status = self.status(text, tag="none")
        note = {
            "id": self._id(),
            "type": "mention",
            "created_at": status["created_at"],
            "account": status["account"],
            "status": status,
        }
        self.notifications.append(note)
        return note

    # -- streaming control (from the test's thread) ------------------------------------
    def push(self, event: str, data: Any) -> None:
        payload = data if isinstance(data, str) else json.dumps(data)
        for _, queue in list(self._streams):
            self.net.loop.call_soon_threadsafe(queue.put_nowait, (event, payload))

    def drop_streams(self) -> None:
        for _, queue in list(self._streams):
            self.net.loop.call_soon_threadsafe(queue.put_nowait, None)

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    # -- handlers ----------------------------------------------------------------------
    def _unauthorized(self, request: Request) -> Response | None:
        if request.bearer != TOKEN:
            return Response.json({"error": "The access token is invalid"}, 401)
        return None

    def _tag(self, request: Request) -> Response:
        if self.hashtag_access == "disabled":
            return Response.json([])
        if self.hashtag_access == "authenticated" and (refused := self._unauthorized(request)):
            return refused
        tag = request.params["tag"]
        tagged = [s for s in self.statuses if any(t["name"] == tag for t in s["tags"])]
        return _page(request, tagged, 20, 40, f"{self.base_url}{request.path}")

    def _notifications(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        return _page(request, self.notifications, 40, 80, f"{self.base_url}{request.path}")

    def _instance(self, request: Request) -> Response:
        access = {"local": self.hashtag_access, "remote": self.hashtag_access}
        return Response.json(
            {
                "domain": "127.0.0.1",
                "version": "4.5.0",
                "configuration": {
                    "urls": {"streaming": self.net.url.replace("http", "ws", 1)},
                    "timelines_access": {"hashtag_feeds": access},
                },
            }
        )

    def _stream(self, request: Request) -> Response:
        if refused := self._unauthorized(request):
            return refused
        queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()
        entry = (request, queue)
        self._streams.append(entry)

        async def frames() -> AsyncIterator[bytes]:
            try:
                while True:
                    try:
                        async with asyncio.timeout(self.heartbeat):
                            item = await queue.get()
                    except TimeoutError:
                        yield b":thump\n\n"
                        continue
                    if item is None:
                        return
                    event, data = item
                    yield f"event: {event}\ndata: {data}\n\n".encode()
            finally:
                self._streams.remove(entry)

        return Response(200, headers={"Content-Type": "text/event-stream"}, stream=frames())


def _key(item: dict[str, Any]) -> tuple[int, str]:
    return len(item["id"]), item["id"]


def _page(
    request: Request, items: list[dict[str, Any]], default: int, most: int, url: str
) -> Response:
    """Mastodon's paging: max_id (older), since_id (newest above), min_id (right after)."""
    limit = min(int(request.arg("limit") or default), most)
    chosen = sorted(items, key=_key, reverse=True)
    if (max_id := request.arg("max_id")) is not None:
        chosen = [i for i in chosen if _key(i) < (len(max_id), max_id)]
    for name in ("since_id", "min_id"):
        if (bound := request.arg(name)) is not None:
            chosen = [i for i in chosen if _key(i) > (len(bound), bound)]
    if request.arg("min_id") is not None:
        chosen = chosen[-limit:]  # the page immediately after the cursor
    chosen = chosen[:limit]
    headers = {}
    if chosen:
        headers["Link"] = (
            f'<{url}?max_id={chosen[-1]["id"]}>; rel="next", '
            f'<{url}?min_id={chosen[0]["id"]}>; rel="prev"'
        )
    return Response.json(chosen, headers=headers)


class Posting:
    """`POST /api/v1/statuses` (honouring `Idempotency-Key`) and `DELETE` on a FakeMastodon."""

    def __init__(self, masto: FakeMastodon) -> None:
        self.masto = masto
        self.posted: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        masto.net.route("POST", "/api/v1/statuses", self._post)
        masto.net.route("DELETE", r"/api/v1/statuses/(?P<id>[^/]+)", self._delete)

    def _post(self, request: Request) -> Response:
        if request.bearer != TOKEN:
            return Response.json({"error": "The access token is invalid"}, 401)
        key = request.headers.get("idempotency-key")
        if key and key in self.by_key:
            return Response.json(self.by_key[key])  # Mastodon returns the first one again
        body = request.json()
        sid = self.masto._id()
        status = {
            "id": sid,
            "url": f"{self.masto.base_url}/@acmesupport/{sid}",
            "content": body["status"],
            "in_reply_to_id": body.get("in_reply_to_id"),
            "visibility": body.get("visibility"),
        }
        self.posted.append(status)
        if key:
            self.by_key[key] = status
        return Response.json(status)

    def _delete(self, request: Request) -> Response:
        self.deleted.append(request.params["id"])
        return Response.json({"id": request.params["id"]})
