"""A desk on a big database while colleagues work and mentions trickle in: its CPU, and how
soon an arrival shows.

Ours: the desk applies what changed to the list it shows (tui.view_delta). Baseline: the same
desk reading its whole view again on every change, as it did before (`_catch_up` switched
off), in the same run. The desk runs headless in its own process on Inbox; this process plays
a `triage ingest` and a colleague on the same file: TRICKLE_RATE mentions a second in small
batches, and a claim and a dismissal of one of them every second. The desk's CPU is its
process time over the window (its SQLite threads included); an arrival's delay runs from
the commit that stored it to the moment the desk's list holds it.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Result
from bench.desk import NOW, build_db
from playbooks import bundled_dir, load_paths
from playbooks.engine import Engine
from sources.demo.source import sample
from tui.ledger import Who
from tui.prepare import prepare
from tui.store import IngestBatch, Store

TRICKLE_RATE = 10  # mentions a second, in five batches
PER_BATCH = TRICKLE_RATE // 5
SIZE = (120, 40)


async def colleague(db: Path, seconds: float, run: str) -> dict[int, float]:
    """Mentions stored a few at a time, and one decided each second: when each was stored.
    `run` keeps each run's mentions new on a database an earlier run wrote to."""
    engine = Engine(load_paths([bundled_dir()]).playbooks)
    stored: dict[int, float] = {}
    sam = Who("sam", "sams-desk")
    fresh = sample(int(seconds * TRICKLE_RATE) + 5, NOW, seed=3)
    async with await Store.open(db, clock=lambda: NOW) as store:
        end, tick = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            chunk = fresh[tick * PER_BATCH : (tick + 1) * PER_BATCH]
            batch = IngestBatch(
                upserts=[
                    prepare(m.model_copy(update={"native_id": f"{run}{tick}-{i}"}), engine, NOW)
                    for i, m in enumerate(chunk)
                ]
            )
            result = await store.ingest(batch)
            stored.update(dict.fromkeys(result.new_ids, time.time()))
            if tick % 5 == 4 and result.new_ids:  # a colleague takes one and dismisses it
                target = result.new_ids[0]
                await store.claim(target, sam)
                await store.decide(
                    target,
                    actor="sam",
                    action="dismiss",
                    params={"reason": "spam"},
                    session=sam.session,
                )
            tick += 1
            await asyncio.sleep(1 / 5)
    return stored


async def desk(db: Path, tmp: Path, seconds: float, whole: bool) -> dict[str, object]:
    """In its own process: the desk on Inbox, watched for `seconds` once loaded."""
    from tui.app import DeskApp
    from tui.settings import load

    if whole:  # the baseline: every change reads the view whole

        async def never(self: DeskApp) -> bool:
            return False

        DeskApp._catch_up = never  # type: ignore[method-assign]
    config = tmp / "trickle.toml"
    config.write_text(f'db = "{db}"\n[[sources]]\nname = "x"\ntype = "jsonl"\npath = "{tmp}/no"\n')
    app = DeskApp(load(config), Engine(load_paths([bundled_dir()]).playbooks), ingest=False)
    seen: dict[int, float] = {}
    async with app.run_test(size=SIZE):
        while app._mark is None:  # the whole view loaded
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)
        # Arrivals get the next ids: look for those alone, a few set lookups a poll.
        top = (await app.store.mark()).mention
        coming = set(range(top + 1, top + int(seconds * TRICKLE_RATE) + 10))
        print("ready", flush=True)
        cpu, start = time.process_time(), time.monotonic()
        while time.monotonic() - start < seconds:
            await asyncio.sleep(0.01)
            for mention_id in [i for i in coming if i in app.model.members]:
                seen[mention_id] = time.time()
                coming.discard(mention_id)
        used = time.process_time() - cpu
    return {"cpu": used / seconds, "seen": seen}


def _one(db: Path, tmp: Path, seconds: float, whole: bool) -> tuple[float, float]:
    """The desk's CPU share and the median delay of an arrival, in a fresh desk process."""
    command = [sys.executable, "-m", "bench.trickle", str(db), str(tmp), str(seconds)]
    with subprocess.Popen(command + ["whole"] * whole, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        while proc.stdout.readline().strip() != "ready":
            if proc.poll() is not None:
                raise RuntimeError("the desk stopped before it was ready")
        stored = asyncio.run(colleague(db, seconds - 1.0, "whole" if whole else "delta"))
        out, _ = proc.communicate(timeout=120)
    result = json.loads(out.splitlines()[-1])
    seen = {int(k): v for k, v in result["seen"].items()}
    delays = [seen[i] - at for i, at in stored.items() if i in seen]
    if not stored or len(delays) < len(stored) // 2:
        raise RuntimeError(f"the desk showed {len(delays)} of {len(stored)} arrivals")
    return result["cpu"] * 100, statistics.median(delays) * 1000


def run(tmp: Path, quick: bool) -> list[Result]:
    sizes = [10_000] if quick else [100_000, 1_000_000]
    seconds = 6.0 if quick else 16.0
    results = []
    for size in sizes:
        db = tmp / f"trickle-{size}.db"
        asyncio.run(build_db(db, size))
        base_cpu, base_delay = _one(db, tmp, seconds, whole=True)
        cpu, delay = _one(db, tmp, seconds, whole=False)
        label = f"{size:,} mentions"
        results += [
            Result(
                f"desk CPU, trickle + a colleague, {label}",
                "%",
                cpu,
                "whole view read on each change",
                base_cpu,
                "-",
                True,
                gross=0.5,
            ),
            Result(
                f"desk arrival shown after, median, {label}",
                "ms",
                delay,
                "whole view read on each change",
                base_delay,
                "-",
                True,
                gross=0.3,
            ),
        ]
    return results


if __name__ == "__main__":
    db_path, tmp_path, window = sys.argv[1:4]
    measured = asyncio.run(
        desk(Path(db_path), Path(tmp_path), float(window), whole=sys.argv[4:] == ["whole"])
    )
    print(json.dumps(measured))
