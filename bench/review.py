"""Review at size: the full report and the replay screen's first step (Review issue).

Ours: `Store.report` (every section: volume, latency, time to first decision, SLA, responders,
escalations, dismissals, per-rule outcomes, deliveries) and the replay screen until its first
step is drawn. Baselines in the same run: one plain `sqlite3` aggregation over the same rows
(outcomes per rule) and the plain first-row query, so the ratio shows what the extra work costs.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Result
from bench.desk import NOW, SIZE, FrameClock, build_db
from tui.review import Filters
from tui.settings import load
from tui.store import Store

ACTORS = ["ana", "ben", "cho", "dev", "eli"]
OUTCOMES = ["accepted"] * 6 + ["edited"] * 2 + ["overridden"] * 2
BASELINE_SQL = """SELECT s.rule_id, d.outcome, count(*) FROM decisions d
                  JOIN suggestions s ON s.id = d.suggestion_id GROUP BY 1, 2"""


def add_decisions(db: Path) -> int:
    """One decision per mention, by five actors, a realistic mix of outcomes."""
    rng = random.Random(7)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA synchronous = OFF")
        rows = conn.execute(
            "SELECT m.id, m.received_at, s.id, s.action, s.params,"
            " s.playbook_id || '/' || s.rule_id FROM mentions m"
            " JOIN suggestions s ON s.mention_id = m.id AND s.rank = 0"
        ).fetchall()
        batch = []
        for mention, received, suggestion, action, params, rule in rows:
            outcome = rng.choice(OUTCOMES)
            decided = received[:17] + f"{rng.randint(10, 59):02d}.000000Z"
            act = "dismiss" if outcome == "overridden" else action
            batch.append(
                (
                    mention,
                    rng.choice(ACTORS),
                    act,
                    params if outcome == "accepted" else json.dumps({"reason": "other"}),
                    suggestion,
                    outcome,
                    "Inbox",
                    received,
                    decided,
                    "new",
                    "done",
                    rule,
                )
            )
        conn.executemany(
            "INSERT INTO decisions (mention_id, actor, action, params, suggestion_id, outcome,"
            " view, shown_at, decided_at, status_before, status_after, rule)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch,
        )
        # as the ledger keeps them: the report's time-to-first-decision and SLA read them
        conn.execute(
            "UPDATE mentions SET (first_decision_id, first_at, first_view) = ("
            " SELECT d.id, d.decided_at, d.view FROM decisions d"
            " WHERE d.mention_id = mentions.id ORDER BY d.id LIMIT 1)"
        )
    return len(batch)


async def report_time(db: Path) -> float:
    async with await Store.open(db, readonly=True) as store:
        start = time.perf_counter()
        await store.report(Filters())
        return time.perf_counter() - start


def baseline_time(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        start = time.perf_counter()
        conn.execute(BASELINE_SQL).fetchall()
        return time.perf_counter() - start


async def first_step(db: Path, tmp: Path) -> float:
    """Start of the replay app to the frame that shows its first step."""
    from tui.review_app import ReviewApp

    config = tmp / "review.toml"
    config.write_text(f'db = "{db}"\n[[sources]]\nname = "x"\ntype = "jsonl"\npath = "x"\n')
    loaded = load(config)
    async with await Store.open(db, readonly=True) as store:
        app = ReviewApp(loaded, store, Filters(), clock=lambda: NOW)
        clock = FrameClock(app)
        start = time.perf_counter()
        async with app.run_test(size=SIZE):
            while app.step is None:
                await clock.frame.wait()
                clock.frame.clear()
            await clock.frame.wait()
            return clock.last - start


def first_row_time(db: Path) -> float:
    with sqlite3.connect(db) as conn:
        start = time.perf_counter()
        conn.execute("SELECT * FROM decisions ORDER BY id LIMIT 1").fetchall()
        return time.perf_counter() - start


def _isolated(which: str, db: Path, tmp: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.review", which, str(db), str(tmp)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.splitlines()[-1])


def run(tmp: Path, quick: bool) -> list[Result]:
    size = 10_000 if quick else 1_000_000
    repeats = 3
    db = tmp / "review.db"
    asyncio.run(build_db(db, size))
    decided = add_decisions(db)
    ours = statistics.median(_isolated("report", db, tmp) for _ in range(repeats)) * 1000
    theirs = statistics.median(baseline_time(db) for _ in range(repeats)) * 1000
    step = statistics.median(_isolated("step", db, tmp) for _ in range(repeats)) * 1000
    row = statistics.median(first_row_time(db) for _ in range(repeats)) * 1000
    label = f"{decided:,} decisions"
    return [
        Result(
            f"report, {label}",
            "ms",
            ours,
            "one sqlite3 GROUP BY (outcomes per rule)",
            theirs,
            "<= 2000 ms",
            ours <= 2000,
            gross=0.02,
        ),
        Result(
            f"replay first step drawn, {label}",
            "ms",
            step,
            "sqlite3 first row, no screen",
            row,
            "<= 300 ms",
            step <= 300,
            gross=0.0,
        ),
    ]


if __name__ == "__main__":
    which, db_path, tmp_path = sys.argv[1:4]
    if which == "report":
        print(asyncio.run(report_time(Path(db_path))))
    else:
        print(asyncio.run(first_step(Path(db_path), Path(tmp_path))))
