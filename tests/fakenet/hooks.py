"""A webhook receiver that records what it is sent, and can be down (503) for a while."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.fakenet.server import FakeNet, Request, Response


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class FakeReceiver:
    def __init__(self, net: FakeNet, path: str = "/hooks/sre") -> None:
        self.net = net
        self.path = path
        self.received: list[Received] = []
        self.down = False
        net.route("POST", path, self._receive)

    @property
    def url(self) -> str:
        return self.net.url + self.path

    def keys(self) -> list[str]:
        return [r.headers.get("idempotency-key", "") for r in self.received]

    def _receive(self, request: Request) -> Response:
        if self.down:
            return Response.json({"error": "receiver down"}, 503)
        self.received.append(Received(request.body, request.headers))
        return Response.json({"id": f"TICKET-{len(self.received)}"}, 201)
