"""Crash (Proof issue): `kill -9` of the ingest runner and of the desk at random points, round
after round on one database (a few rounds here, hundreds with `pytest --long`). After every
kill: the file passes `PRAGMA integrity_check`, no mention is stored twice, no mention is
handled twice, every decision the screen acknowledged is in the log, and ingest's cursor
matches what it stored, so the next run resumes exactly there."""

from __future__ import annotations

import bisect
import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import FROZEN, Soak
from tests.invariants import double_handled, duplicated_mentions, integrity
from tests.processes import alive, children

ROOT = Path(__file__).resolve().parent.parent
LINES_PER_ROUND = 10_000  # about a second of ingest here: most kills land mid-file


def append_mentions(feed: Path, start: int, count: int, ends: list[int]) -> None:
    """Append `count` lines, noting where each ends (the cursor is such an offset)."""
    with feed.open("ab") as out:
        for n in range(start, start + count):
            line = {"native_id": f"m{n}", "text": f"acme sync broke again #{n}"}
            out.write(json.dumps(line | {"created_at": FROZEN.isoformat()}).encode() + b"\n")
            ends.append(out.tell())


def stored_and_cursor(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        assert integrity(conn) == "ok"
        tables = "SELECT count(*) FROM sqlite_master WHERE name = 'mentions'"
        if not conn.execute(tables).fetchone()[0]:  # killed before its schema committed
            return 0, 0
        assert duplicated_mentions(conn) == 0
        stored = conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
        row = conn.execute("SELECT cursor FROM source_state WHERE name = 'pipe'").fetchone()
    offset = int(row[0].partition(":")[0]) if row and row[0] else 0
    return stored, offset


def test_ingest_killed_at_random_points_resumes_from_its_cursor(tmp_path: Path, soak: Soak) -> None:
    rounds = soak.size(4, 200)
    feed, db, config = tmp_path / "in.jsonl", tmp_path / "t.db", tmp_path / "config.toml"
    feed.touch()
    config.write_text(
        f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{feed}"\nfollow = true\n'
        "follow_interval = 0.05\n"
    )
    command = [sys.executable, "-m", "tui.cli", "--config", str(config), "--db", str(db)]
    rng = random.Random(11)
    written = mid_file = 0
    ends: list[int] = []
    helpers: set[int] = set()
    for _ in range(rounds):
        append_mentions(feed, written, LINES_PER_ROUND, ends)
        written += LINES_PER_ROUND
        proc = subprocess.Popen([*command, "ingest"], cwd=ROOT, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.6))  # start-up, migration, mid-batch, caught up
        helpers |= children(proc.pid)  # the line worker, multiprocessing's resource tracker
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not db.exists():
            continue
        stored, offset = stored_and_cursor(db)
        # the rows and the cursor commit together: exactly the lines before the cursor
        assert stored == bisect.bisect_right(ends, offset)
        mid_file += stored < written
    finished = subprocess.run([*command, "ingest", "--once"], cwd=ROOT, capture_output=True)
    assert finished.returncode == 0, finished.stderr
    assert stored_and_cursor(db) == (written, feed.stat().st_size)
    assert not alive(helpers), "a killed ingest left processes behind"
    soak.record(
        "crash: ingest killed",
        rounds=rounds,
        helper_processes_seen=len(helpers),
        killed_before_caught_up=mid_file,
        mentions=written,
        lost=0,
        duplicated=0,
    )


def test_desk_killed_at_random_points_keeps_every_acknowledged_decision(
    tmp_path: Path, soak: Soak
) -> None:
    rounds = soak.size(2, 100)
    db, config = tmp_path / "t.db", tmp_path / "config.toml"
    rng = random.Random(23)
    acknowledged: set[int] = set()
    logged_after_ack = 0
    for round_ in range(rounds):
        config.write_text(  # a new responder each round, so a repeat would show as theirs
            f'actor = "r{round_}"\ndb = "{db}"\n'
            f'[[sources]]\ntype = "demo"\nseed = {round_}\nrate = 20\nbacklog = 30\n'
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.desk_crash_worker", str(config), str(round_)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(2.0, 6.0))
        worker.send_signal(signal.SIGKILL)
        out, err = worker.communicate()  # a few acks a second: the pipe never fills
        lines = out.splitlines()
        assert "ready" in lines, err
        acks = {int(line.split()[1]) for line in lines if line.startswith("ack ")}
        acknowledged |= acks
        with sqlite3.connect(db) as conn:
            assert integrity(conn) == "ok"
            assert duplicated_mentions(conn) == 0
            assert double_handled(conn) == 0
            logged = {r[0] for r in conn.execute("SELECT id FROM decisions")}
            last = conn.execute("SELECT max(id) FROM decisions").fetchone()[0] or 0
        assert acknowledged <= logged, sorted(acknowledged - logged)[:10]
        logged_after_ack += bool(acks) and last > max(acks)  # e.g. a claim, or killed mid-way
    assert acknowledged, "the desks decided nothing"
    soak.record(
        "crash: desk killed",
        rounds=rounds,
        decisions_acknowledged=len(acknowledged),
        acknowledged_missing=0,
        rounds_logging_after_the_last_ack=logged_after_ack,
    )
