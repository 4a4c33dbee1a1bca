"""Decisions, claims and the mention state they imply. Headless.

Every function here runs inside the store's write transaction (`BEGIN IMMEDIATE`), so checks
and writes are atomic across processes: two desks can never both decide or claim the same
mention. The decision log is the truth; the `status`, `tags`, `assignee` and `snoozed_until`
columns of `mentions` are a projection of it, recomputed after every decision and undo.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from playbooks.model import parse_duration
from tui.jsontext import dumps
from tui.reads import first_row
from tui.records import STATUS_AFTER, DecisionRecord, SuggestionRecord, outcome_of
from tui.store_rows import decision_record, suggestion_record
from tui.timefmt import iso, opt_iso, parse

# Logged like decisions but they handle nothing: no status change, not undone by `u`.
BOOKKEEPING = frozenset({"note", "claim", "release"})
ACTIONS = frozenset(STATUS_AFTER) | BOOKKEEPING


class DecisionRefused(Exception):
    """A decision that must not be logged; the message says why, in a responder's words."""


@dataclass(frozen=True)
class Intent:
    """What a responder asked for on one mention."""

    mention_id: int
    action: str
    params: dict[str, Any]
    suggestion_id: int | None = None  # the top suggestion on screen when they decided
    expect_status: str | None = None  # the status on screen; a different one means too late


@dataclass(frozen=True)
class Who:
    actor: str
    session: str  # one desk process; claims belong to it
    view: str | None = None


# -- decisions -----------------------------------------------------------------------------


async def decide(
    db: aiosqlite.Connection, intent: Intent, who: Who, now: datetime, shown_at: datetime | None
) -> DecisionRecord:
    if intent.action not in ACTIONS:
        raise DecisionRefused(f"unknown action {intent.action!r}")
    status = await _status(db, intent.mention_id)
    await _check_claim(db, intent.mention_id, who, now)
    if intent.expect_status is not None and status != intent.expect_status:
        by = await _last_actor(db, intent.mention_id)
        raise DecisionRefused(f"already {status}{f' by {by}' if by else ''}")
    suggestion = await _suggestion(db, intent.suggestion_id, intent.mention_id)
    bookkeeping = intent.action in BOOKKEEPING
    outcome = None if bookkeeping else outcome_of(suggestion, intent.action, intent.params)
    state = await _state(db, intent.mention_id)
    state.apply(intent.action, intent.params, now)
    record = await _insert(db, intent, who, suggestion, outcome, None, now, shown_at, status, state)
    if not bookkeeping:
        await db.execute(
            "DELETE FROM claims WHERE mention_id = ? AND session = ?",
            (intent.mention_id, who.session),
        )
    return record


async def undo_last(
    db: aiosqlite.Connection,
    who: Who,
    now: datetime,
    effects: Callable[[int], Awaitable[dict[str, Any]]] | None = None,
) -> DecisionRecord:
    """Reverse the actor's latest decision not yet reversed, by logging an undo; `effects`
    deals with what the reversed decision set going outside and says what to log about it."""
    target = await _latest_undoable(db, who.actor)
    if target is None:
        raise DecisionRefused("nothing to undo")
    async with db.execute(
        "SELECT max(id) FROM decisions WHERE mention_id = ?"
        " AND action NOT IN ('note', 'claim', 'release')",
        (target.mention_id,),
    ) as cur:
        row = await cur.fetchone()
    if row is not None and row[0] != target.id:
        raise DecisionRefused("cannot undo: the mention was decided again since")
    await _check_claim(db, target.mention_id, who, now)
    status = await _status(db, target.mention_id)
    state = await _state(db, target.mention_id, without=target.id)
    extra = await effects(target.id) if effects is not None else {}
    intent = Intent(target.mention_id, "undo", {"reverses": target.action, **extra})
    return await _insert(db, intent, who, None, None, target.id, now, None, status, state)


