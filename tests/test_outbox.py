"""The outbox against local stand-ins that record what they receive: replies land as replies,
escalations reach webhooks signed, failures retry then fail in words, undo cancels or records
what stays out, a crash mid-send repeats the key (exactly once where the receiver honours it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from playbooks import Engine
from tests.fakenet import FakeNet
from tests.fakenet.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakenet.hooks import FakeReceiver
from tests.fakenet.mastodon import TOKEN, FakeMastodon, Posting
from tui import deliver
from tui.dispatch import LEASE, Dispatcher
from tui.ingest import IngestRunner
from tui.outbox import Route
from tui.settings import Loaded, TeamSettings, load
from tui.store import Store

SECRET = "hook-signing-s3cret"


@dataclass
class World:
    net: FakeNet
    masto: FakeMastodon
    posting: Posting
    sky: FakeBluesky
    hook: FakeReceiver
    loaded: Loaded
    store: Store
    now: list[datetime]
    client: httpx.AsyncClient

    def dispatcher(self, max_attempts: int = 8, deadline: float = 20.0) -> Dispatcher:
        senders = deliver.senders(self.loaded, self.client, self.store.reply_target)
        return Dispatcher(self.store, senders, max_attempts, deadline, clock=lambda: self.now[0])

    async def mention_id(self, source: str) -> int:
        with sqlite3.connect(self.store.path) as db:
            (found,) = db.execute("SELECT id FROM mentions WHERE source_name = ?", (source,))
        return int(found[0])


def config(tmp_path: Path, net: FakeNet, hook: FakeReceiver, extra: str = "") -> Path:
    script = tmp_path / "ticket.py"
    script.write_text(
        "import sys, pathlib\n"
        f"pathlib.Path({str(tmp_path / 'ticket.json')!r}).write_bytes(sys.stdin.buffer.read())\n"
        "print('LEGAL-7')\n"
    )
    path = tmp_path / "config.toml"
    path.write_text(f"""actor = "pat"
db = "{tmp_path / "t.db"}"
{extra}
[[sources]]
name = "fedi"
type = "mastodon"
base_url = "{net.url}"
hashtags = ["acme"]
token = "{TOKEN}"
notifications = false
reply_visibility = "unlisted"

[[sources]]
name = "sky"
type = "bluesky"
base_url = "{net.url}"
handle = "{HANDLE}"
app_password = "{APP_PASSWORD}"
query = "acme"
notifications = false

[teams.sre-oncall]
webhook = "{hook.url}"
secret = "{SECRET}"

