"""A fast JSONL feed prepared in the line worker (a second process) stores exactly what the
one-process path stores, takes playbook reloads, and survives the worker's death."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from playbooks import Engine
from sources.jsonl import JsonlConfig, JsonlSource
from tests.conftest import FROZEN, demo_mentions
from tests.processes import alive, children, command_line
from tui.ingest import IngestRunner
from tui.line_worker import LineWorker
from tui.store import Store

BAD_LINES = [
    b"{not json",
    b"[1, 2]",
    b'{"native_id": "", "text": "empty id"}',
    b'{"native_id": "h1", "text": "\\u001b]52;c;cm0gLXJmIC8=\\u0007copy \\u202eevil"}',
]


def write_feed(path: Path, count: int) -> None:
    """Demo mentions with a malformed or hostile line every tenth."""
    with path.open("wb") as out:
        for i, mention in enumerate(demo_mentions(count)):
            out.write(mention.model_dump_json().encode() + b"\n")
            if i % 10 == 9:
                out.write(BAD_LINES[(i // 10) % len(BAD_LINES)].replace(b"h1", b"h%d" % i) + b"\n")


def source(path: Path) -> JsonlSource:
    return JsonlSource(JsonlConfig(name="pipe", type="jsonl", path=path), clock=lambda: FROZEN)


def table(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


async def ingest(db: Path, feed: JsonlSource, engine: Engine, *, worker: bool) -> IngestRunner:
    async with await Store.open(db, clock=lambda: FROZEN) as store:
        runner = IngestRunner(
            store, [feed], lambda: engine, batch_size=20, clock=lambda: FROZEN, offload=worker
        )
        if worker:
            assert await runner.worker.wait_ready(), runner.worker.failed
        await runner.run(once=True)
    return runner


async def test_the_worker_stores_what_one_process_stores(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "feed.jsonl"
    write_feed(path, 120)
    here, there = source(path), source(path)
    await ingest(tmp_path / "here.db", here, engine, worker=False)
    runner = await ingest(tmp_path / "there.db", there, engine, worker=True)
    assert runner.worker.batches > 0 and runner.worker.failed is None
    for sql in ("SELECT * FROM mentions ORDER BY id", "SELECT * FROM suggestions ORDER BY id"):
        assert table(tmp_path / "there.db", sql) == table(tmp_path / "here.db", sql)
    assert len(table(tmp_path / "there.db", "SELECT id FROM mentions")) == 123  # 120 + 3 hostile
    assert (there.health.received, there.health.malformed) == (123, 9)
    assert there.health.errors == here.health.errors
    assert there.health.errors[0].startswith(f"{path}:11: not JSON")
    [[text]] = table(tmp_path / "there.db", "SELECT text FROM mentions WHERE native_id = 'h39'")
    assert text == "copy evil"  # sanitised in the worker as here


async def test_a_playbook_reload_reaches_the_worker(engine: Engine, tmp_path: Path) -> None:
    config = JsonlConfig(name="pipe", type="jsonl", path=tmp_path / "unused.jsonl")
    lines = [(m.model_dump_json().encode(), n) for n, m in enumerate(demo_mentions(5), 1)]
    worker = LineWorker()
    try:
        assert await worker.wait_ready(), worker.failed
        before = await worker.prepare(config, lines, engine, FROZEN)
        after = await worker.prepare(config, lines, Engine([]), FROZEN)
    finally:
        worker.close()
    assert worker.batches == 2
    assert all(row.suggestion_rows for row in before.stored)
    assert not any(row.suggestion_rows for row in after.stored)


async def test_the_worker_is_our_child_and_yields_the_cpu_to_us() -> None:
    """When both cores are busy the kernel runs the ingesting process (a desk's event loop)
    before the worker."""
    worker = LineWorker()
    try:
        assert await worker.wait_ready(), worker.failed
        pid = worker.pid
        assert pid is not None and pid in children(os.getpid())
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(
            19, os.getpriority(os.PRIO_PROCESS, 0) + 10
        )
    finally:
        worker.close()


async def test_ingest_goes_on_in_a_thread_when_the_worker_dies(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "feed.jsonl"
    write_feed(path, 60)
    async with await Store.open(tmp_path / "t.db") as store:
        runner = IngestRunner(store, [source(path)], lambda: engine, batch_size=20)
        assert await runner.worker.wait_ready(), runner.worker.failed
        pid = runner.worker.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await runner.run(once=True)
    assert runner.stored == 60 + 1  # the hostile line is a mention too
    assert runner.worker.failed is not None and "terminated abruptly" in runner.worker.failed
    [[cursor]] = table(tmp_path / "t.db", "SELECT cursor FROM source_state")
    assert cursor == f"{path.stat().st_size}:{60 + 6}"


def test_the_worker_leaves_with_a_parent_killed_while_it_was_starting(tmp_path: Path) -> None:
    """Killed while the worker is still importing: it learns of its parent too late to ask
    the kernel who that was, so the parent names itself."""
    write_feed(tmp_path / "feed.jsonl", 3_000)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[sources]]\nname = "pipe"\ntype = "jsonl"\npath = "{tmp_path}/feed.jsonl"\n'
    )
    command = [
        sys.executable,
        "-m",
        "tui.cli",
        "--config",
        str(config),
        "--db",
        str(tmp_path / "t.db"),
    ]
    proc = subprocess.Popen([*command, "ingest", "--once"], stderr=subprocess.DEVNULL)
    helpers: set[int] = set()
    deadline = time.monotonic() + 30
    while not started(helpers) and proc.poll() is None and time.monotonic() < deadline:
        helpers = children(proc.pid)  # multiprocessing's resource tracker, then the worker
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    assert started(helpers), "the worker never started"
    assert not alive(helpers), "the worker outlived its parent"


def started(helpers: set[int]) -> bool:
    return any("spawn_main" in command_line(pid) for pid in helpers)