async def _insert(
    db: aiosqlite.Connection,
    intent: Intent,
    who: Who,
    suggestion: SuggestionRecord | None,
    outcome: str | None,
    reverses_id: int | None,
    now: datetime,
    shown_at: datetime | None,
    status_before: str,
    state: _State,
) -> DecisionRecord:
    """Append the decision (its status_after is the state's) and write the state."""
    status_after = state.status_at(now)
    sql = """
        INSERT INTO decisions (mention_id, actor, action, params, suggestion_id, outcome,
            reverses_id, view, shown_at, decided_at, status_before, status_after, rule)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *"""
    args = (
        intent.mention_id,
        who.actor,
        intent.action,
        dumps(intent.params),
        suggestion.id if suggestion else None,
        outcome,
        reverses_id,
        who.view,
        opt_iso(shown_at),
        iso(now),
        status_before,
        status_after,
        f"{suggestion.playbook_id}/{suggestion.rule_id}" if suggestion else None,
    )
    async with db.execute(sql, args) as cur:
        row = await cur.fetchone()
    assert row is not None
    await _write(db, intent.mention_id, state, now)
    if intent.action not in BOOKKEEPING and intent.action != "undo":
        await db.execute(
            "UPDATE mentions SET first_decision_id = ?, first_at = ?, first_view = ?"
            " WHERE id = ? AND first_decision_id IS NULL",
            (row["id"], row["decided_at"], who.view or "(none)", intent.mention_id),
        )
    return decision_record(row)


# -- the projection ---------------------------------------------------------------------


async def _state(db: aiosqlite.Connection, mention_id: int, without: int | None = None) -> _State:
    """The mention's state implied by its effective decisions (minus `without`)."""
    async with db.execute(
        """SELECT action, params, decided_at FROM decisions d
           WHERE mention_id = ? AND action != 'undo' AND id IS NOT ?
             AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.reverses_id = d.id)
           ORDER BY id""",
        (mention_id, without),
    ) as cur:
        effective = await cur.fetchall()
    async with db.execute(
        "SELECT params FROM suggestions WHERE mention_id = ? AND rank = 0", (mention_id,)
    ) as cur:
        top = await cur.fetchone()
    state = _State(tags=list(json.loads(top[0]).get("tags", [])) if top else [])
    for action, params, decided_at in effective:
        state.apply(action, json.loads(params), parse(decided_at))
    return state


async def _write(db: aiosqlite.Connection, mention_id: int, state: _State, now: datetime) -> None:
    status = state.status_at(now)
    await db.execute(
        "UPDATE mentions SET status = ?, tags = ?, assignee = ?, snoozed_until = ? WHERE id = ?",
        (
            status,
            dumps(state.tags),
            state.assignee,
            opt_iso(state.snoozed_until) if status == "snoozed" else None,
            mention_id,
        ),
    )


@dataclass
class _State:
    tags: list[str]
    status: str = "new"
    assignee: str | None = None
    snoozed_until: datetime | None = None

    def apply(self, action: str, params: dict[str, Any], at: datetime) -> None:
        if action in STATUS_AFTER:
            self.status = STATUS_AFTER[action]
            self.snoozed_until = None
        if action == "snooze":
            self.snoozed_until = at + _duration(params.get("snooze"))
        if action == "assign":
            self.assignee = params.get("assignee")
        for tag in params.get("tags", []) if action in ("tag", "escalate") else []:
            if tag not in self.tags:
                self.tags.append(tag)

    def status_at(self, now: datetime) -> str:
        if (
            self.status == "snoozed"
            and self.snoozed_until is not None
            and self.snoozed_until <= now
        ):
            return "new"  # a snooze that is due brings the mention back
        return self.status


def _duration(value: object) -> timedelta:
    try:
        return parse_duration(str(value))
    except ValueError:
        return timedelta(hours=1)


