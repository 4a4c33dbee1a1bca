"""The outbox: decisions that reach the world (a reply posted, a team told). Headless.

A decision with an outside effect gets its outbox entries in the same transaction that logs
it, so an acknowledged decision is never without its deliveries, and a crash before delivery
only delays them. Each entry carries exactly what will be sent (no secrets), a key that is the
same on every attempt, and its delivery state: pending -> sent | failed | cancelled, or
dry_run when sending is switched off. The dispatcher (`tui.dispatch`) delivers them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from tui.holders import holder_is_dead
from tui.jsontext import dumps
from tui.reads import all_rows, first_row
from tui.records import DecisionRecord, Entry
from tui.timefmt import iso, opt_parse, parse

REPLY_CHANNELS = {"mastodon", "bluesky"}  # networks whose connector can post a reply
STATES = ("pending", "sent", "failed", "cancelled", "dry_run")
FAILING = "state = 'failed' OR (state = 'pending' AND last_error IS NOT NULL)"  # for counts


@dataclass(frozen=True)
class Route:
    channel: str  # mastodon, bluesky (replies); webhook, slack, command (teams)
    dry_run: bool


@dataclass(frozen=True)
class Routes:
    """Where effects go, from the settings: sources that can reply, teams with a target."""

    replies: Mapping[str, Route] = field(default_factory=dict)  # source name -> route
    teams: Mapping[str, Route] = field(default_factory=dict)  # team name -> route
    origin: str = ""  # the database, so a receiver can point back at the decision

    def effects(
        self, action: str, params: Mapping[str, Any], source_name: str
    ) -> list[tuple[str, str, Route]]:
        """(kind, target, route) for each outside effect of a decision."""
        out: list[tuple[str, str, Route]] = []
        if action == "reply" and params.get("reply") and source_name in self.replies:
            out.append(("reply", source_name, self.replies[source_name]))
        team = params.get("team")
        if action == "escalate" and isinstance(team, str) and team in self.teams:
            out.append(("escalate", team, self.teams[team]))
        for name in params.get("notify") or []:
            if name in self.teams and not (action == "escalate" and name == team):
                out.append(("notify", str(name), self.teams[name]))
        return out

    def live(self, action: str, params: Mapping[str, Any], source_name: str) -> list[str]:
        """The targets a decision would really send to (not dry runs): 'fedi', 'sre-oncall'."""
        return [t for _, t, route in self.effects(action, params, source_name) if not route.dry_run]


def entry(row: Mapping[str, Any]) -> Entry:
    return Entry(
        id=row["id"],
        decision_id=row["decision_id"],
        mention_id=row["mention_id"],
        kind=row["kind"],
        target=row["target"],
        channel=row["channel"],
        payload=json.loads(row["payload"]),
        key=row["idempotency_key"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=parse(row["next_attempt_at"]),
        created_at=parse(row["created_at"]),
        sent_at=opt_parse(row["sent_at"]),
        remote_id=row["remote_id"],
        remote_url=row["remote_url"],
        last_error=row["last_error"],
        retracts_id=row["retracts_id"],
    )


# -- in the decision's transaction ---------------------------------------------------------


async def enqueue(
    db: aiosqlite.Connection, decision: DecisionRecord, routes: Routes, now: datetime
) -> list[int]:
    """Outbox entries for the decision's outside effects (none for most decisions)."""
    if decision.action not in {"reply", "escalate"} and not decision.params.get("notify"):
        return []  # the common case costs nothing
    mention = await _mention(db, decision.mention_id)
    effects = routes.effects(decision.action, decision.params, mention["source_name"])
    if not effects:
        return []
    suggestion = await _suggestion(db, decision.suggestion_id)
    ids = []
    for kind, target, route in effects:
        payload = (
            {"text": decision.params["reply"], "in_reply_to": mention["native_id"]}
            if kind == "reply"
            else document(kind, target, decision, mention, suggestion, routes.origin)
        )
        ids.append(
            await _insert(db, decision.id, decision.mention_id, kind, target, route, payload, now)
        )
    return ids


