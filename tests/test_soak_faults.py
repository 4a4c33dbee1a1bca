"""Faults over time (Proof issue): the desk with all five network sources live against stand-ins
that answer every other request with the next fault in a cycle (429 in each reset style, 500,
503, reset, garbage, truncated, a trickle cut by the deadline), while new posts keep arriving
and keys keep coming. For seconds here, five minutes with `pytest --long`: the desk keeps
drawing, every source's health moves between the states its faults mean and back to ok, and
memory stops growing once the desk has warmed up."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections import defaultdict
from functools import partial
from pathlib import Path

from textual import events

from bench.desk import FrameClock
from playbooks import Engine
from sources.contract import HealthState
from tests.conftest import Soak
from tests.fakenet import FakeNet
from tests.fakenet.world import POLL_PATHS, World, failing_world, recoverable_faults
from tui.app import DeskApp
from tui.settings import load

# what the recoverable faults may show as; a source never looks blocked or refused by them
EXPECTED = {
    HealthState.STARTING,
    HealthState.OK,
    HealthState.RATE_LIMITED,
    HealthState.BACKING_OFF,
    HealthState.ERROR,
}
TROUBLE = {HealthState.RATE_LIMITED, HealthState.BACKING_OFF, HealthState.ERROR}


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 / 1e6


async def test_desk_under_faults_stays_responsive_honest_and_bounded(
    tmp_path: Path, engine: Engine, soak: Soak
) -> None:
    seconds = soak.size(10, 300)
    net = FakeNet().start()
    try:
        world, toml = failing_world(net, recoverable_faults(), POLL_PATHS)
        config = tmp_path / "config.toml"
        config.write_text(f'actor = "pat"\ndb = "{tmp_path / "t.db"}"\n{toml}')
        app = DeskApp(load(config), engine, ingest=True)
        clock = FrameClock(app)
        samples: list[float] = []
        memory: list[float] = []
        seen: dict[str, set[HealthState]] = defaultdict(set)
        async with app.run_test(size=(120, 40)):
            start = time.monotonic()
            tick = 0
            while time.monotonic() - start < seconds:
                tick += 1
                key = "j" if tick % 20 < 10 else "k"
                samples.append(await clock.after(partial(app.post_message, events.Key(key, None))))
                for source in app.loaded.sources:
                    seen[source.name].add(source.health.state)
                if tick % 7 == 0:  # about one new post a second on each network
                    _new_posts(world, tick)
                if tick % 30 == 0:
                    gc.collect()
                    memory.append(rss_mb())
                await asyncio.sleep(0.15)
            assert app.is_running
            received = sum(source.health.received for source in app.loaded.sources)
    finally:
        net.stop()
    for name, states in seen.items():
        assert states <= EXPECTED, (name, states)
        assert states & TROUBLE and HealthState.OK in states, (name, states)  # and recovered
    assert received > 0  # the answers between the faults delivered posts
    samples.sort()
    p50, p95 = statistics.median(samples) * 1000, samples[int(len(samples) * 0.95)] * 1000
    assert p95 < 250  # a gross guard only; DESIGN §9 asks 20 ms, the benchmark measures it
    warm = memory[len(memory) // 4]
    growth = memory[-1] - warm
    assert growth < soak.size(100, 40), memory  # MB after warm-up
    soak.record(
        "faults: desk with 5 failing sources",
        seconds=seconds,
        requests=len(net.log),
        mentions_received=received,
        key_p50_ms=round(p50, 1),
        key_p95_ms=round(p95, 1),
        rss_warm_mb=round(warm, 1),
        rss_end_mb=round(memory[-1], 1),
    )


def _new_posts(world: World, n: int) -> None:
    world.masto.status(f"<p>acme soak {n}</p>")
    world.sky.post(f"acme soak {n}", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
    world.hn.comment(50_000_000 + n, int(time.time()), f"acme soak {n}")
    world.reddit.post(f"acme soak {n}", "", time.time())
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    world.feed.alert(n, f"Acme soak {n}", f"https://news.example/{n}", stamp, "acme")
