"""Decision commits with 8 responder processes and ingest on one database (DESIGN §9: p99 <=
10 ms, max <= 250 ms; a naive design measured a 2.7 s tail).

Eight `tests.claim_worker` processes claim, decide and undo at random over the same mentions,
each pausing up to 500 ms between attempts (a very fast team: 30 decisions a second), while
`triage ingest` writes demo traffic at 200 mentions a second. Every decision's commit time is
pooled. Ours takes turns through the write lock beside the database; the baseline is the same
run with TRIAGE_WRITE_LOCK=0, SQLite's own busy waiting only. (With no pause at all the desks
ask for more commits than the machine can make, and both queue: see the README.)
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bench.common import Result
from bench.desk import build_db

DESKS = 8
PAUSE_MS = 500  # up to half a second between attempts: four decisions a second per desk
# At CI size p99 is the slowest of ~80 commits, one against one: a scheduler hiccup while
# other work ran put ours at 15.6 ms against 1.76 (0.11x). Only what a lost write lock
# brings back (seconds, DESIGN §9's 2.7 s tail) is gross.
GROSS = 0.02
STOP_PATIENCE_S = 15  # the server stops at once on SIGTERM; this long means it ignored it
WORKER = [sys.executable, "-m", "tests.claim_worker"]


def contend(db: Path, tmp: Path, attempts: int, lock: bool) -> list[float]:
    """All commit times (ms) of one run on a fresh copy of `db`."""
    run = tmp / ("locked.db" if lock else "naive.db")
    with sqlite3.connect(db) as source, sqlite3.connect(run) as copy:
        source.backup(copy)  # WAL included, which a file copy would miss
    env = {**os.environ, "TRIAGE_WRITE_LOCK": "1" if lock else "0"}
    config = tmp / "feed.toml"
    config.write_text('[[sources]]\ntype = "demo"\nrate = 200\nburst_factor = 1\n')
    feeder = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--config", str(config), "--db", str(run), "ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers = [
        subprocess.Popen(
            [*WORKER, str(run), f"desk{i}", str(attempts), str(i), str(PAUSE_MS)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(DESKS)
    ]
    try:
        outs = [json.loads(w.communicate()[0]) for w in workers]
    finally:
        feeder.terminate()
        try:
            feeder.wait(STOP_PATIENCE_S)
        except subprocess.TimeoutExpired:
            feeder.kill()
            raise RuntimeError(f"triage ingest ran on {STOP_PATIENCE_S} s after SIGTERM") from None
    return sorted(ms for out in outs for ms in out["commits_ms"])


def run(tmp: Path, quick: bool) -> list[Result]:
    attempts = 40 if quick else 400
    db = tmp / "commit.db"
    asyncio.run(build_db(db, 2_000))
    ours = contend(db, tmp, attempts, lock=True)
    naive = contend(db, tmp, attempts, lock=False)
    label = f"decision commit, {DESKS} desks + ingest"
    return [
        Result(
            f"{label}, p99",
            "ms",
            _p(ours, 0.99),
            "SQLite busy waiting only",
            _p(naive, 0.99),
            "<= 10 ms",
            _p(ours, 0.99) <= 10,
            gross=GROSS,
        ),
        Result(
            f"{label}, max ({len(ours):,} commits)",
            "ms",
            ours[-1],
            "SQLite busy waiting only",
            naive[-1],
            "<= 250 ms",
            ours[-1] <= 250,
            gross=GROSS,
        ),
    ]


def _p(samples: list[float], q: float) -> float:
    return samples[min(len(samples) - 1, int(len(samples) * q))]
