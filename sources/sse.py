"""Server-sent events from an httpx streaming response (the WHATWG framing Mastodon uses)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class ServerEvent:
    event: str  # "message" when the server named none; "" for a heartbeat comment
    data: str


HEARTBEAT = ServerEvent("", "")


async def server_events(response: httpx.Response) -> AsyncIterator[ServerEvent]:
    """Each dispatched event; comment lines (`:thump`) come out as HEARTBEAT so a caller can
    tell a quiet stream from a dead one."""
    event, data = "", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield ServerEvent(event or "message", "\n".join(data))
            event, data = "", list[str]()
        elif line.startswith(":"):
            yield HEARTBEAT
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
