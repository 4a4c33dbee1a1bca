"""The HTTP/1.1 server itself: raw asyncio streams, so a fault can be exactly what a real
network does (a reset mid-answer, a body shorter than its Content-Length, one byte a second),
which a framework server would tidy away."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name) or self.query.get(f"{name}[]")
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: AsyncIterator[bytes] | None = None  # written as it comes, then the connection closes

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return cls(
            status,
            # UTF-8 as services send it; a lone surrogate in a stand-in's data goes out as the
            # invalid bytes a buggy server would send, not as an escape
            json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"),
            {"Content-Type": "application/json", **(headers or {})},
        )


@dataclass
class Fault:
    """What the server does instead of answering normally, for the next request to a path."""

    kind: str  # "respond", "reset", "truncate", "trickle", "hang", "pass" (answer normally)
    response: Response | None = None

    @classmethod
    def status(cls, status: int, body: Any = None, headers: dict[str, str] | None = None) -> Fault:
        if isinstance(body, bytes | str):
            raw = body.encode() if isinstance(body, str) else body
            return cls("respond", Response(status, raw, headers or {}))
        return cls(
            "respond",
            Response.json(body or {"error": REASONS.get(status, "error")}, status, headers),
        )

    @classmethod
    def garbage(cls) -> Fault:
        return cls("respond", Response(200, b'{"not json', {"Content-Type": "application/json"}))

    @classmethod
    def html_block(cls) -> Fault:
        page = (
            b"<!doctype html><html><body><h1>whoa there, pardner!</h1>"
            b"blocked due to a network policy</body></html>"
        )
        return cls("respond", Response(403, page, {"Content-Type": "text/html"}))

    @classmethod
    def none(cls) -> Fault:
        """No fault this time: the stand-in answers as it would."""
        return cls("pass")

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def truncated(cls) -> Fault:
        return cls("truncate")

    @classmethod
    def trickle(cls) -> Fault:
        return cls("trickle")


Handler = Callable[[Request], Response]


class FakeNet:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.log: list[Request] = []
        self.delay: dict[str, float] = {}  # seconds between handling and answering, by path
        self.servers: list[Any] = []  # other servers on this loop (WebSocket), closed on stop
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeNet:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        started.result(timeout=10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            for server in [self._server, *self.servers]:
                if server is not None:
                    server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            if others:  # let them finish their cleanup, but never hang a test on it
                await asyncio.wait(others, timeout=3)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- configuration -----------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + "$"), handler))

    def fail(self, path: str, *faults: Fault) -> None:
        """The next requests to `path` (exact, no query) get these faults, in order."""
        self.faults[path].extend(faults)

    def requests(self, path: str) -> list[Request]:
        return [r for r in self.log if r.path == path]

    # -- serving -----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.log.append(request)
            fault = self.faults[request.path].popleft() if self.faults[request.path] else None
            if fault is not None and fault.kind == "pass":
                fault = None
            if fault is not None and fault.kind != "respond":
                await _misbehave(fault.kind, writer)
                return
            response = fault.response if fault and fault.response else self._dispatch(request)
            if pause := self.delay.get(request.path):  # the work is done, the answer is slow
                await asyncio.sleep(pause)
            await _write(response, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                try:
                    return handler(request)
                except Exception as exc:  # a bug in a stand-in is a 500, not a hung test
                    return Response.json({"error": f"stand-in failed: {exc!r}"}, 500)
        return Response.json({"error": "Record not found"}, 404)


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    parts = urlsplit(target)
    return Request(method, parts.path, parse_qs(parts.query, keep_blank_values=True), headers, body)


def _head(response: Response, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Status')}"]
    headers = {"Connection": "close", **response.headers}
    if length is not None:
        headers["Content-Length"] = str(length)
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _write(response: Response, writer: asyncio.StreamWriter) -> None:
    if response.stream is None:
        writer.write(_head(response, len(response.body)) + response.body)
        await writer.drain()
        return
    writer.write(_head(response, None))
    try:
        async for chunk in response.stream:
            writer.write(chunk)
            await writer.drain()
    finally:
        close = getattr(response.stream, "aclose", None)
        if close is not None:
            await close()


async def _misbehave(kind: str, writer: asyncio.StreamWriter) -> None:
    body = b'[{"id": "1", "content": "never complete"}]'
    if kind == "reset":
        writer.transport.abort()  # RST, no answer at all
    elif kind == "truncate":  # promises more than it sends, then hangs up
        writer.write(
            _head(Response(200, headers={"Content-Type": "application/json"}), len(body) * 2)
        )
        writer.write(body)
        await writer.drain()
    elif kind == "trickle":  # a valid answer, one byte a second: only a deadline ends it
        writer.write(_head(Response(200, headers={"Content-Type": "application/json"}), len(body)))
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1.0)
