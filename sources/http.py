"""What every HTTP source shares: config keys, secrets, one client, requests with an overall
deadline, failures classified into health states, and the poll loop with backoff.

A connector subclasses `HttpSource` and writes `poll(state)`: fetch, yield events, raise
`Failure` (via `request`) when the service says no. The loop here turns failures into the
health the desk shows (rate limited until T, auth failed, blocked, endpoint disabled, backing
off until T) and waits the right time before trying again; it never raises for a network
problem. Messages name the endpoint by what it is ("tag timeline #acme"), never by URL: feed
URLs can be secret capability URLs, and query strings can carry tokens.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import importlib
import json
import os
import ssl
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, ClassVar, TypeVar

import httpx
from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

from sources.backoff import Backoff
from sources.contract import HealthState, Source, SourceConfig
from sources.jsondecode import loads
from sources.model import MentionEvent, Upsert
from sources.ratelimit import retry_at
from sources.sanitize import clean_line
from sources.seen import BoundedSet

MAX_BODY = 8 << 20  # a larger answer is refused rather than buffered
_DETAIL = 160  # characters of a server's own error message worth showing


def _version() -> str:
    try:
        return version("mention-triage")
    except PackageNotFoundError:  # running from a checkout without install
        return "0"


USER_AGENT = f"mention-triage/{_version()} (+https://github.com/mention-triage)"


def _secret(value: Any) -> Any:
    """A secret is given inline or as `{ env = "VAR" }`, read from the environment."""
    if isinstance(value, Mapping):
        name = value.get("env")
        if set(value) != {"env"} or not isinstance(name, str) or not name:
            raise ValueError('a secret is a string or { env = "VARIABLE_NAME" }')
        found = os.environ.get(name)
        if not found:
            raise ValueError(f"environment variable {name} is not set")
        return found
    return value


# Shown as '**********' in reprs, errors and logs; `.get_secret_value()` only where it is sent.
Secret = Annotated[SecretStr, BeforeValidator(_secret)]


def _http_url(value: str) -> str:
    url = httpx.URL(value)
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


# A service root or feed address; trailing slash dropped so paths join cleanly.
HttpUrl = Annotated[str, AfterValidator(_http_url)]


class HttpConfig(SourceConfig):
    deadline: float = Field(
        default=30.0, gt=0, description="Seconds one request may take, body included."
    )


@dataclass(frozen=True)
class Failure(Exception):
    """The service did not give us what we asked for, in words a responder can act on."""

    state: HealthState
    message: str
    retry_at: datetime | None = None  # when the service invited us back, if it said

    def __str__(self) -> str:
        return self.message


# The least time to stay away after each kind of failure: a block or a refused credential
# does not fix itself in seconds, and hammering it can turn a soft block into a hard one.
FLOOR = {
    HealthState.AUTH_FAILED: 300.0,
    HealthState.BLOCKED: 1800.0,
    HealthState.DISABLED: 1800.0,
}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    content: bytes
    what: str

    @property
    def is_html(self) -> bool:
        kind = self.headers.get("content-type", "")
        return "html" in kind or self.content.lstrip()[:15].lower().startswith(
            (b"<!doctype", b"<html")
        )

    def json(self) -> Any:
        try:
            return loads(self.content)
        except ValueError:
            raise Failure(
                HealthState.BACKING_OFF, f"{self.what}: the answer was not valid JSON"
            ) from None

    def error_detail(self) -> str:
        """The service's own short explanation (`error`, `message`), cleaned for display."""
        body = json_or_none(self)
        if not isinstance(body, dict):
            return ""
        parts = [str(body[k]) for k in ("error", "message") if isinstance(body.get(k), str)]
        return clean_line(": ".join(parts), _DETAIL)


