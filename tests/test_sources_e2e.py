"""Every built-in network source through the real command line, against one local server:
`triage ingest --once` stores what each service sent, correctly normalised; `sources check`
says what works; a kill -9 mid-ingest loses nothing and duplicates nothing; secrets stay out
of the database and the output."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fakenet import FakeNet, Fault
from tests.fakenet.world import SECRETS as NETWORK_SECRETS
from tests.fakenet.world import World

ENV = {"mastodon": "MASTO_TOKEN", "bluesky": "SKY_PASSWORD", "reddit": "REDDIT_SECRET"}
SECRETS = {ENV[network]: value for network, value in NETWORK_SECRETS.items()}


@pytest.fixture
def world(net: FakeNet, tmp_path: Path) -> dict[str, Any]:
    stand_ins = World.serve(net)
    masto, sky, hn, feed, reddit = (
        stand_ins.masto,
        stand_ins.sky,
        stand_ins.hn,
        stand_ins.feed,
        stand_ins.reddit,
    )
    masto.status("<p>sync is broken &amp; slow</p>")
    masto.mention("<p>@acmesupport help</p>")
    sky.profiles["did:plc:abc123def456"] = 4321
    sky.post("Acme sync broke again", "2026-08-01T12:00:04.001Z")
    hn.comment(44700123, 1785585603, "We moved off <i>Acme</i> &amp; left")
    feed.alert(
        1,
        "<b>Acme</b> recalls update",
        "https://news.example/acme",
        "2026-08-01T12:00:03Z",
        "The <b>Acme</b> team",
    )
    reddit.post("Acme sync broken?", "files & folders", 1785585603.0)
    cfg = tmp_path / "config.toml"
    cfg.write_text(stand_ins.sources_toml(ENV))
    return {"net": net, "masto": masto, "config": cfg, "db": tmp_path / "t.db", "feed": feed}


def triage(world: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "--config",
            str(world["config"]),
            "--db",
            str(world["db"]),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **SECRETS},
    )


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_ingest_once_stores_each_network_normalised(world: dict[str, Any]) -> None:
    run = triage(world, "ingest", "--once")
    assert run.returncode == 0, run.stdout + run.stderr
    found = {
        (r[0], r[1]): r[2:]
        for r in rows(
            world["db"],
            "SELECT source, native_id, text, url, published_at, "
            "author_handle, author_followers FROM mentions",
        )
    }
    masto = world["masto"].statuses
    assert found[("mastodon", masto[0]["id"])] == (
        "sync is broken & slow",
        masto[0]["url"],
        "2026-08-01T12:00:03.000000Z",
        "pat@fedi.example",
        1234,
    )
    assert ("mastodon", masto[1]["id"]) in found  # the @mention, via notifications
    ((_, value),) = [(k, v) for k, v in found.items() if k[0] == "bluesky"]
    assert value[0] == "Acme sync broke again" and value[3:] == ("pat.example.com", 4321)
    assert found[("hackernews", "44700123")] == (
        "We moved off Acme & left",
        "https://news.ycombinator.com/item?id=44700123",
        "2026-08-01T12:00:03.000000Z",
        "pat",
        None,
    )
    ((_, value),) = [(k, v) for k, v in found.items() if k[0] == "rss"]
    assert value[:2] == ("The Acme team", "https://news.example/acme")
    assert found[("reddit", "t3_p1")][:2] == (
        "files & folders",
        "https://www.reddit.com/r/acme/comments/p1/slug/",
    )
    assert len(found) == 6
    for name in ("fedi", "sky", "hn", "alerts", "reddit"):
        assert f"{name}: ok," in run.stdout


def test_sources_check_prints_what_worked(world: dict[str, Any]) -> None:
    world["net"].fail("/api/v1/search_by_date", Fault.status(503))
    run = triage(world, "sources", "check")
    assert run.returncode == 1
    lines = {line.split()[0]: line for line in run.stdout.splitlines()[1:]}
    assert lines["fedi"].split()[1:4] == ["mastodon", "ok", "2"]
    assert "backing off" in lines["hn"] and "server error 503" in lines["hn"]
    assert (
        not rows(world["db"], "SELECT name FROM sqlite_master WHERE name = 'mentions'")
        if world["db"].exists()
        else True
    )


def test_secrets_stay_out_of_the_database_and_the_output(world: dict[str, Any]) -> None:
    world["net"].fail(
        "/xrpc/com.atproto.server.createSession",
        Fault.status(
            401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
        ),
    )
    run = triage(world, "ingest", "--once")
    data = world["db"].read_bytes()
    for secret in SECRETS.values():
        assert secret not in run.stdout + run.stderr
        assert secret.encode() not in data
    assert "sky: auth failed" in run.stdout
    assert run.returncode == 1  # a source that could not fetch fails the run (cron, CI)
    for what in ("mentions", "decisions"):
        exported = triage(world, "export", what)
        for secret in SECRETS.values():
            assert secret not in exported.stdout + exported.stderr
    check = triage(world, "sources", "check")
    for secret in SECRETS.values():
        assert secret not in check.stdout + check.stderr


def test_kill_mid_ingest_then_restart_no_gap_no_duplicate(world: dict[str, Any]) -> None:
    masto = world["masto"]
    assert triage(world, "ingest", "--once").returncode == 0  # a cursor exists now
    new = [masto.status(f"<p>burst {n}</p>")["id"] for n in range(390)]
    world["net"].delay["/api/v1/timelines/tag/acme"] = 0.25  # ten pages, slowly
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "--config",
            str(world["config"]),
            "--db",
            str(world["db"]),
            "ingest",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **SECRETS},
    )
    count = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            count = rows(world["db"], "SELECT count(*) FROM mentions WHERE source = 'mastodon'")[0][
                0
            ]
            if count >= 2 + 80:  # some pages in, more to come
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 2 + 80 <= count < 2 + 390, "the kill should land mid-burst"
    world["net"].delay.clear()
    assert triage(world, "ingest", "--once").returncode == 0
    stored = [
        r[0]
        for r in rows(
            world["db"], "SELECT native_id FROM mentions WHERE source = 'mastodon' ORDER BY id"
        )
    ]
    assert sorted(stored) == sorted({*stored})  # no duplicate
    assert set(new) <= set(stored) and len(stored) == 2 + 390  # no gap
    assert rows(world["db"], "PRAGMA integrity_check") == [("ok",)]
    state = json.loads(rows(world["db"], "SELECT cursor FROM source_state WHERE name='fedi'")[0][0])
    assert state["tag:acme"] == new[-1]
