"""`triage report`: how a shift went, from the log. Headless; every figure is one SQL query
over the database, so a reviewer can re-derive it with `sqlite3` (or list its rows with
`triage export decisions` and the same filters).

Percentiles are nearest-rank (the median of 1, 2, 3, 4 is 2). Mention figures (volume,
detection latency, time to first decision, SLA) take the time range on arrival and the source;
decision figures take every filter. Seconds throughout.
"""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import aiosqlite

from tui.reads import all_rows
from tui.review import BOOKKEEPING, Filters
from tui.timefmt import iso, parse

SECONDS = "(julianday({a}) - julianday({b})) * 86400.0"
LOGGED = f"action NOT IN ({', '.join(repr(a) for a in BOOKKEEPING)})"  # decisions and undos


ORDER = [  # the order a reader meets them in
    "volume per hour",
    "volume per source",
    "detection latency (published to received) per source",
    "time to first decision per view",
    "time to first decision per source",
    "SLA (first decision by the due time)",
    "responders",
    "escalations per team",
    "dismiss reasons",
    "rules",
    "deliveries (decision to delivery)",
]


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


async def build(dbs: Sequence[aiosqlite.Connection], f: Filters, now: datetime) -> Report:
    """Every section, from as few scans as possible, spread over the given connections
    (SQLite runs them in parallel)."""
    lanes: list[list[Callable[[aiosqlite.Connection], Awaitable[list[Section]]]]] = [
        [
            lambda db: _volumes(db, f),
            lambda db: _detection_latency(db, f),  # reads buckets whole: the tuple lane
        ],
        [
            lambda db: _first_decisions(db, f),
            lambda db: _decision_sections(db, f),
            lambda db: _sla(db, f, now),
            lambda db: _deliveries(db, f),
        ],
    ]
    if len(dbs) == 1:
        lanes = [[make for lane in lanes for make in lane]]

    async def run(db: aiosqlite.Connection, makers: list[Any]) -> list[Section]:
        return [section for make in makers for section in await make(db)]

    done = await asyncio.gather(*(run(db, makers) for db, makers in zip(dbs, lanes, strict=False)))
    by_title = {section.title: section for lane in done for section in lane}
    return Report(f.describe(), iso(now), [by_title[title] for title in ORDER])


async def _rows(db: aiosqlite.Connection, sql: str, args: Iterable[object]) -> list[list[Any]]:
    return [list(row) for row in await all_rows(db, sql, tuple(args))]


