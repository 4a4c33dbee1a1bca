"""`triage report`: how a shift went, from the log. Headless; every figure is one SQL query
over the database, so a reviewer can re-derive it with `sqlite3` (or list its rows with
`triage export decisions` and the same filters).

Percentiles are nearest-rank (the median of 1, 2, 3, 4 is 2). Mention figures (volume,
detection latency, time to first decision, SLA) take the time range on arrival and the source;
decision figures take every filter. Seconds throughout.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import aiosqlite

from tui.review import BOOKKEEPING, Filters
from tui.timefmt import iso

SECONDS = "(julianday({a}) - julianday({b})) * 86400.0"
DECIDES = f"action NOT IN ({', '.join(repr(a) for a in (*BOOKKEEPING, 'undo'))})"
LOGGED = f"action NOT IN ({', '.join(repr(a) for a in BOOKKEEPING)})"  # decisions and undos


@dataclass
class Section:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Report:
    filters: str
    generated_at: str
    sections: list[Section]

    def as_dict(self) -> dict[str, Any]:
        return {
            "filters": self.filters,
            "generated_at": self.generated_at,
            "sections": {
                s.title: [dict(zip(s.columns, row, strict=True)) for row in s.rows]
                for s in self.sections
            },
        }


async def build(db: aiosqlite.Connection, f: Filters, now: datetime) -> Report:
    sections = [
        await _volume_per_hour(db, f),
        await _volume_per_source(db, f),
        await _detection_latency(db, f),
        await _first_decision(db, f, "view"),
        await _first_decision(db, f, "source"),
        await _sla(db, f, now),
        await _responders(db, f),
        await _counts(db, f, "escalations per team", "team", "escalate"),
        await _counts(db, f, "dismiss reasons", "reason", "dismiss"),
        await _rules(db, f),
        await _deliveries(db, f),
    ]
    return Report(f.describe(), iso(now), sections)


async def _rows(db: aiosqlite.Connection, sql: str, args: Iterable[object]) -> list[list[Any]]:
    async with db.execute(sql, tuple(args)) as cur:
        return [list(row) for row in await cur.fetchall()]


def _percentiles(value: str, group: str, source: str, where: str) -> str:
    """n, median and p90 (nearest rank) of `value` per `group`."""
    return f"""
        WITH v AS (SELECT {group} AS g, {value} AS x FROM {source} WHERE {where}),
        r AS (SELECT g, x, ROW_NUMBER() OVER (PARTITION BY g ORDER BY x) AS k,
                     COUNT(*) OVER (PARTITION BY g) AS n FROM v WHERE x IS NOT NULL)
        SELECT g, n, round(max(CASE WHEN k = (n + 1) / 2 THEN x END), 1),
               round(max(CASE WHEN k = (9 * n + 9) / 10 THEN x END), 1)
        FROM r GROUP BY g, n ORDER BY g"""


async def _volume_per_hour(db: aiosqlite.Connection, f: Filters) -> Section:
    where, args = f.mentions()
    sql = f"""SELECT substr(m.received_at, 1, 13) || ':00Z', count(*) FROM mentions m
              WHERE {where} GROUP BY 1 ORDER BY 1"""
    return Section("volume per hour", ["hour", "mentions"], await _rows(db, sql, args))


async def _volume_per_source(db: aiosqlite.Connection, f: Filters) -> Section:
    where, args = f.mentions()
    sql = f"""SELECT m.source_name, m.source, count(*) FROM mentions m WHERE {where}
              GROUP BY 1, 2 ORDER BY 3 DESC, 1"""
    return Section(
        "volume per source", ["source", "network", "mentions"], await _rows(db, sql, args)
    )


async def _detection_latency(db: aiosqlite.Connection, f: Filters) -> Section:
    where, args = f.mentions()
    value = SECONDS.format(a="m.received_at", b="m.published_at")
    rows = await _rows(db, _percentiles(value, "m.source_name", "mentions m", where), args)
    return Section(
        "detection latency (published to received) per source",
        ["source", "mentions", "median s", "p90 s"],
        rows,
    )


FIRST = f"""(SELECT mention_id, min(id) AS id FROM decisions WHERE {DECIDES} GROUP BY mention_id)"""


async def _first_decision(db: aiosqlite.Connection, f: Filters, by: str) -> Section:
    mw, margs = f.mentions()
    dw, dargs = f.decisions()
    source = f"""mentions m JOIN {FIRST} fd ON fd.mention_id = m.id
                 JOIN decisions d ON d.id = fd.id
                 LEFT JOIN suggestions s ON s.id = d.suggestion_id"""
    value = SECONDS.format(a="d.decided_at", b="m.received_at")
    group = "coalesce(d.view, '(none)')" if by == "view" else "m.source_name"
    rows = await _rows(db, _percentiles(value, group, source, f"{mw} AND {dw}"), [*margs, *dargs])
    return Section(f"time to first decision per {by}", [by, "mentions", "median s", "p90 s"], rows)


async def _sla(db: aiosqlite.Connection, f: Filters, now: datetime) -> Section:
    mw, args = f.mentions()
    sql = f"""
        SELECT m.source_name,
               count(CASE WHEN d.decided_at <= m.sla_due_at THEN 1 END),
               count(CASE WHEN d.decided_at > m.sla_due_at
                            OR (d.id IS NULL AND m.sla_due_at < ?) THEN 1 END),
               count(CASE WHEN d.id IS NULL AND m.sla_due_at >= ? THEN 1 END)
        FROM mentions m LEFT JOIN {FIRST} fd ON fd.mention_id = m.id
             LEFT JOIN decisions d ON d.id = fd.id
        WHERE m.sla_due_at IS NOT NULL AND {mw} GROUP BY 1 ORDER BY 1"""
    stamp = iso(now)
    rows = await _rows(db, sql, [stamp, stamp, *args])
    return Section(
        "SLA (first decision by the due time)", ["source", "met", "breached", "open"], rows
    )


async def _responders(db: aiosqlite.Connection, f: Filters) -> Section:
    dw, args = f.decisions()
    handling = SECONDS.format(a="d.decided_at", b="d.shown_at")
    sql = f"""
        WITH sel AS (SELECT d.actor, d.action, d.decided_at, {handling} AS took
                     FROM decisions d JOIN mentions m ON m.id = d.mention_id
                     LEFT JOIN suggestions s ON s.id = d.suggestion_id
                     WHERE d.{LOGGED} AND {dw})
        SELECT actor, count(*), sum(action != 'undo'), sum(action = 'undo'),
               round(count(*) / max((julianday(max(decided_at)) - julianday(min(decided_at)))
                                    * 24.0, 1.0 / 60), 1)
        FROM sel GROUP BY actor ORDER BY 2 DESC, 1"""
    return Section(
        "responders",
        ["actor", "decisions", "handled", "undos", "per hour"],
        await _rows(db, sql, args),
    )


async def _counts(
    db: aiosqlite.Connection, f: Filters, title: str, key: str, action: str
) -> Section:
    dw, args = f.decisions()
    sql = f"""SELECT coalesce(json_extract(d.params, '$.{key}'), '(none)'), count(*),
                     sum(EXISTS (SELECT 1 FROM decisions u WHERE u.reverses_id = d.id))
              FROM decisions d JOIN mentions m ON m.id = d.mention_id
              LEFT JOIN suggestions s ON s.id = d.suggestion_id
              WHERE d.action = ? AND {dw} GROUP BY 1 ORDER BY 2 DESC, 1"""
    return Section(title, [key, "decisions", "undone"], await _rows(db, sql, [action, *args]))


async def _rules(db: aiosqlite.Connection, f: Filters) -> Section:
    mw, margs = f.mentions()
    dw, dargs = f.decisions()
    sql = f"""
        WITH fired AS (
            SELECT s.playbook_id || '/' || s.rule_id AS rule, count(*) AS fired,
                   sum(s.rank = 0) AS top
            FROM suggestions s JOIN mentions m ON m.id = s.mention_id WHERE {mw} GROUP BY 1),
        answered AS (
            SELECT s.playbook_id || '/' || s.rule_id AS rule,
                   sum(d.outcome = 'accepted') AS accepted, sum(d.outcome = 'edited') AS edited,
                   sum(d.outcome = 'overridden') AS overridden,
                   sum(EXISTS (SELECT 1 FROM decisions u WHERE u.reverses_id = d.id)) AS undone
            FROM decisions d JOIN suggestions s ON s.id = d.suggestion_id
            JOIN mentions m ON m.id = d.mention_id
            WHERE d.{DECIDES} AND {dw} GROUP BY 1)
        SELECT f.rule, f.fired, f.top, coalesce(a.accepted, 0), coalesce(a.edited, 0),
               coalesce(a.overridden, 0), coalesce(a.undone, 0),
               CASE WHEN coalesce(a.accepted + a.edited + a.overridden, 0) > 0
                    THEN round(100.0 * a.accepted / (a.accepted + a.edited + a.overridden), 1)
               END
        FROM fired f LEFT JOIN answered a ON a.rule = f.rule
        ORDER BY f.fired DESC, f.rule"""
    return Section(
        "rules",
        ["rule", "fired", "top", "accepted", "edited", "overridden", "undone", "acceptance %"],
        await _rows(db, sql, [*margs, *dargs]),
    )


async def _deliveries(db: aiosqlite.Connection, f: Filters) -> Section:
    dw, args = f.decisions()
    took = SECONDS.format(a="o.sent_at", b="o.created_at")
    sql = f"""
        WITH sel AS (
            SELECT o.kind || ' ' || o.target AS g, o.state, {took} AS took FROM outbox o
            JOIN decisions d ON d.id = o.decision_id JOIN mentions m ON m.id = d.mention_id
            LEFT JOIN suggestions s ON s.id = d.suggestion_id WHERE {dw}),
        r AS (SELECT g, took, ROW_NUMBER() OVER (PARTITION BY g ORDER BY took) AS k,
                     COUNT(*) OVER (PARTITION BY g) AS n FROM sel WHERE took IS NOT NULL),
        p AS (SELECT g, round(max(CASE WHEN k = (n + 1) / 2 THEN took END), 1) AS median,
                     round(max(CASE WHEN k = (9 * n + 9) / 10 THEN took END), 1) AS p90
              FROM r GROUP BY g)
        SELECT sel.g, sum(state = 'sent'), sum(state = 'failed'), sum(state = 'pending'),
               sum(state = 'cancelled'), sum(state = 'dry_run'), p.median, p.p90
        FROM sel LEFT JOIN p ON p.g = sel.g GROUP BY sel.g ORDER BY sel.g"""
    return Section(
        "deliveries (decision to delivery)",
        ["delivery", "sent", "failed", "pending", "cancelled", "dry run", "median s", "p90 s"],
        await _rows(db, sql, args),
    )


# -- output --------------------------------------------------------------------------------


def write_text(report: Report, out: TextIO) -> None:
    print(f"triage report · {report.filters} · generated {report.generated_at}", file=out)
    for section in report.sections:
        print(f"\n{section.title}", file=out)
        if not section.rows:
            print("  (nothing)", file=out)
            continue
        header = [_cell(c) for c in section.columns]
        cells = [header, *([_cell(v) for v in row] for row in section.rows)]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        for row in cells:
            first, *rest = (
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            line = "  ".join([first, *rest])
            print(f"  {line}", file=out)


def write_json(report: Report, out: TextIO) -> None:
    json.dump(report.as_dict(), out, ensure_ascii=False, indent=2)
    out.write("\n")


def write_csv(report: Report, out: TextIO) -> None:
    """Long format: one row per figure (section, group, metric, value)."""
    writer = csv.writer(out)
    writer.writerow(["section", "group", "metric", "value"])
    for section in report.sections:
        for row in section.rows:
            for column, value in zip(section.columns[1:], row[1:], strict=True):
                writer.writerow([section.title, row[0], column, value])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
