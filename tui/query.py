"""The view query language (DESIGN §6), compiled to SQL. Headless.

    status:new,escalated priority:urgent source:mastodon tag:outage -tag:spam assignee:me
    age:<1h due:<15m sla:breached lang:en kind:reply rule:down-report action:escalate
    decided:today "exact phrase" word -word sort:oldest

Terms are ANDed; a comma means any of; a leading `-` negates a term; free words and quoted
phrases search the title and text (case-insensitive). A mistake raises QueryError with the
column, which the desk shows inline; nothing here ever raises anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from playbooks.model import parse_duration
from tui.records import STATUSES
from tui.timefmt import iso

PRIORITIES = ("urgent", "high", "normal", "low")
# When a mention is due, none last. The same expression as index mentions_due (schema 13),
# so every term and order written with it reads from that index.
DUE = "coalesce(m.sla_due_at, '9999')"


@dataclass(frozen=True)
class Sort:
    """A view's order: SQL keys over `mentions m`, never NULL and ending with the id, so no
    two mentions tie, all ascending or all descending. `fixed`: no key changes after ingest,
    so a mention's place in the list is known from its keys alone (tui.view_delta)."""

    keys: tuple[str, ...]
    descending: bool = False
    fixed: bool = True

    @property
    def sql(self) -> str:
        way = " DESC" if self.descending else ""
        return ", ".join(k + way for k in self.keys)


SORTS = {
    "priority": Sort(("m.priority_rank", "m.received_at", "m.id")),
    "oldest": Sort(("m.received_at", "m.id")),
    "newest": Sort(("m.received_at", "m.id"), descending=True),
    "due": Sort((DUE, "m.priority_rank", "m.id")),
    "snoozed": Sort(("coalesce(m.snoozed_until, '9999')", "m.id"), fixed=False),
}
# Fields whose answer for a mention changes with the clock or with claims, which no decision
# records: a view using one is read whole again on every change.
UNSTEADY = frozenset({"assignee", "claimed", "age", "due", "sla", "decided"})
_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')
_RELATIVE = re.compile(r"^([<>])(\d+)([smhd])$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_AS_IN_JSON = re.compile(r'[^",\\\x00-\x1f]+')  # no comma (two tags), nothing JSON escapes


class QueryError(ValueError):
    def __init__(self, query: str, position: int, message: str) -> None:
        super().__init__(f"column {position + 1}: {message}")
        self.query = query
        self.position = position
        self.message = message


@dataclass(frozen=True)
class Context:
    me: str
    now: datetime
    today: datetime  # start of the responder's day, for decided:today


@dataclass(frozen=True)
class Query:
    text: str
    where: str  # SQL over `mentions m`, "1" when empty
    args: tuple[object, ...]
    sort: Sort
    words: tuple[str, ...] = ()  # every match holds each in its title or text (tui.search)
    tags: tuple[str, ...] = ()  # and has each of these tags
    steady: bool = True  # which mentions match changes only with their rows and decisions

    @property
    def order(self) -> str:
        return self.sort.sql


Compiler = Callable[[str, Context], tuple[str, list[object]]]


def compile_query(text: str, ctx: Context) -> Query:
    if lone := _SURROGATE.search(text):  # half of a character: SQLite takes only UTF-8
        raise QueryError(text, lone.start(), "not a character (half of a UTF-16 pair)")
    clauses: list[str] = []
    args: list[object] = []
    words: list[str] = []
    tags: list[str] = []
    sort = SORTS["priority"]
    steady = True
    for match in _TOKEN.finditer(text):
        negate, phrase, word = match.group(1) == "-", match.group(2), match.group(3)
        position = match.start()
        if phrase is not None or ":" not in word or word.startswith(":"):
            term = word if phrase is None else phrase
            sql, values = _search(term)
            if not negate:
                words.append(term)
        else:
            field, _, value = word.partition(":")
            if field == "sort":
                if negate or value not in SORTS:
                    known = ", ".join(SORTS)
                    raise QueryError(text, position, f"sort:{value}? sort by one of: {known}")
                sort = SORTS[value]
                continue
            compiler = FIELDS.get(field)
            if compiler is None:
                raise QueryError(
                    text, position, f"unknown field {field!r}; known: {', '.join(FIELDS)}, sort"
                )
            if not value:
                raise QueryError(text, position, f"{field}: needs a value")
            steady = steady and field not in UNSTEADY
            try:
                sql, values = compiler(value, ctx)
            except ValueError as exc:
                raise QueryError(text, position + len(field) + 1, str(exc)) from None
            if field == "tag" and not negate and _AS_IN_JSON.fullmatch(value):
                tags.append(value)  # one tag, stored as written: its text is in `tags`
        # coalesce: a term that is NULL for a mention (no language, no assignee) is false for
        # it, so its negation is true: `-lang:en` keeps the mentions of no known language
        clauses.append(f"NOT coalesce(({sql}), 0)" if negate else f"({sql})")
        args.extend(values)
    where = " AND ".join(clauses) or "1"
    return Query(text, where, tuple(args), sort, tuple(words), tuple(tags), steady)


def _search(term: str) -> tuple[str, list[object]]:
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return (
        "m.text LIKE ? ESCAPE '\\' OR coalesce(m.title, '') LIKE ? ESCAPE '\\'",
        [pattern, pattern],
    )