async def _insert(
    db: aiosqlite.Connection,
    decision_id: int,
    mention_id: int,
    kind: str,
    target: str,
    route: Route,
    payload: dict[str, Any],
    now: datetime,
    retracts_id: int | None = None,
) -> int:
    async with db.execute(
        """INSERT INTO outbox (decision_id, mention_id, kind, target, channel, payload,
               idempotency_key, state, next_attempt_at, created_at, retracts_id)
           VALUES (?, ?, ?, ?, ?, ?, 'triage-' || lower(hex(randomblob(12))), ?, ?, ?, ?)
           RETURNING id""",
        (
            decision_id,
            mention_id,
            kind,
            target,
            route.channel,
            dumps(payload),
            "dry_run" if route.dry_run else "pending",
            iso(now),
            iso(now),
            retracts_id,
        ),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def document(
    kind: str,
    team: str,
    decision: DecisionRecord,
    mention: Mapping[str, Any],
    suggestion: Mapping[str, Any] | None,
    origin: str,
) -> dict[str, Any]:
    """The JSON a team's webhook or command receives (documented in the README)."""
    return {
        "event": kind,
        "team": team,
        "decision": {
            "id": decision.id,
            "action": decision.action,
            "params": decision.params,
            "actor": decision.actor,
            "decided_at": iso(decision.decided_at),
            "outcome": decision.outcome,
            "view": decision.view,
        },
        "suggestion": suggestion,
        "mention": {
            "id": mention["id"],
            "source": mention["source"],
            "source_name": mention["source_name"],
            "native_id": mention["native_id"],
            "url": mention["url"],
            "published_at": mention["published_at"],
            "received_at": mention["received_at"],
            "author": {
                "handle": mention["author_handle"],
                "name": mention["author_name"],
                "url": mention["author_url"],
                "followers": mention["author_followers"],
            },
            "title": mention["title"],
            "text": mention["text"],
            "priority": mention["priority"],
            "tags": json.loads(mention["tags"]),
        },
        "link": mention["url"],
        "triage": {"database": origin, "mention_id": mention["id"], "decision_id": decision.id},
    }


async def _mention(db: aiosqlite.Connection, mention_id: int) -> dict[str, Any]:
    async with db.execute(
        """SELECT id, source, source_name, native_id, url, published_at, received_at,
                  author_handle, author_name, author_url, author_followers, title, text,
                  priority, tags FROM mentions WHERE id = ?""",
        (mention_id,),
    ) as cur:
        row = await cur.fetchone()
        names = [d[0] for d in cur.description]
    assert row is not None
    return dict(zip(names, row, strict=True))


async def _suggestion(db: aiosqlite.Connection, suggestion_id: int | None) -> dict[str, Any] | None:
    if suggestion_id is None:
        return None
    async with db.execute(
        """SELECT playbook_id, playbook_version, rule_id, action, params, priority, why
           FROM suggestions WHERE id = ?""",
        (suggestion_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    keys = ("playbook_id", "playbook_version", "rule_id", "action", "params", "priority", "why")
    found = dict(zip(keys, row, strict=True))
    found["params"] = json.loads(found["params"])
    return found


async def on_undo(db: aiosqlite.Connection, reversed_id: int, now: datetime) -> list[Entry]:
    """An undo cancels what has not gone out; returns what has (it stays in the world:
    a reply on the network, a team that was told)."""
    await db.execute(
        """UPDATE outbox SET state = 'cancelled', last_error = 'undone before delivery',
               holder = NULL WHERE decision_id = ? AND state = 'pending'""",
        (reversed_id,),
    )
    return await entries(
        db, "decision_id = ? AND state = 'sent' AND kind != 'retract'", (reversed_id,)
    )


async def retract(
    db: aiosqlite.Connection, reply: Entry, decision_id: int, route: Route, now: datetime
) -> int:
    """Queue the deletion of a posted reply (the responder confirmed it)."""
    payload = {"remote_id": reply.remote_id}
    return await _insert(
        db,
        decision_id,
        reply.mention_id,
        "retract",
        reply.target,
        route,
        payload,
        now,
        retracts_id=reply.id,
    )


# -- delivery bookkeeping ------------------------------------------------------------------


async def entries(
    db: aiosqlite.Connection, where: str = "1", args: tuple[Any, ...] = ()
) -> list[Entry]:
    rows = await all_rows(db, f"SELECT * FROM outbox WHERE {where} ORDER BY id", args)
    return [entry(dict(row)) for row in rows]


async def take_due(
    db: aiosqlite.Connection, holder: str, now: datetime, lease: timedelta, limit: int = 20
) -> list[Entry]:
    """Claim pending entries that are due for this process: free ones, ones whose sender's
    lease ran out, and ones whose sender died on this host (known at once, see holders)."""
    dead = [h for h in await held_by(db, now) if holder_is_dead(h)]
    marks = ",".join("?" * len(dead)) or "NULL"
    async with db.execute(
        f"""UPDATE outbox SET holder = ?, holder_until = ?, attempts = attempts + 1
           WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?
                          AND (holder IS NULL OR holder_until <= ? OR holder IN ({marks}))
                        ORDER BY id LIMIT ?)
           RETURNING id""",
        (holder, iso(now + lease), iso(now), iso(now), *dead, limit),
    ) as cur:
        ids = [row[0] for row in await cur.fetchall()]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return await entries(db, f"id IN ({marks})", tuple(ids))


async def held_by(db: aiosqlite.Connection, now: datetime) -> list[str]:
    """Processes holding due entries under a lease that has not run out."""
    async with db.execute(
        """SELECT DISTINCT holder FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?
           AND holder IS NOT NULL AND holder_until > ?""",
        (iso(now), iso(now)),
    ) as cur:
        return [row[0] for row in await cur.fetchall()]


async def free_due(db: aiosqlite.Connection, now: datetime) -> bool:
    """Is anything due that this process could take? A read, so an idle desk never writes."""
    due = """SELECT 1 FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?
             AND (holder IS NULL OR holder_until <= ?) LIMIT 1"""
    if await first_row(db, due, (iso(now), iso(now))) is not None:
        return True
    return any(holder_is_dead(h) for h in await held_by(db, now))


async def mark_sent(
    db: aiosqlite.Connection, entry_id: int, remote_id: str | None, url: str | None, now: datetime
) -> None:
    await db.execute(
        """UPDATE outbox SET state = 'sent', sent_at = ?, remote_id = ?, remote_url = ?,
               last_error = NULL, holder = NULL, holder_until = NULL WHERE id = ?""",
        (iso(now), remote_id, url, entry_id),
    )


async def mark_failed(
    db: aiosqlite.Connection, entry_id: int, error: str, retry_at: datetime | None
) -> None:
    """A failed attempt: try again at `retry_at`, or give up (None)."""
    await db.execute(
        """UPDATE outbox SET state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END,
               next_attempt_at = coalesce(?, next_attempt_at), last_error = ?,
               holder = NULL, holder_until = NULL WHERE id = ?""",
        (retry_at and iso(retry_at), retry_at and iso(retry_at), error, entry_id),
    )


async def defer(db: aiosqlite.Connection, entry_id: int, until: datetime) -> None:
    """Not an attempt (a target's rate limit): back in the queue, attempt not counted."""
    await db.execute(
        """UPDATE outbox SET next_attempt_at = ?, attempts = attempts - 1, holder = NULL,
               holder_until = NULL WHERE id = ?""",
        (iso(until), entry_id),
    )


async def retry(db: aiosqlite.Connection, where: str, args: tuple[Any, ...], now: datetime) -> int:
    async with db.execute(
        f"""UPDATE outbox SET state = 'pending', next_attempt_at = ?, attempts = 0,
                holder = NULL WHERE state = 'failed' AND ({where}) RETURNING id""",
        (iso(now), *args),
    ) as cur:
        return len(list(await cur.fetchall()))


async def cancel(db: aiosqlite.Connection, where: str, args: tuple[Any, ...]) -> int:
    async with db.execute(
        f"""UPDATE outbox SET state = 'cancelled', last_error = 'cancelled by hand',
                holder = NULL WHERE state IN ('pending', 'failed') AND ({where}) RETURNING id""",
        args,
    ) as cur:
        return len(list(await cur.fetchall()))
