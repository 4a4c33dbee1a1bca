"""Where a filter's words and tags are looked up: a trigram index (schema 11).

Headless. The index holds each mention's title, text and tags. It never decides what
matches: a free word stays an SQL `LIKE` term and a tag a JSON lookup (tui.query). It only
chooses where a query starts reading. A word or tag that few mentions hold is answered from
its candidates (the mentions holding all of its trigrams, and those not indexed yet) rather
than from every row of the view; one that many hold is found sooner in the view's own
order, which stops at the first screenful.

A word of one or two characters has no trigram of its own, but the index holds each text
with two spaces after it (schema 14), so every place such a word occurs begins a trigram: its
candidates are the mentions holding any trigram that begins with it, listed by the index's
vocabulary. A rare one (`zq`) is then answered in a millisecond at 1M instead of a scan of
every row (0.7 s).

The index is kept behind the writes, never on the ingest path: `keep_up` runs beside a desk
and adds what arrived, a chunk per short transaction, slowly while a bulk import runs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import aiosqlite

from tui.reads import all_rows

MIN_TERM = 3  # a trigram index holds nothing shorter to look up
SCAN_ROW = 0.34e-6  # seconds a scan of mentions in the table's order takes a row (at 1M)
CANDIDATE_ROW = 2.6e-6  # seconds a candidate takes: a row fetched by id, then sorted
# Starting from a word's c candidates costs CANDIDATE_ROW each; reading the view in its
# order costs ~0.74 us a row, and when c of n mentions match it has a screenful (200) after
# 200 * n / c rows. The two cost the same at c = sqrt(57 * n):
# 2.4k candidates of 100k mentions, 7.5k of 1M. Measured at 1M with the demo's texts.
DRIVE_FACTOR = 57
DRIVE_LEAST = 500  # below this many candidates, start from them however small the store
CHUNK = 500  # mentions indexed per transaction: ~8 ms of the write lock
IDLE = 1.0  # seconds between looks while the index is up to date
IMPORTING = 2_000  # arrivals a second that mean an import is running
SHARE, IMPORT_SHARE = 0.5, 0.1  # of the time spent indexing while catching up, and meanwhile

_PENDING = "SELECT id FROM mentions WHERE id > (SELECT indexed_to FROM search_state)"
TEXT, TAGS = "mention_search", "mention_tag_search"  # where a word, and a tag, is looked up
TERMS = "mention_search_terms"  # the trigrams in TEXT (fts5vocab)
MOST_TRIGRAMS = 48  # a short word beginning more is common: the view's order finds it sooner
NOTHING = ""  # an expression no indexed text matches: the index holds none of the word


def _matches(table: str, expression: str) -> str:
    if expression == NOTHING:
        return "SELECT NULL AS id WHERE 0"
    return f"SELECT rowid AS id FROM {table} WHERE {table} MATCH ?"


def _probe(table: str, expression: str) -> str:
    """How many candidates, counted up to a limit: the index's, and those not in it yet."""
    return (
        f"SELECT (SELECT count(*) FROM ({_matches(table, expression)} LIMIT ?))"
        f" + (SELECT count(*) FROM ({_PENDING} LIMIT ?))"
    )


def match_expression(term: str) -> str | None:
    """An FTS5 query that every text holding `term` matches, whatever its case: all of its
    trigrams. None for a term too short to have one."""
    if len(term) < MIN_TERM or "\x00" in term:  # FTS5 reads a NUL as the end of its query
        return None
    grams = {term[i : i + MIN_TERM] for i in range(len(term) - MIN_TERM + 1)}
    return " AND ".join(_quoted(grams))


def _quoted(grams: Iterable[str]) -> list[str]:
    return ['"' + gram.replace('"', '""') + '"' for gram in sorted(grams)]


async def short_expression(db: aiosqlite.Connection, term: str) -> str | None:
    """An FTS5 query that every title or text holding a one- or two-character `term`
    matches: any trigram that begins with it (NOTHING if none does). None when it begins
    too many, or when the index's case folding of it cannot be told from here."""
    folded = _folded(term)
    if not folded or len(folded) >= MIN_TERM:
        return None
    last = "\U0010ffff" * MIN_TERM  # (compared as UTF-8, in code point order)
    sql = f"SELECT term FROM {TERMS} WHERE term >= ? AND term <= ? LIMIT ?"
    rows = await all_rows(db, sql, (folded, folded + last, MOST_TRIGRAMS + 1))
    if len(rows) > MOST_TRIGRAMS:
        return None
    return " OR ".join(_quoted(row[0] for row in rows)) or NOTHING


def _folded(term: str) -> str | None:
    """`term` as the index's trigrams hold it: ASCII in lower case. Other letters only when
    they fold to themselves (lower case), where SQLite's folding and Python's agree."""
    if "\x00" in term or any(not c.isascii() and c.casefold() != c for c in term):
        return None
    return term.lower()