async def _percentiles(
    db: aiosqlite.Connection,
    value: str,
    group: str,
    source: str,
    where: str,
    args: Iterable[object],
) -> list[list[Any]]:
    """[group, n, median, p90] of `value` per `group` (nearest rank).

    The values are sorted once into a temporary table (allowed on a read-only connection), so
    a group's k-th value is the row `first rowid + k - 1`: one sort instead of the window
    functions' sort-and-number, which cost twice as much at a million rows."""
    await db.execute("DROP TABLE IF EXISTS temp.ranked")
    await db.execute(
        f"""CREATE TEMP TABLE ranked AS SELECT g, x FROM
            (SELECT {group} AS g, {value} AS x FROM {source} WHERE {where})
            WHERE x IS NOT NULL ORDER BY g, x""",
        tuple(args),
    )
    groups = await _rows(db, "SELECT g, count(*), min(rowid) FROM temp.ranked GROUP BY g", [])
    wanted = {}
    for g, n, first in groups:
        wanted[g] = (first + (n + 1) // 2 - 1, first + (9 * n + 9) // 10 - 1)
    rowids = sorted({r for pair in wanted.values() for r in pair})
    values: dict[int, float] = {}
    for start in range(0, len(rowids), 500):
        chunk = rowids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT rowid, x FROM temp.ranked WHERE rowid IN ({marks})"
        values.update({rowid: x for rowid, x in await _rows(db, sql, chunk)})
    await db.execute("DROP TABLE temp.ranked")
    return [
        [g, n, round(values[wanted[g][0]], 1), round(values[wanted[g][1]], 1)]
        for g, n, _ in sorted(groups, key=lambda row: (row[0] is None, str(row[0])))
    ]


async def _walked(
    db: aiosqlite.Connection,
    value: str,
    group: str,
    where: str,
    args: Sequence[object],
    bucket: str | None = None,
) -> list[list[Any]]:
    """[*group, n, median, p90] of `value` per `group` (columns, nearest rank), where an
    index orders `value` within each group and holds every filtered column: the k-th value is
    a walk of k index entries (milliseconds at a million rows), not a sort of all of them.

    With `bucket`, the index orders only coarse buckets of `value` (cheaper to write, see
    schema 10): the counts per bucket come from the index, and the k-th value is found by
    sorting the one bucket that holds it."""
    where = f"{value} IS NOT NULL AND {where}"
    keys = f"{group}, {bucket}" if bucket else group
    counts = await _rows(
        db,
        f"SELECT {keys}, count(*) FROM mentions m WHERE {where} GROUP BY {keys} ORDER BY {keys}",
        args,
    )
    groups: dict[tuple[Any, ...], list[tuple[Any, int]]] = {}
    for *names, n in counts:
        b = names.pop() if bucket else None
        groups.setdefault(tuple(names), []).append((b, n))
    same = " AND ".join(f"{c} = ?" for c in group.split(", "))
    out = []
    for g, buckets in sorted(groups.items(), key=lambda item: [str(v) for v in item[0]]):
        n = sum(count for _, count in buckets)
        ranks = ((n + 1) // 2, (9 * n + 9) // 10)
        if bucket is None:
            ranked = [await _walk_to(db, value, same, where, [*g, *args], k) for k in ranks]
        else:
            ranked = await _from_buckets(
                db, value, f"{same} AND {bucket} = ?", where, g, args, buckets, ranks
            )
        out.append([*g, n, *(round(x, 1) for x in ranked)])
    return out


async def _walk_to(
    db: aiosqlite.Connection, value: str, same: str, where: str, args: list[object], k: int
) -> float:
    """The k-th value (1-based) of an index-ordered range: a walk of k entries."""
    sql = (
        f"SELECT {value} FROM mentions m WHERE {same} AND {where} ORDER BY {value} LIMIT 1 OFFSET ?"
    )
    [[x]] = await _rows(db, sql, [*args, k - 1])
    return float(x)


async def _from_buckets(
    db: aiosqlite.Connection,
    value: str,
    in_bucket: str,  # the group's columns and the bucket, as `= ?` terms
    where: str,
    group: tuple[Any, ...],
    args: Sequence[object],
    buckets: list[tuple[Any, int]],
    ranks: tuple[int, ...],
) -> list[float]:
    """The values at `ranks`, each from the one bucket that holds it, read whole and sorted
    here: 0.17 s for 300k values, where SQLite's ORDER BY ... OFFSET took 0.32 s."""
    ordered: dict[Any, list[float]] = {}
    out = []
    for k in ranks:
        b, skipped = _holding(buckets, k)
        if b not in ordered:
            sql = f"SELECT {value} FROM mentions m WHERE {in_bucket} AND {where}"
            rows = await all_rows(db, sql, [*group, b, *args])
            ordered[b] = await asyncio.to_thread(_sorted_first, rows)
        out.append(ordered[b][k - 1 - skipped])
    return out


def _sorted_first(rows: list[Any]) -> list[float]:
    return sorted(row[0] for row in rows)


def _holding(buckets: list[tuple[Any, int]], k: int) -> tuple[Any, int]:
    """The bucket holding the k-th value (1-based), and how many values come before it."""
    before = 0
    for b, n in buckets:
        if before + n >= k:
            return b, before
        before += n
    raise ValueError(f"rank {k} past {before} values")


async def _volumes(db: aiosqlite.Connection, f: Filters) -> list[Section]:
    where, args = f.mentions()
    hours = await _rows(
        db,
        f"""SELECT substr(m.received_at, 1, 13) || ':00Z', count(*)
                               FROM mentions m WHERE {where} GROUP BY 1 ORDER BY 1""",
        args,
    )
    sources = await _rows(
        db,
        f"""SELECT m.source_name, m.source, count(*) FROM mentions m
                                 WHERE {where} GROUP BY 1, 2 ORDER BY 3 DESC, 1""",
        args,
    )
    return [
        Section("volume per hour", ["hour", "mentions"], hours),
        Section("volume per source", ["source", "network", "mentions"], sources),
    ]


async def _detection_latency(db: aiosqlite.Connection, f: Filters) -> list[Section]:
    where, args = f.mentions()
    rows = await _walked(
        db, "m.latency_s", "m.source_name, m.source", where, args, bucket="m.latency_bucket"
    )
    return [
        Section(
            "detection latency (published to received) per source",
            ["source", "network", "mentions", "median s", "p90 s"],
            rows,
        )
    ]


async def _first_decisions(db: aiosqlite.Connection, f: Filters) -> list[Section]:
    """Time to first decision per view and per source. The first decision's time and view
    are on the mention, so without decision-only filters this is an index walk."""
    if not f.narrows_decisions:
        where, args = f.firsts()
        return [
            Section(
                f"time to first decision per {by}",
                [by, "mentions", "median s", "p90 s"],
                await _walked(db, "m.first_wait_s", column, where, args),
            )
            for by, column in (("view", "m.first_view"), ("source", "m.source_name"))
        ]
    selected, args = selected_firsts(f)
    await db.execute("DROP TABLE IF EXISTS temp.firsts")
    await db.execute(
        f"""CREATE TEMP TABLE firsts AS
            SELECT m.first_view AS view, m.source_name AS source, m.first_wait_s AS x
            {selected}""",
        args,
    )
    sections = [
        Section(
            f"time to first decision per {by}",
            [by, "mentions", "median s", "p90 s"],
            await _percentiles(db, "x", by, "temp.firsts", "1", []),
        )
        for by in ("view", "source")
    ]
    await db.execute("DROP TABLE temp.firsts")
    return sections


def selected_firsts(f: Filters) -> tuple[str, list[object]]:
    """`FROM ... WHERE ...` over the mentions (`m`) whose first decision `f` selects. That
    decision's time and view are on the mention; its actor, view, outcome or rule need it."""
    if not f.narrows_decisions:
        where, args = f.firsts()
        return f"FROM mentions m WHERE {where}", args
    mw, margs = f.mentions()
    dw, dargs = f.decisions()
    rule = "LEFT JOIN suggestions s ON s.id = d.suggestion_id" if f.rule else ""
    joined = f"FROM mentions m JOIN decisions d ON d.id = m.first_decision_id {rule}"
    return f"{joined} WHERE {mw} AND {dw}", [*margs, *dargs]


async def _sla(db: aiosqlite.Connection, f: Filters, now: datetime) -> list[Section]:
    mw, args = f.mentions()
    sql = f"""
        SELECT m.source_name,
               count(CASE WHEN m.first_at <= m.sla_due_at THEN 1 END),
               count(CASE WHEN m.first_at > m.sla_due_at
                            OR (m.first_at IS NULL AND m.sla_due_at < ?) THEN 1 END),
               count(CASE WHEN m.first_at IS NULL AND m.sla_due_at >= ? THEN 1 END)
        FROM mentions m WHERE m.sla_due_at IS NOT NULL AND {mw} GROUP BY 1 ORDER BY 1"""
    stamp = iso(now)
    rows = await _rows(db, sql, [stamp, stamp, *args])
    return [
        Section("SLA (first decision by the due time)", ["source", "met", "breached", "open"], rows)
    ]


async def _decision_sections(db: aiosqlite.Connection, f: Filters) -> list[Section]:
    """Responders, escalations, dismissals and per-rule outcomes, from one grouped scan of
    the selected decisions (a small cube), plus one of the suggestions for 'fired'."""
    cube = await (_cube(db, f) if f.source is None and f.rule is None else _joined_cube(db, f))
    mw, margs = f.mentions()
    mjoin = "JOIN mentions m ON m.id = s.mention_id" if mw != "1" else ""
    fired = await _rows(
        db,
        f"""
        SELECT s.playbook_id || '/' || s.rule_id, count(*), sum(s.rank = 0)
        FROM suggestions s {mjoin} WHERE {mw} GROUP BY s.playbook_id, s.rule_id""",
        margs,
    )
    return [
        _responders(cube),
        _tally(cube, 4, "escalations per team", "team"),
        _tally(cube, 5, "dismiss reasons", "reason"),
        _rules(cube, fired),
    ]


CUBE_KEY = "actor, action, outcome, rule, team, reason"


async def _cube(db: aiosqlite.Connection, f: Filters) -> list[list[Any]]:
    """The decisions cube from the index that holds its columns, in the order it groups
    them; the few undone decisions are counted apart (through their undos) and split off."""
    dw, args = f.decisions()
    totals = await _rows(
        db,
        f"""SELECT {CUBE_KEY}, count(*), min(decided_at), max(decided_at)
            FROM decisions d INDEXED BY decisions_cube
            WHERE d.{LOGGED} AND {dw} GROUP BY {CUBE_KEY}""",
        args,
    )
    ow, oargs = f.decisions(d="o")
    keyed = ", ".join(f"o.{k}" for k in CUBE_KEY.split(", "))
    undone = {
        tuple(row[:6]): row[6]
        for row in await _rows(
            db,
            f"""SELECT {keyed}, count(*) FROM decisions u JOIN decisions o ON o.id = u.reverses_id
                WHERE u.reverses_id IS NOT NULL AND o.{LOGGED} AND {ow} GROUP BY {keyed}""",
            oargs,
        )
    }
    cube = []
    for *key, n, first, last in totals:
        gone = undone.get(tuple(key), 0)
        for flag, count in ((1, gone), (0, n - gone)):
            if count:  # both halves keep the key's first and last: responders merge them
                cube.append([*key, flag, count, first, last])
    return cube


async def _joined_cube(db: aiosqlite.Connection, f: Filters) -> list[list[Any]]:
    """The cube when a filter needs the mention or the suggestion: one grouped scan."""
    dw, args = f.decisions()
    join = "JOIN mentions m ON m.id = d.mention_id" if f.source else ""
    return await _rows(
        db,
        f"""
        SELECT d.actor, d.action, d.outcome, s.playbook_id || '/' || s.rule_id,
               CASE d.action WHEN 'escalate' THEN json_extract(d.params, '$.team') END,
               CASE d.action WHEN 'dismiss' THEN json_extract(d.params, '$.reason') END,
               EXISTS (SELECT 1 FROM decisions u WHERE u.reverses_id = d.id),
               count(*), min(d.decided_at), max(d.decided_at)
        FROM decisions d LEFT JOIN suggestions s ON s.id = d.suggestion_id {join}
        WHERE d.{LOGGED} AND {dw} GROUP BY 1, 2, 3, 4, 5, 6, 7""",
        args,
    )


def _responders(cube: list[list[Any]]) -> Section:
    per: dict[str, list[Any]] = {}
    for actor, action, _, _, _, _, _, n, first, last in cube:
        row = per.setdefault(actor, [actor, 0, 0, 0, first, last])
        row[1] += n
        row[2 if action != "undo" else 3] += n
        row[4], row[5] = min(row[4], first), max(row[5], last)
    rows = []
    for actor, total, handled, undos, first, last in per.values():
        hours = max((parse(last) - parse(first)).total_seconds() / 3600, 1 / 60)
        rows.append([actor, total, handled, undos, round(total / hours, 1)])
    rows.sort(key=lambda r: (-r[1], r[0]))
    return Section("responders", ["actor", "decisions", "handled", "undos", "per hour"], rows)


def _tally(cube: list[list[Any]], column: int, title: str, key: str) -> Section:
    action = "escalate" if key == "team" else "dismiss"
    counts: dict[str, list[int]] = {}
    for row in cube:
        if row[1] == action:
            found = counts.setdefault(str(row[column] or "(none)"), [0, 0])
            found[0] += row[7]
            found[1] += row[7] if row[6] else 0
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return Section(title, [key, "decisions", "undone"], [[k, *v] for k, v in ordered])


def _rules(cube: list[list[Any]], fired: list[list[Any]]) -> Section:
    answered: dict[str, dict[str, int]] = {}
    for _, action, outcome, rule, _, _, undone, n, _, _ in cube:
        if rule is None or action == "undo":
            continue
        tally = answered.setdefault(
            rule, {"accepted": 0, "edited": 0, "overridden": 0, "undone": 0}
        )
        if outcome in tally:
            tally[outcome] += n
        tally["undone"] += n if undone else 0
    rows = []
    for rule, count, top in fired:
        t = answered.get(rule, {"accepted": 0, "edited": 0, "overridden": 0, "undone": 0})
        judged = t["accepted"] + t["edited"] + t["overridden"]
        rate = round(100.0 * t["accepted"] / judged, 1) if judged else None
        rows.append(
            [rule, count, top, t["accepted"], t["edited"], t["overridden"], t["undone"], rate]
        )
    rows.sort(key=lambda r: (-r[1], r[0]))
    return Section(
        "rules",
        ["rule", "fired", "top", "accepted", "edited", "overridden", "undone", "acceptance %"],
        rows,
    )


async def _deliveries(db: aiosqlite.Connection, f: Filters) -> list[Section]:
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
    return [
        Section(
            "deliveries (decision to delivery)",
            ["delivery", "sent", "failed", "pending", "cancelled", "dry run", "median s", "p90 s"],
            await _rows(db, sql, args),
        )
    ]


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
