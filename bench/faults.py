"""The desk while every network source fails, every way (Sources issue, DESIGN §9).

Five HTTP sources (Mastodon, Bluesky, Hacker News, RSS, Reddit) point at the local stand-ins
(`tests.fakenet`, in this process, so the desk's process only does the desk's work), and
every request to them gets the next fault in a cycle: 429 with each reset style, 500, 503,
connection reset, garbage JSON, truncated body, one byte a second, an HTML 403 block page, 401.
Keys are timed as in `bench.desk`; the baseline is the same desk on the same database with no
live source, in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

from bench.common import Result
from bench.desk import _isolated, build_db
from tests.fakenet import FakeNet
from tests.fakenet.world import failing_world


def run(tmp: Path, quick: bool) -> list[Result]:
    size = 10_000 if quick else 100_000
    repeats = 1 if quick else 3
    db = tmp / "faults.db"
    asyncio.run(build_db(db, size))
    (tmp / "empty.jsonl").write_text("")
    quiet = tmp / "quiet.toml"  # live ingest on, same key pacing, nothing to fetch
    quiet.write_text(f'[[sources]]\nname = "x"\ntype = "jsonl"\npath = "{tmp / "empty.jsonl"}"\n')
    calm = [_isolated("ours", db, tmp, str(quiet)) for _ in range(repeats)]
    storms = []
    for _ in range(repeats):
        net = FakeNet().start()
        try:
            sources = tmp / "sources.toml"
            sources.write_text(failing_world(net)[1])
            storms.append(_isolated("ours", db, tmp, str(sources)))
            asked = len(net.log)
        finally:
            net.stop()
    label = f"{size:,} mentions, 5 sources failing"
    results = []
    for key, budget in (("p50", 10), ("p95", 20)):
        mine = statistics.median(s[key] for s in storms)
        theirs = statistics.median(c[key] for c in calm)
        results.append(
            Result(
                f"desk key-to-frame {key}, {label}",
                "ms",
                mine,
                f"same desk, idle source ({asked} failed requests in the last run)",
                theirs,
                f"<= {budget} ms",
                mine <= budget,
                gross=0.3,
            )
        )
    return results