@dataclass(frozen=True)
class Start:
    """The FROM clause a query over `mentions m` reads, with the arguments it binds first."""

    sql: str
    args: tuple[object, ...]


EVERY_ROW = Start("mentions m", ())
SCAN = Start("mentions m NOT INDEXED", ())  # every row, in the table's own order


async def start_for(
    db: aiosqlite.Connection,
    words: Iterable[str],
    tags: Iterable[str],
    worth: Callable[[int], int] | None = None,
) -> Start:
    """Read from the candidates of the rarest word or tag, if it is rare enough to be worth it:
    fewer than `worth(mentions stored)` (by default `drive_below`).

    CROSS JOIN makes SQLite take the candidates as the outer loop: left to itself it walks
    the view's index and checks each row against them, which costs a pass over the view.
    """
    terms = [(TEXT, match_expression(w) or await short_expression(db, w)) for w in words]
    terms += [(TAGS, match_expression(t)) for t in tags]
    best: tuple[int, str, str] | None = None
    below = 0
    for table, expression in terms:
        if expression is None:
            continue
        if not below:
            below = (worth or drive_below)(await stored(db))
        [[found]] = await all_rows(
            db, _probe(table, expression), (*_bound(expression), below, below)
        )
        if found < below and (best is None or found < best[0]):
            best = (found, table, expression)
    if best is None:
        return EVERY_ROW
    _, table, expression = best
    return Start(
        f"({_matches(table, expression)} UNION ALL {_PENDING}) c"
        " CROSS JOIN mentions m ON m.id = c.id",
        _bound(expression),
    )


def _bound(expression: str) -> tuple[str, ...]:
    return () if expression == NOTHING else (expression,)


def drive_below(count: int) -> int:
    """Fewer candidates than this, out of `count` mentions, are worth starting from."""
    return max(DRIVE_LEAST, math.isqrt(DRIVE_FACTOR * count))


def cheaper_than_scan(count: int) -> int:
    """Fewer candidates than this, out of `count` mentions, are read sooner than every row
    in the table's order: where a view's order found no screenful in its time (its matches
    lie late in that order), a word in 1 of 60 mentions is read in ~45 ms at 1M, not 0.6 s."""
    return max(DRIVE_LEAST, int(count * SCAN_ROW / CANDIDATE_ROW))


async def stored(db: aiosqlite.Connection) -> int:
    """How many mentions there are, near enough: the last id (ids are never reused)."""
    [[top]] = await all_rows(db, "SELECT coalesce(max(id), 0) FROM mentions")
    return int(top)


async def pending(db: aiosqlite.Connection) -> int:
    """Mentions stored but not yet in the index."""
    sql = "SELECT coalesce(max(id), 0) - (SELECT indexed_to FROM search_state) FROM mentions"
    [[count]] = await all_rows(db, sql)
    return max(0, int(count))


async def index_next(db: aiosqlite.Connection, limit: int) -> int:
    """Add the next `limit` mentions to the index, inside the caller's write transaction."""
    [[mark]] = await all_rows(db, "SELECT indexed_to FROM search_state")
    sql = "SELECT max(id), count(*) FROM (SELECT id FROM mentions WHERE id > ? ORDER BY id LIMIT ?)"
    [[top, count]] = await all_rows(db, sql, (mark, limit))
    if not count:
        return 0
    await db.execute(
        f"INSERT INTO {TEXT} (rowid, title, text)"
        " SELECT id, title, text FROM mention_search_source WHERE id > ? AND id <= ?",
        (mark, top),
    )
    await db.execute(
        f"INSERT INTO {TAGS} (rowid, tags) SELECT id, tags FROM mentions WHERE id > ? AND id <= ?",
        (mark, top),
    )
    await db.execute("UPDATE search_state SET indexed_to = ?", (top,))
    return int(count)


async def keep_up(
    backlog: Callable[[], Awaitable[int]],
    index: Callable[[int], Awaitable[int]],
    *,
    idle: float = IDLE,
) -> None:
    """Index what arrives, for as long as it runs: with half of a core at most, or a tenth
    while mentions arrive faster than IMPORTING a second. An import is not slowed much, and
    a source that never stops (a firehose) is still kept up with."""
    before, indexed, then = 0, 0, time.monotonic()
    while True:
        waiting, now = await backlog(), time.monotonic()
        arriving = (waiting - before + indexed) / max(now - then, 0.001)
        before, indexed, then = waiting, 0, now
        if waiting == 0:
            await asyncio.sleep(idle)
            continue
        indexed = await index(CHUNK)
        share = IMPORT_SHARE if arriving > IMPORTING else SHARE
        took = time.monotonic() - now
        await asyncio.sleep(max(0.01, took * (1 - share) / share))
