"""Jetstream v1 `/subscribe`: a WebSocket that replays stored events after `cursor` (and,
being at-least-once, the event at the cursor again), honours `wantedCollections`, then sends
what a test pushes, until the test drops the connection."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

from tests.fakenet.server import FakeNet

POST = "app.bsky.feed.post"


class FakeJetstream:
    def __init__(self, net: FakeNet) -> None:
        self.net = net
        self.events: list[dict[str, Any]] = []
        self.connections: list[dict[str, list[str]]] = []  # query of each connection
        self.refuse: int | None = None  # answer the handshake with this status instead
        self._live: list[asyncio.Queue[dict[str, Any] | None]] = []
        self._clock = 1785585600_000000
        future = asyncio.run_coroutine_threadsafe(self._start(), net.loop)
        self.port = future.result(timeout=10)

    async def _start(self) -> int:
        server = await serve(
            self._serve, "127.0.0.1", 0, process_request=self._check, close_timeout=0.5
        )
        self.net.servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def post(self, did: str, rkey: str, text: str, **record: Any) -> dict[str, Any]:
        return self._add(
            {
                "did": did,
                "kind": "commit",
                "commit": {
                    "rev": "r",
                    "operation": "create",
                    "collection": POST,
                    "rkey": rkey,
                    "cid": f"bafy{rkey}",
                    "record": {
                        "$type": POST,
                        "text": text,
                        "createdAt": "2026-08-01T12:00:03.123Z",
                        **record,
                    },
                },
            }
        )

    def delete(self, did: str, rkey: str) -> dict[str, Any]:
        return self._add(
            {
                "did": did,
                "kind": "commit",
                "commit": {"rev": "r", "operation": "delete", "collection": POST, "rkey": rkey},
            }
        )

    def like(self, did: str) -> dict[str, Any]:
        return self._add(
            {
                "did": did,
                "kind": "commit",
                "commit": {
                    "rev": "r",
                    "operation": "create",
                    "collection": "app.bsky.feed.like",
                    "rkey": "l",
                    "record": {"$type": "app.bsky.feed.like"},
                },
            }
        )

    def _add(self, event: dict[str, Any]) -> dict[str, Any]:
        self._clock += 1_000_000
        event["time_us"] = self._clock
        self.events.append(event)
        for queue in list(self._live):
            self.net.loop.call_soon_threadsafe(queue.put_nowait, event)
        return event

    def drop(self) -> None:
        for queue in list(self._live):
            self.net.loop.call_soon_threadsafe(queue.put_nowait, None)

    def _check(self, connection: ServerConnection, request: Any) -> Any:
        if self.refuse is not None:
            return connection.respond(self.refuse, "refused\n")
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        query = parse_qs(urlsplit(connection.request.path).query)
        self.connections.append(query)
        wanted = query.get("wantedCollections", [])
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._live.append(queue)
        try:
            if cursor is not None:
                for event in self.events:
                    if event["time_us"] >= cursor and _wanted(event, wanted):
                        await connection.send(json.dumps(event))
            while (pushed := await queue.get()) is not None:
                if _wanted(pushed, wanted):
                    await connection.send(json.dumps(pushed))
        finally:
            self._live.remove(queue)


def _wanted(event: dict[str, Any], wanted: list[str]) -> bool:
    commit = event.get("commit")
    return not wanted or not isinstance(commit, dict) or commit.get("collection") in wanted