async def wake_snoozed(db: aiosqlite.Connection, now: datetime) -> int:
    """Snoozes that are due: back to new. Returns how many woke."""
    cursor = await db.execute(
        "UPDATE mentions SET status = 'new', snoozed_until = NULL"
        " WHERE status = 'snoozed' AND snoozed_until <= ?",
        (iso(now),),
    )
    return cursor.rowcount


# -- claims -------------------------------------------------------------------------------


async def claim(
    db: aiosqlite.Connection, mention_id: int, who: Who, now: datetime, lease: timedelta
) -> None:
    """Take or renew the claim, unless another desk holds a live one."""
    await _status(db, mention_id)
    async with db.execute(
        """INSERT INTO claims (mention_id, actor, session, claimed_at, lease_until)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (mention_id) DO UPDATE SET actor = excluded.actor,
               session = excluded.session, claimed_at = excluded.claimed_at,
               lease_until = excluded.lease_until
           WHERE claims.lease_until <= ? OR claims.session = excluded.session
           RETURNING session""",
        (mention_id, who.actor, who.session, iso(now), iso(now + lease), iso(now)),
    ) as cur:
        row = await cur.fetchone()
    if row is None:  # another desk's live claim: say whose
        await _check_claim(db, mention_id, who, now)
        raise DecisionRefused("someone is working on this mention")


async def release(db: aiosqlite.Connection, mention_id: int, who: Who) -> bool:
    cursor = await db.execute(
        "DELETE FROM claims WHERE mention_id = ? AND session = ?", (mention_id, who.session)
    )
    return cursor.rowcount > 0


async def _live_claim(
    db: aiosqlite.Connection, mention_id: int, now: datetime
) -> tuple[str, str] | None:
    """(actor, session) of the claim on the mention whose lease has not run out."""
    row = await first_row(
        db,
        "SELECT actor, session FROM claims WHERE mention_id = ? AND lease_until > ?",
        (mention_id, iso(now)),
    )
    return None if row is None else (str(row[0]), str(row[1]))


async def claimed_by(db: aiosqlite.Connection, mention_id: int, now: datetime) -> str | None:
    live = await _live_claim(db, mention_id, now)
    return None if live is None else live[0]


async def _check_claim(db: aiosqlite.Connection, mention_id: int, who: Who, now: datetime) -> None:
    """Refuse when another desk holds a live claim on the mention."""
    live = await _live_claim(db, mention_id, now)
    if live is not None and live[1] != who.session:
        raise DecisionRefused(f"{live[0]} is working on this mention")


# -- lookups ------------------------------------------------------------------------------


async def _status(db: aiosqlite.Connection, mention_id: int) -> str:
    async with db.execute("SELECT status FROM mentions WHERE id = ?", (mention_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise DecisionRefused(f"no mention with id {mention_id}")
    return str(row[0])


async def _last_actor(db: aiosqlite.Connection, mention_id: int) -> str | None:
    async with db.execute(
        "SELECT actor FROM decisions WHERE mention_id = ? ORDER BY id DESC LIMIT 1", (mention_id,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else str(row[0])


async def _suggestion(
    db: aiosqlite.Connection, suggestion_id: int | None, mention_id: int
) -> SuggestionRecord | None:
    if suggestion_id is None:
        return None
    sql = "SELECT * FROM suggestions WHERE id = ? AND mention_id = ?"
    async with db.execute(sql, (suggestion_id, mention_id)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise DecisionRefused(f"suggestion {suggestion_id} is not for mention {mention_id}")
    return suggestion_record(row)


async def _latest_undoable(db: aiosqlite.Connection, actor: str) -> DecisionRecord | None:
    sql = """SELECT * FROM decisions d
             WHERE actor = ? AND action NOT IN ('undo', 'note', 'claim', 'release')
               AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.reverses_id = d.id)
             ORDER BY id DESC LIMIT 1"""
    async with db.execute(sql, (actor,)) as cur:
        row = await cur.fetchone()
    return None if row is None else decision_record(row)