def new_client() -> httpx.AsyncClient:
    # Connect fast or fail; a read may be slow (streams send a heartbeat every ~15 s).
    return httpx.AsyncClient(
        verify=_tls(),
        timeout=httpx.Timeout(10.0, read=60.0),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client (as httpx makes it, SSL_CERT_FILE and all): loading
    the CA roots takes ~20 ms, which each new client paid on the event loop."""
    return httpx.create_ssl_context()


async def warm_up() -> None:
    """Do in a thread what a process's first client and first request would do on the event
    loop, ~20 ms each: load the TLS roots, import httpcore and anyio's asyncio backend."""
    await asyncio.to_thread(_warm)


@functools.cache
def _warm() -> None:
    new_client()
    with contextlib.suppress(ImportError):  # only a warm-up: a later anyio may move it
        importlib.import_module("anyio._backends._asyncio")


@asynccontextmanager
async def shared_client(sources: Iterable[Source[Any]]) -> AsyncIterator[httpx.AsyncClient]:
    """One client (one connection pool) for every HTTP source of this process."""
    await warm_up()
    client = new_client()
    http_sources = [s for s in sources if isinstance(s, HttpSource)]
    for source in http_sources:
        source.client = client
    try:
        yield client
    finally:
        for source in http_sources:
            source.client = None
        await client.aclose()


def fetches_http(sources: Iterable[Source[Any]]) -> bool:
    return any(isinstance(s, HttpSource) for s in sources)


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """HTTP sources keep a JSON object per source (positions per feed); a cursor that is
    not one (an older format, a hand edit) means starting fresh, not crashing."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def encode_cursor(state: Mapping[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def parse_time(value: Any) -> datetime:
    """An ISO-8601 time or epoch seconds, as aware UTC; ValueError otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


H = TypeVar("H", bound=HttpConfig)


class HttpSource(Source[H], abc.ABC):
    """A polled HTTP connector: subclasses implement `poll`; this class does the rest."""

    network: ClassVar[str]  # the `source` value on each mention: "mastodon", "rss", ...

    def __init__(
        self,
        config: H,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(config)
        self.client = client
        self.clock = clock or (lambda: datetime.now(UTC))
        self.backoff = Backoff()
        self.seen = BoundedSet()

    @abc.abstractmethod
    def poll(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        """One round: fetch what is new since `state`, update it, yield events whose
        cursor is `self.cursor(state)` at that point."""

    async def events(
        self, cursor: str | None, *, once: bool = False
    ) -> AsyncIterator[MentionEvent]:
        state = decode_cursor(cursor)
        own_client = self.client is None
        if own_client:
            self.client = new_client()
        try:
            while True:
                try:
                    async for event in self.poll(state):
                        yield self._count(event)
                except Failure as failure:
                    wait = self._failed(failure)
                else:
                    self._succeeded()
                    if once:
                        return
                    try:  # until the next poll: a pause, or a live stream
                        async for event in self.follow(state):
                            yield self._count(event)
                        wait = 0.0
                    except Failure as failure:
                        wait = self._failed(failure)
                if once:
                    return
                await asyncio.sleep(wait)
        finally:
            if own_client and self.client is not None:
                await self.client.aclose()
                self.client = None

    async def follow(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        """Between two polls. Polling sources just wait; a streaming source yields what its
        stream delivers and returns (or raises `Failure`) when the stream ends."""
        await asyncio.sleep(self.config.poll_interval)
        return
        yield  # an async generator that yields nothing

    async def live(
        self,
        state: dict[str, Any],
        feeders: Sequence[Callable[[asyncio.Queue[Any]], Coroutine[Any, Any, None]]],
        handle: Callable[[Any], Awaitable[list[MentionEvent]]],
    ) -> AsyncIterator[MentionEvent]:
        """Follow live streams without a gap: open them first (each feeder puts messages on
        the queue, and a `Failure` when its stream ends), backfill over REST with `poll`,
        then turn queued messages into events until a stream ends."""
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)  # a slow desk slows the stream
        tasks = [asyncio.create_task(feed(queue)) for feed in feeders]
        try:
            async for event in self.poll(state):
                yield event
            while True:
                item = await queue.get()
                if isinstance(item, Failure):
                    raise item
                self.health.last_success = self.clock()
                for event in await handle(item):
                    yield event
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _count(self, event: MentionEvent) -> MentionEvent:
        if isinstance(event, Upsert):
            self.health.received += 1
        return event

    @asynccontextmanager
    async def using_client(self) -> AsyncIterator[httpx.AsyncClient]:
        """The attached client (ingest's shared one), or a client for just this block: a
        reply can be sent while ingest runs elsewhere or not at all."""
        if self.client is not None:
            yield self.client
            return
        self.client = new_client()
        try:
            yield self.client
        finally:
            client, self.client = self.client, None
            await client.aclose()

    def cursor(self, state: Mapping[str, Any]) -> str:
        return encode_cursor(state)

    def _succeeded(self) -> None:
        health = self.health
        if health.state is not HealthState.DISABLED:  # a connector may report it on a 200
            health.state = HealthState.OK
            health.retry_at = None
        health.last_success = self.clock()
        self.backoff.reset()

    def _failed(self, failure: Failure) -> float:
        now = self.clock()
        floor = FLOOR.get(failure.state, 0.0)
        if failure.retry_at is not None:
            floor = max(floor, (failure.retry_at - now).total_seconds())
        wait = self.backoff.next(floor)
        health = self.health
        health.state = failure.state
        health.retry_at = now + timedelta(seconds=wait)
        health.record_error(failure.message)
        return wait

    def skip_malformed(self, what: str, exc: Exception) -> None:
        """An item we cannot read is counted and reported; the rest of the page goes on."""
        if isinstance(exc, KeyError):
            reason = f"missing field {exc}"
        else:
            reason = clean_line(
                str(exc).splitlines()[0] if str(exc) else type(exc).__name__, _DETAIL
            )
        self.health.record_malformed(f"{what}: skipped a malformed item: {reason}")

    async def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        ok: Iterable[int] = (200,),
    ) -> Reply:
        """Send one request with an overall deadline; return the reply if its status is
        in `ok`, raise `Failure` in plain words otherwise."""
        assert self.client is not None, "events() attaches a client before polling"
        deadline = self.config.deadline
        try:
            async with asyncio.timeout(deadline):
                async with self.client.stream(
                    method,
                    url,
                    params=params,
                    headers=headers,
                    json=json_body,
                    data=data,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                ) as response:
                    content = await _read_capped(response, what)
        except (TimeoutError, httpx.TimeoutException):
            raise Failure(
                HealthState.BACKING_OFF, f"{what}: no complete answer within {deadline:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise Failure(HealthState.BACKING_OFF, f"{what}: {transport_words(exc)}") from None
        reply = Reply(response.status_code, response.headers, content, what)
        if reply.status in set(ok):
            return reply
        raise self.failure_for(reply)

    def failure_for(self, reply: Reply) -> Failure:
        """Classify a refusal; connectors override this for their platform's quirks."""
        return classify(reply, self.clock())


async def _read_capped(response: httpx.Response, what: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY:
            raise Failure(HealthState.ERROR, f"{what}: answer larger than {MAX_BODY >> 20} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def transport_words(exc: httpx.HTTPError) -> str:
    """What went wrong on the wire, without the URL httpx may put in its message."""
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect to the server"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection mid-answer"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "the connection broke (reset by the server or the network)"
    if isinstance(exc, httpx.DecodingError):
        return "the answer could not be decoded"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects"
    return f"network error ({type(exc).__name__})"


def classify(reply: Reply, now: datetime) -> Failure:
    status, what = reply.status, reply.what
    detail = reply.error_detail()
    said = f" ({detail})" if detail else ""
    if status == 429:
        when = retry_at(reply.headers, now, json_or_none(reply))
        return Failure(HealthState.RATE_LIMITED, f"{what}: rate limited (429){said}", when)
    if status == 401:
        return Failure(HealthState.AUTH_FAILED, f"{what}: credentials refused (401){said}")
    if status == 403 and reply.is_html:
        return Failure(
            HealthState.BLOCKED,
            f"{what}: blocked (403 with an HTML page): the service refuses this client or network",
        )
    if status == 403:
        return Failure(HealthState.AUTH_FAILED, f"{what}: not allowed (403){said}")
    if status == 404:
        return Failure(HealthState.ERROR, f"{what}: not found (404){said}")
    if status >= 500:
        when = retry_at(reply.headers, now)
        return Failure(HealthState.BACKING_OFF, f"{what}: server error {status}{said}", when)
    return Failure(HealthState.ERROR, f"{what}: unexpected answer {status}{said}")


SEVERITY = [
    HealthState.AUTH_FAILED,
    HealthState.BLOCKED,
    HealthState.DISABLED,
    HealthState.RATE_LIMITED,
    HealthState.ERROR,
    HealthState.BACKING_OFF,
]


def worst(failures: list[Failure]) -> Failure:
    """The failure to report when several feeds of one source failed in a round."""
    return min(failures, key=lambda f: SEVERITY.index(f.state) if f.state in SEVERITY else 99)


def json_or_none(reply: Reply) -> Any:
    try:
        return loads(reply.content)
    except ValueError:
        return None