[teams.legal]
command = ["{sys.executable}", "{script}"]
""")
    return path


@pytest.fixture
async def world(tmp_path: Path, net: FakeNet, engine: Engine) -> AsyncIterator[World]:
    masto, sky, hook = FakeMastodon(net), FakeBluesky(net), FakeReceiver(net)
    posting = Posting(masto)
    masto.status(
        "<p>Acme sync is broken</p>",
        account={
            "id": "42",
            "acct": "pat@fedi.example",
            "display_name": "Pat",
            "followers_count": 5,
            "url": "https://fedi.example/@pat",
        },
    )
    sky.post("acme is down for me", "2026-08-01T12:00:04.001Z", did="did:plc:pat")
    loaded = load(config(tmp_path, net, hook))
    now = [datetime(2026, 11, 26, 9, 30, tzinfo=UTC)]
    async with await Store.open(loaded.settings.db, clock=lambda: now[0]) as store:
        store.routes = deliver.routes(loaded, str(loaded.settings.db))
        await IngestRunner(store, loaded.sources, lambda: engine).run(once=True)
        async with httpx.AsyncClient() as client:
            yield World(net, masto, posting, sky, hook, loaded, store, now, client)


async def test_a_mastodon_reply_lands_as_a_reply_with_the_key(world: World) -> None:
    mention = await world.mention_id("fedi")
    await world.store.decide(mention, actor="pat", action="reply", params={"reply": "So sorry!"})
    assert await world.dispatcher().once() == 1
    (status,) = world.posting.posted
    assert status["content"] == "@pat@fedi.example So sorry!"
    assert status["in_reply_to_id"] == world.masto.statuses[0]["id"]
    assert status["visibility"] == "unlisted"
    (entry,) = await world.store.outbox_entries()
    assert (entry.state, entry.remote_id, entry.remote_url) == ("sent", status["id"], status["url"])
    assert world.posting.by_key == {entry.key: status}


async def test_a_bluesky_reply_has_root_parent_and_a_mention_facet(world: World) -> None:
    mention = await world.mention_id("sky")
    await world.store.decide(mention, actor="pat", action="reply", params={"reply": "On it ✓"})
    await world.dispatcher().once()
    ((rkey, record),) = world.sky.records.items()
    post = world.sky.posts[0]
    parent = {"uri": post["uri"], "cid": post["cid"]}
    assert record["reply"] == {"root": parent, "parent": parent}
    assert record["text"] == "@pat.example.com On it ✓"
    (facet,) = record["facets"]
    assert facet["index"] == {"byteStart": 0, "byteEnd": len(b"@pat.example.com")}
    assert facet["features"][0]["did"] == "did:plc:pat"
    (entry,) = await world.store.outbox_entries()
    assert entry.remote_url == f"https://bsky.app/profile/{HANDLE}/post/{rkey}"


async def test_an_escalation_reaches_the_webhook_signed_with_the_documented_payload(
    world: World,
) -> None:
    mention = await world.mention_id("fedi")
    decision = await world.store.decide(
        mention, actor="pat", action="escalate", params={"team": "sre-oncall"}
    )
    await world.dispatcher().once()
    (got,) = world.hook.received
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-triage-signature"] == f"sha256={expected}"
    body = got.json()
    assert body["event"] == "escalate" and body["team"] == "sre-oncall"
    assert body["decision"]["id"] == decision.id and body["decision"]["actor"] == "pat"
    assert body["mention"]["text"] == "Acme sync is broken"
    assert body["link"] == world.masto.statuses[0]["url"]
    assert body["triage"]["mention_id"] == mention
    (entry,) = await world.store.outbox_entries()
    assert got.headers["idempotency-key"] == entry.key
    assert (entry.state, entry.remote_id) == ("sent", "TICKET-1")


async def test_a_command_hook_gets_the_decision_on_stdin(world: World, tmp_path: Path) -> None:
    mention = await world.mention_id("fedi")
    await world.store.decide(mention, actor="pat", action="escalate", params={"team": "legal"})
    await world.dispatcher().once()
    sent = json.loads((tmp_path / "ticket.json").read_text())
    assert sent["team"] == "legal" and sent["mention"]["id"] == mention
    (entry,) = await world.store.outbox_entries()
    assert (entry.state, entry.remote_id) == ("sent", "LEGAL-7")


async def test_5xx_is_retried_with_backoff_then_failed_in_words(world: World) -> None:
    world.hook.down = True
    mention = await world.mention_id("fedi")
    await world.store.decide(mention, actor="pat", action="escalate", params={"team": "sre-oncall"})
    dispatcher = world.dispatcher(max_attempts=3)
    for attempt in (1, 2):
        assert await dispatcher.once() == 1
        (entry,) = await world.store.outbox_entries()
        assert (entry.state, entry.attempts) == ("pending", attempt)
        assert entry.last_error == 'webhook: answered 503 ({"error": "receiver down"})'
        assert entry.next_attempt_at > world.now[0]  # backing off
        assert await dispatcher.once() == 0  # not due yet
        world.now[0] = entry.next_attempt_at
    await dispatcher.once()
    (entry,) = await world.store.outbox_entries()
    assert entry.state == "failed"
    assert entry.last_error == (
        'gave up after 3 attempts: webhook: answered 503 ({"error": "receiver down"})'
    )
    assert world.hook.received == []
    world.hook.down = False  # `triage outbox retry` puts it back
    assert await world.store.outbox_retry("state = 'failed'") == 1
    await dispatcher.once()
    assert len(world.hook.received) == 1


async def test_a_timeout_is_an_attempt_that_will_be_retried(world: World) -> None:
    world.net.delay[world.hook.path] = 3
    mention = await world.mention_id("fedi")
    await world.store.decide(mention, actor="pat", action="escalate", params={"team": "sre-oncall"})
    await world.dispatcher(deadline=0.5).once()
    (entry,) = await world.store.outbox_entries()
    assert (entry.state, entry.last_error) == ("pending", "no answer within 0.5 s")


async def test_nothing_is_sent_in_dry_run(tmp_path: Path, net: FakeNet, engine: Engine) -> None:
    masto, hook = FakeMastodon(net), FakeReceiver(net)
    posting = Posting(masto)
    masto.status("<p>Acme?</p>")
    loaded = load(config(tmp_path, net, hook, "[outbox]\ndry_run = true\n"))
    async with await Store.open(loaded.settings.db) as store:
        store.routes = deliver.routes(loaded, "t.db")
        await IngestRunner(store, loaded.sources[:1], lambda: engine).run(once=True)
        with sqlite3.connect(store.path) as db:
            ((mention,),) = db.execute("SELECT id FROM mentions")
        await store.decide(mention, actor="pat", action="reply", params={"reply": "hi"})
        await store.decide(mention, actor="pat", action="escalate", params={"team": "sre-oncall"})
        async with httpx.AsyncClient() as client:
            senders = deliver.senders(loaded, client, store.reply_target)
            assert await Dispatcher(store, senders).once() == 0
        assert [e.state for e in await store.outbox_entries()] == ["dry_run", "dry_run"]
    assert posting.posted == [] and hook.received == []


async def test_undo_before_delivery_cancels_after_delivery_records_and_can_retract(
    world: World,
) -> None:
    mention = await world.mention_id("fedi")
    await world.store.decide(mention, actor="pat", action="reply", params={"reply": "first"})
    undo = await world.store.undo_last("pat")
    assert "stays_out" not in undo.params
    assert [e.state for e in await world.store.outbox_entries()] == ["cancelled"]
    await world.dispatcher().once()
    assert world.posting.posted == []

    await world.store.decide(mention, actor="pat", action="reply", params={"reply": "second"})
    await world.dispatcher().once()
    undo = await world.store.undo_last("pat")
    (sent,) = [e for e in await world.store.outbox_entries() if e.state == "sent"]
    assert undo.params["stays_out"] == [
        {"outbox": sent.id, "kind": "reply", "target": "fedi", "url": sent.remote_url}
    ]
    await world.store.outbox_retract([sent.id], undo.id)  # the responder said: delete it
    await world.dispatcher().once()
    assert world.posting.deleted == [sent.remote_id]


async def test_a_sender_that_dies_mid_send_is_replaced_with_the_same_key(world: World) -> None:
    mention = await world.mention_id("fedi")
    await world.store.decide(mention, actor="pat", action="reply", params={"reply": "once"})
    await world.store.decide(
        await world.mention_id("sky"), actor="pat", action="escalate", params={"team": "sre-oncall"}
    )
    # The first process takes both and sends, then dies before recording anything.
    (reply, escalation) = await world.store.outbox_take("dead-process", LEASE)
    senders = deliver.senders(world.loaded, world.client, world.store.reply_target)
    await senders[("reply", "fedi")].send(reply)
    await senders[("team", "sre-oncall")].send(escalation)
    assert await world.dispatcher().once() == 0  # the lease still holds
    world.now[0] += LEASE + timedelta(seconds=1)
    assert await world.dispatcher().once() == 2
    assert len(world.posting.posted) == 1  # Mastodon honoured the key: exactly once
    assert world.hook.keys() == [escalation.key, escalation.key]  # at least once, same key
    assert {e.state for e in await world.store.outbox_entries()} == {"sent"}


async def test_a_source_that_cannot_reply_gets_no_outbox_entry(
    tmp_path: Path, engine: Engine
) -> None:
    from tests.conftest import demo_mentions, ingest

    path = tmp_path / "c.toml"
    path.write_text(f'db = "{tmp_path / "d.db"}"\n[[sources]]\nname = "demo"\ntype = "demo"\n')
    loaded = load(path)
    async with await Store.open(loaded.settings.db) as store:
        store.routes = deliver.routes(loaded, "d.db")
        [mention] = await ingest(store, engine, demo_mentions(1))
        await store.decide(mention, actor="pat", action="reply", params={"reply": "hi"})
        assert await store.outbox_entries() == []


async def test_kill_9_mid_send_then_restart_delivers_each_once_where_the_key_is_honoured(
    tmp_path: Path, net: FakeNet, engine: Engine
) -> None:
    masto, hook = FakeMastodon(net), FakeReceiver(net)
    posting = Posting(masto)
    masto.status("<p>Acme sync is broken</p>")
    cfg = config(tmp_path, net, hook)
    loaded = load(cfg)
    assert _triage(cfg, "ingest", "--once").returncode in (0, 1)  # sky is not served here
    async with await Store.open(loaded.settings.db) as store:
        store.routes = deliver.routes(loaded, "t.db")
        with sqlite3.connect(store.path) as db:
            ((mention,),) = db.execute("SELECT id FROM mentions")
        await store.decide(mention, actor="pat", action="reply", params={"reply": "on it"})
        await store.decide(mention, actor="pat", action="tag", params={"tags": ["x"]})
        await store.decide(
            mention, actor="pat", action="escalate", params={"team": "sre-oncall"}
        )  # acknowledged: committed with their outbox entries, nothing sent yet
    net.delay.update({"/api/v1/statuses": 30, hook.path: 30})  # handled, answer never comes
    _kill_while_sending(cfg, posting, hook)
    assert (len(posting.posted), len(hook.received)) == (1, 1)  # out, but never recorded
    net.delay.clear()
    run = _triage(cfg, "outbox", "send")  # the restart: the dead sender's entries are taken
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 delivered" in run.stdout
    assert len(posting.posted) == 1  # Mastodon returned the first status for the same key
    assert len(hook.received) == 2 and len(set(hook.keys())) == 1  # at least once, same key
    with sqlite3.connect(loaded.settings.db) as db:
        states = [row[0] for row in db.execute("SELECT state FROM outbox ORDER BY id")]
        assert states == ["sent", "sent"]
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _kill_while_sending(config: Path, posting: Posting, hook: FakeReceiver) -> None:
    """Run a delivering process until both receivers have handled its request, then kill -9
    it before it can record that (their answers are held back)."""
    desk = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--config", str(config), "ingest"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            if posting.posted and hook.received:
                break
            time.sleep(0.05)
    finally:
        desk.send_signal(signal.SIGKILL)
        desk.wait()


def _triage(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_a_slack_webhook_gets_one_escaped_message(world: World, net: FakeNet) -> None:
    slack = FakeReceiver(net, "/services/T000/B000/XXXX")
    team = TeamSettings(slack=slack.url)
    sender = deliver.senders(
        replace(
            world.loaded,
            settings=world.loaded.settings.model_copy(update={"teams": {"billing": team}}),
        ),
        world.client,
        world.store.reply_target,
    )[("team", "billing")]
    mention = await world.mention_id("fedi")
    world.store.routes = replace(world.store.routes, teams={"billing": Route("slack", False)})
    await world.store.decide(mention, actor="pat", action="escalate", params={"team": "billing"})
    (entry,) = await world.store.outbox_entries()
    entry = replace(
        entry,
        payload={
            **entry.payload,
            "mention": {**entry.payload["mention"], "text": "<script> & <b>"},
        },
    )
    await sender.send(entry)
    (got,) = slack.received
    text = got.json()["text"]
    assert text.startswith("*escalate to billing* by pat\nmastodon · pat@fedi.example: ")
    assert "&lt;script&gt; &amp; &lt;b&gt;" in text and "<script>" not in text
