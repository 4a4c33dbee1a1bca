"""How each outbox entry reaches the world: a reply through its source's connector, or a
team's JSON webhook, Slack-compatible webhook or command. Headless.

A sender returns what it posted (remote id, url) or raises `Undelivered`, which says whether
trying again can help: 5xx, 429, timeouts and broken connections can; a refused credential, a
404 or a 400 cannot, and the entry is marked failed at once rather than retried for a day.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from sources.contract import HealthState, Posted, Replies, ReplyTo
from sources.http import Failure, transport_words
from sources.ratelimit import retry_at
from sources.sanitize import clean_line
from tui.outbox import Route, Routes
from tui.records import Entry
from tui.settings import Loaded, TeamSettings

RETRYABLE = {HealthState.BACKING_OFF, HealthState.RATE_LIMITED}


class Undelivered(Exception):
    def __init__(self, message: str, *, retry: bool, not_before: datetime | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.not_before = not_before


class Sender(Protocol):
    async def send(self, entry: Entry) -> Posted: ...


@dataclass
class ReplySender:
    """Replies (and their retractions) through the mention's own source."""

    source: Replies
    mention: Callable[[int], Awaitable[ReplyTo]]  # the stored mention (Store.reply_target)

    async def send(self, entry: Entry) -> Posted:
        try:
            if entry.kind == "retract":
                await self.source.retract(str(entry.payload["remote_id"]))
                return Posted(str(entry.payload["remote_id"]))
            to: ReplyTo = await self.mention(entry.mention_id)
            return await self.source.reply(
                to,
                str(entry.payload["text"]),
                key=entry.key,
                at=entry.created_at,
                retry=entry.attempts > 1,
            )
        except Failure as failure:
            raise Undelivered(
                failure.message, retry=failure.state in RETRYABLE, not_before=failure.retry_at
            ) from None


@dataclass
class WebhookSender:
    """POST the entry's JSON document; Slack gets `{"text": ...}` instead."""

    url: str
    client: httpx.AsyncClient
    secret: bytes | None = None
    slack: bool = False

    async def send(self, entry: Entry) -> Posted:
        body = json.dumps(
            {"text": slack_text(entry.payload)} if self.slack else entry.payload,
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": entry.key}
        if self.secret is not None:
            digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
            headers["X-Triage-Signature"] = f"sha256={digest}"
        what = "Slack webhook" if self.slack else "webhook"
        try:
            response = await self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Undelivered(f"{what}: {transport_words(exc)}", retry=True) from None
        status = response.status_code
        if 200 <= status < 300:
            return Posted(_remote_id(response) or str(status))
        detail = clean_line(response.text[:120], 120)
        message = f"{what}: answered {status}{f' ({detail})' if detail else ''}"
        retry = status in {408, 425, 429} or status >= 500
        raise Undelivered(message, retry=retry, not_before=retry_at(response.headers, _now()))


@dataclass
class CommandSender:
    """Run a command with the entry's JSON on stdin: exit 0 is delivered, and the first line
    of its output (a ticket number, say) is kept as the remote id."""

    argv: list[str]
    deadline: float

    async def send(self, entry: Entry) -> Posted:
        body = json.dumps(entry.payload, ensure_ascii=False).encode()
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=None,
            )
        except OSError as exc:
            message = f"command: cannot run {self.argv[0]}: {exc.strerror}"
            raise Undelivered(message, retry=False) from None
        try:
            async with asyncio.timeout(self.deadline):
                out, err = await proc.communicate(body)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise Undelivered(f"command: no exit within {self.deadline:g} s", retry=True) from None
        if proc.returncode != 0:
            said = err.decode(errors="replace").strip().splitlines()
            tail = f" ({clean_line(said[-1], 160)})" if said else ""
            raise Undelivered(f"command: exit {proc.returncode}{tail}", retry=True)
        first = out.decode(errors="replace").strip().splitlines()[:1]
        return Posted(clean_line(first[0], 200) if first else "0")


def slack_text(payload: Mapping[str, Any]) -> str:
    """A one-message summary; Slack's three control characters escaped, as it asks."""
    mention, decision = payload["mention"], payload["decision"]
    author = mention["author"]["handle"]
    text = " ".join(str(mention["text"]).split())[:500]
    lines = [
        f"*{payload['event']} to {payload['team']}* by {decision['actor']}",
        f"{mention['source']} · {author}: {text}",
        str(mention["url"] or ""),
    ]
    return "\n".join(_slack_escape(line) for line in lines if line)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _remote_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    return clean_line(str(found), 200) if found is not None else None


def _now() -> datetime:
    return datetime.now(UTC)


# -- from the settings ---------------------------------------------------------------------


def routes(loaded: Loaded, origin: str) -> Routes:
    """Which sources can reply and which teams have a target, and whether each is dry."""
    dry = loaded.settings.outbox.dry_run
    replies = {
        s.name: Route(s.config.type, dry or s.config.dry_run)
        for s in loaded.sources
        if isinstance(s, Replies)
    }
    teams = {name: Route(t.channel, dry or t.dry_run) for name, t in loaded.settings.teams.items()}
    return Routes(replies, teams, origin)


def senders(
    loaded: Loaded, client: httpx.AsyncClient, mention: Callable[[int], Awaitable[ReplyTo]]
) -> dict[tuple[str, str], Sender]:
    """(kind group, target) -> sender: ("reply", source name) and ("team", team name)."""
    out: dict[tuple[str, str], Sender] = {}
    for source in loaded.sources:
        if isinstance(source, Replies):
            out[("reply", source.name)] = ReplySender(source, mention)
    deadline = loaded.settings.outbox.deadline
    for name, team in loaded.settings.teams.items():
        out[("team", name)] = _team_sender(team, client, deadline)
    return out


def _team_sender(team: TeamSettings, client: httpx.AsyncClient, deadline: float) -> Sender:
    secret = team.secret.get_secret_value().encode() if team.secret else None
    if team.webhook:
        return WebhookSender(team.webhook, client, secret)
    if team.slack:
        return WebhookSender(team.slack.get_secret_value(), client, None, slack=True)
    assert team.command is not None
    return CommandSender(team.command, deadline)
