"""One desk's worth of contested claim-and-decide traffic, run as its own process by the tests.

    python -m tests.claim_worker DB SESSION ATTEMPTS SEED [PAUSE_MS]

Prints one JSON line: how many claims and decisions this desk got, how many were refused, and
how long each decision took to commit. The desks contend for the newest 16 mentions, looking
again every 500 attempts, as a team works the head of an incoming stream. PAUSE_MS is a
responder's pause between attempts (a random one up to it); without it the desk never stops,
far past any human's pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from tui import search
from tui.ledger import DecisionRefused, Who
from tui.store import Store

HEAD = 16  # the desks contend for the newest mentions
REFRESH = 500  # attempts between two looks at what is newest


def newest(db: Path) -> list[int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id FROM mentions ORDER BY id DESC LIMIT ?", (HEAD,))
        return [row[0] for row in rows]


async def main(
    db: Path, session: str, attempts: int, seed: int, pause_ms: float = 0
) -> dict[str, Any]:
    rng = random.Random(seed)
    who = Who(actor=session, session=session, view="Inbox")
    counts: dict[str, Any] = {"claimed": 0, "claim_refused": 0, "decided": 0, "decide_refused": 0}
    latencies: list[float] = []
    async with await Store.open(db) as store:
        # as a desk does: its writes take turns with the decisions'
        indexing = asyncio.create_task(search.keep_up(store.search_backlog, store.index_search))
        ids: list[int] = []
        for attempt in range(attempts):
            if attempt % REFRESH == 0:  # desks work the head of the stream as it moves
                ids = newest(db)
            if pause_ms:
                await asyncio.sleep(rng.uniform(0, pause_ms) / 1000)
            mention_id = rng.choice(ids)
            try:
                await store.claim(mention_id, who)
                counts["claimed"] += 1
            except DecisionRefused:
                counts["claim_refused"] += 1
                continue
            start = time.perf_counter()
            try:
                await store.decide(
                    mention_id,
                    actor=session,
                    action="tag",
                    params={"tags": ["x"]},
                    session=session,
                    expect_status="new",
                )
                counts["decided"] += 1
            except DecisionRefused:
                counts["decide_refused"] += 1
            latencies.append(time.perf_counter() - start)
            if rng.random() < 0.5:  # half the time another desk could take it back: undo
                with contextlib.suppress(DecisionRefused):
                    await store.undo_last(session, session=session)
        indexing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await indexing
    latencies.sort()
    counts["p99_ms"] = round(latencies[int(len(latencies) * 0.99)] * 1000, 2) if latencies else 0
    counts["max_ms"] = round(latencies[-1] * 1000, 2) if latencies else 0
    counts["commits_ms"] = [round(x * 1000, 3) for x in latencies]
    return counts


if __name__ == "__main__":
    db, session, attempts, seed = sys.argv[1:5]
    pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    print(json.dumps(asyncio.run(main(Path(db), session, int(attempts), int(seed), pause))))
