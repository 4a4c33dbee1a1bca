"""Hostile text through every HTTP connector (Proof issue): the generated strings are served
by the local stand-ins in each network's own shapes (HTML-escaped where the service sends
HTML, raw where it sends text, lone surrogates as the invalid UTF-8 bytes a broken server
would send, a 1 MB post and a 20k emoji run in each), polled in rounds as the ingest runner
would. Every post arrives, nothing hostile is stored or drawn, markup stays literal text."""

from __future__ import annotations

import asyncio
import html
import sqlite3
from pathlib import Path

import pytest

from playbooks import Engine
from sources.sanitize import ELLIPSIS, TEXT_LIMIT
from tests.conftest import FROZEN
from tests.fakenet import FakeNet
from tests.fakenet.world import World
from tests.hostile import assert_clean, assert_renders_clean, hostile
from tui.ingest import IngestRunner
from tui.settings import load
from tui.store import Store

ROUNDS = 10
PER_ROUND = 40  # per network and round: within a first poll's page on every network
# one post a round is markup and nothing else: stored, it must read exactly as typed
MARKUP = (
    "acme [@click=app.quit]boom[/] [b]b[/b] [link=https://evil.example]x[/link] مرحبا 👩\u200d👦"
)
BASE = 1_785_585_600  # 2026-08-01T12:00:00Z
NETWORKS = ("mastodon", "bluesky", "hackernews", "rss", "reddit")


def serve_round(world: World, texts: dict[str, list[str]], first: int) -> None:
    for k, text in enumerate(texts["mastodon"]):
        account = {"display_name": text[:40], "acct": "pat@fedi.example", "id": "42"}
        status = world.masto.status(f"<p>{html.escape(text)}</p>", account=account)
        status["account"] |= {"username": "pat", "url": "", "followers_count": k, "bot": False}
    for k, text in enumerate(texts["bluesky"]):
        post = world.sky.post(text, _iso(BASE + first + k))
        post["author"]["displayName"] = text[-40:]
    for k, text in enumerate(texts["hackernews"]):
        world.hn.comment(
            44_700_000 + first + k, BASE + first + k, html.escape(text), author=text[:15]
        )
    for k, text in enumerate(texts["rss"]):
        n = first + k
        world.feed.alert(n, f"Acme alert {n}", f"https://news.example/{n}", _iso(BASE + n), text)
    for k, text in enumerate(texts["reddit"]):
        world.reddit.post(text[:300], text, float(BASE + first + k), author=text[:20])


def _iso(stamp: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def hostile_world(
    tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> tuple[Path, dict[str, list[str]]]:
    net = FakeNet().start()
    tmp_path = tmp_path_factory.mktemp("networks")
    world = World.serve(net)
    sent = {network: hostile(ROUNDS * PER_ROUND, seed=31 + n) for n, network in enumerate(NETWORKS)}
    for texts in sent.values():
        texts[2::PER_ROUND] = [MARKUP] * ROUNDS
    config = tmp_path / "config.toml"
    config.write_text(f'actor = "pat"\ndb = "{tmp_path / "t.db"}"\n' + world.sources_toml())
    loaded = load(config)

    async def poll() -> None:
        async with await Store.open(loaded.settings.db, clock=lambda: FROZEN) as store:
            runner = IngestRunner(store, loaded.sources, lambda: engine, clock=lambda: FROZEN)
            await runner.run(once=True)

    try:
        for round_ in range(ROUNDS):
            part = slice(round_ * PER_ROUND, (round_ + 1) * PER_ROUND)
            serve_round(world, {k: v[part] for k, v in sent.items()}, round_ * PER_ROUND)
            asyncio.run(poll())
    finally:
        net.stop()
    return loaded.settings.db, sent


def test_every_hostile_post_arrives_once_and_is_stored_clean(
    hostile_world: tuple[Path, dict[str, list[str]]],
) -> None:
    db, sent = hostile_world
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT source, text, title, author_handle, author_name, url FROM mentions"
        ).fetchall()
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"
    for network in NETWORKS:
        stored = [r for r in rows if r[0] == network]
        assert len(stored) == len(sent[network]), network  # nothing lost, nothing twice
        for row in stored:
            for field in row[1:]:
                if field is not None:
                    field.encode("utf-8")  # the invalid bytes became U+FFFD, not surrogates
                    assert_clean(field, network)
        # markup is kept as the literal text the author typed, never run or eaten
        assert sum(r[1] == MARKUP for r in stored) == ROUNDS, network
    # each network's 1 MB post arrived, capped for the screen with a visible ellipsis
    capped = [r[0] for r in rows if len(r[1]) == TEXT_LIMIT and r[1].endswith(ELLIPSIS)]
    assert sorted(capped) == sorted(NETWORKS)


async def test_hostile_posts_from_every_network_draw_clean(
    hostile_world: tuple[Path, dict[str, list[str]]],
) -> None:
    db, _ = hostile_world
    async with await Store.open(db, readonly=True) as store:
        ids = await store.all_ids()
        assert len(ids) == len(NETWORKS) * ROUNDS * PER_ROUND
        await assert_renders_clean(store, ids, detail_every=7)