def _choices(column: str, allowed: tuple[str, ...] | None = None) -> Compiler:
    def compile_(value: str, ctx: Context) -> tuple[str, list[object]]:
        values = [v for v in value.split(",") if v]
        if allowed is not None:
            for v in values:
                if v not in allowed:
                    raise ValueError(f"unknown value {v!r}; one of {', '.join(allowed)}")
        marks = ", ".join("?" * len(values))
        return f"{column} IN ({marks})", list(values)

    return compile_


def _priority(value: str, ctx: Context) -> tuple[str, list[object]]:
    """By rank, which the queue's index holds: by name, Urgent's count at 1M read every new
    mention's row for its priority (0.7 s); by rank, only that index (26 ms)."""
    sql, names = _choices("m.priority_rank", PRIORITIES)(value, ctx)
    return sql, [PRIORITIES.index(str(name)) for name in names]


def _source(value: str, ctx: Context) -> tuple[str, list[object]]:
    values = value.split(",")
    marks = ", ".join("?" * len(values))
    return f"m.source IN ({marks}) OR m.source_name IN ({marks})", [*values, *values]


def _tag(value: str, ctx: Context) -> tuple[str, list[object]]:
    values = value.split(",")
    marks = ", ".join("?" * len(values))
    return f"EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value IN ({marks}))", list(values)


def _claims(by_actor: bool) -> str:
    """Mentions with a live claim (by one actor): as `m.id IN (...)`, which SQLite reads
    once, where `EXISTS (...)` visited every mention (Mine's count at 1M took 0.4 s)."""
    actor = " AND c.actor = ?" if by_actor else ""
    return f"m.id IN (SELECT c.mention_id FROM claims c WHERE c.lease_until > ?{actor})"


def _assignee(value: str, ctx: Context) -> tuple[str, list[object]]:
    """Assigned to the person, or (for a person) claimed by them: what "mine" means."""
    if value == "none":
        return "m.assignee IS NULL", []
    who = ctx.me if value == "me" else value
    return f"m.assignee = ? OR {_claims(by_actor=True)}", [who, iso(ctx.now), who]


def _claimed(value: str, ctx: Context) -> tuple[str, list[object]]:
    if value == "none":
        return f"NOT {_claims(by_actor=False)}", [iso(ctx.now)]
    if value == "any":
        return _claims(by_actor=False), [iso(ctx.now)]
    who = ctx.me if value == "me" else value
    return _claims(by_actor=True), [iso(ctx.now), who]


def _relative(value: str) -> tuple[str, timedelta]:
    match = _RELATIVE.match(value)
    if not match:
        raise ValueError(f"expected <N or >N with s, m, h or d, like <1h or >2d; got {value!r}")
    return match.group(1), parse_duration(match.group(2) + match.group(3))


def _age(value: str, ctx: Context) -> tuple[str, list[object]]:
    op, span = _relative(value)
    # younger than 1h: received after now-1h
    return f"m.received_at {'>' if op == '<' else '<'} ?", [iso(ctx.now - span)]


def _due(value: str, ctx: Context) -> tuple[str, list[object]]:
    op, span = _relative(value)
    known = "" if op == "<" else " AND m.sla_due_at IS NOT NULL"  # (none sorts last)
    return f"{DUE} {op} ?{known}", [iso(ctx.now + span)]


def _sla(value: str, ctx: Context) -> tuple[str, list[object]]:
    if value == "breached":
        return f"{DUE} < ? AND m.status = 'new'", [iso(ctx.now)]
    if value == "ok":
        return f"{DUE} >= ? OR m.status != 'new'", [iso(ctx.now)]
    raise ValueError(f"sla:{value}? use sla:breached or sla:ok")


def _decided(value: str, ctx: Context) -> tuple[str, list[object]]:
    if value == "today":
        since = ctx.today
    else:
        op, span = _relative(value)
        if op != "<":
            raise ValueError("decided: takes today or <N (decided within the last N)")
        since = ctx.now - span
    return (  # IN, not EXISTS per mention: the decisions since then are read once
        "m.id IN (SELECT d.mention_id FROM decisions d WHERE d.decided_at >= ?"
        " AND d.action NOT IN ('note', 'claim', 'release', 'undo'))",
        [iso(since)],
    )


def _suggested(column: str) -> Compiler:
    def compile_(value: str, ctx: Context) -> tuple[str, list[object]]:
        values = value.split(",")
        marks = ", ".join("?" * len(values))
        return (
            f"EXISTS (SELECT 1 FROM suggestions s WHERE s.mention_id = m.id AND s.rank = 0"
            f" AND s.{column} IN ({marks}))",
            list(values),
        )

    return compile_


FIELDS: dict[str, Compiler] = {
    "status": _choices("m.status", STATUSES),
    "priority": _priority,
    "source": _source,
    "tag": _tag,
    "assignee": _assignee,
    "claimed": _claimed,
    "age": _age,
    "due": _due,
    "sla": _sla,
    "decided": _decided,
    "lang": _choices("m.language"),
    "kind": _choices("m.kind"),
    "rule": _suggested("rule_id"),
    "action": _suggested("action"),
}
