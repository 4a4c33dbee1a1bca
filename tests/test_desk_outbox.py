"""The outbox from the desk, with local stand-ins for a Mastodon instance and a webhook: a
reply typed in the desk lands as a reply after the first-send question, a stopped receiver
shows as failing and recovers, a source that cannot reply says so first, and an undone reply
can be deleted where it went."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

from playbooks import Engine
from tests.desk import modal
from tests.fakenet import FakeNet
from tests.fakenet.hackernews import FakeHackerNews
from tests.fakenet.hooks import FakeReceiver
from tests.fakenet.mastodon import TOKEN, FakeMastodon, Posting
from tests.sources_helpers import eventually
from tui.app import DeskApp
from tui.ingest import IngestRunner
from tui.screens.confirm import READ_FIRST, ConfirmScreen
from tui.settings import load
from tui.store import Store
from tui.widgets.queue import QueueList


@dataclass
class World:
    app: DeskApp
    posting: Posting
    hook: FakeReceiver


@pytest.fixture
async def world(tmp_path: Path, net: FakeNet, engine: Engine) -> World:
    masto = FakeMastodon(net)
    posting, hook = Posting(masto), FakeReceiver(net)
    masto.status("<p>Acme sync is broken again</p>")
    FakeHackerNews(net).story(1, 1785585603, "Acme 3.2 is out")
    config = tmp_path / "config.toml"
    config.write_text(f"""actor = "pat"
db = "{tmp_path / "t.db"}"
[[sources]]
name = "fedi"
type = "mastodon"
base_url = "{net.url}"
hashtags = ["acme"]
token = "{TOKEN}"
notifications = false
[[sources]]
name = "hn"
type = "hackernews"
base_url = "{net.url}/api/v1"
query = "acme"
[teams.sre-oncall]
webhook = "{net.url}/hooks/sre"
""")
    loaded = load(config)
    async with await Store.open(loaded.settings.db) as store:
        await IngestRunner(store, loaded.sources, lambda: engine).run(once=True)
    return World(DeskApp(loaded, engine, ingest=False, deliver=True), posting, hook)


async def go_to(app: DeskApp, pilot: Pilot[int], source: str) -> None:
    for _ in range(10):
        mention_id = app.model.id_at(app.query_one(QueueList).cursor)
        detail = None if mention_id is None else await app.store.detail(mention_id)
        if detail is not None and detail.mention.source_name == source:
            return
        await pilot.press("j")
        await pilot.pause()
    raise AssertionError(f"no {source} mention in the queue")


async def asked(app: DeskApp, pilot: Pilot[int]) -> None:
    """The first-send question is up, and up long enough to be answered."""
    await eventually(lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.pause(READ_FIRST)


async def reply(app: DeskApp, pilot: Pilot[int], text: str) -> None:
    """Reply to the Mastodon mention with `text` (after the suggested one), up to the
    first-send question."""
    await go_to(app, pilot, "fedi")
    await modal(pilot, "r")
    await pilot.press("end", *text, "ctrl+s")
    await asked(app, pilot)


async def test_a_reply_typed_in_the_desk_lands_after_the_first_send_question(world: World) -> None:
    app = world.app
    async with app.run_test(size=(140, 36)) as pilot:
        await reply(app, pilot, " Looking now.")
        assert world.posting.posted == []  # nothing logged or sent before the answer
        await pilot.press("y")
        await eventually(lambda: len(world.posting.posted) == 1)
        (status,) = world.posting.posted
        assert status["content"].startswith("@pat@fedi.example Sorry about this")
        assert status["content"].endswith("Looking now.")
        (entry,) = await app.store.outbox_entries()
        assert status["in_reply_to_id"] == entry.payload["in_reply_to"]


async def test_no_at_the_question_logs_and_sends_nothing(world: World) -> None:
    app = world.app
    async with app.run_test(size=(140, 36)) as pilot:
        await reply(app, pilot, "hello")
        await pilot.press("n")
        await pilot.pause(0.5)
        assert await app.store.outbox_entries() == []
        assert world.posting.posted == []


async def test_a_stopped_receiver_shows_failing_then_recovers(world: World) -> None:
    app = world.app
    world.hook.down = True
    async with app.run_test(size=(140, 36)) as pilot:
        await go_to(app, pilot, "fedi")
        await modal(pilot, "e")
        await pilot.press(*"sre-oncall", "enter")
        await asked(app, pilot)
        await pilot.press("y")

        async def failing() -> bool:
            entries = await app.store.outbox_entries()
            return bool(entries) and entries[0].last_error is not None

        for _ in range(100):
            if await failing():
                break
            await pilot.pause(0.05)
        (entry,) = await app.store.outbox_entries()
        assert entry.state == "pending" and "answered 503" in (entry.last_error or "")
        # The failed attempt asks for a recount (at most COUNT_EVERY away); calling
        # `_recount` here raced with it, and found nothing due while it was counting.
        await eventually(lambda: "1 delivery failing" in str(app.status_bar.render()))
        shown = await app.store.detail(entry.mention_id)
        assert shown is not None
        from tui.render import detail_content

        text = detail_content(shown, app.clock()).plain
        assert "escalate to sre-oncall (webhook): failed, retrying in" in text
        world.hook.down = False  # the receiver comes back; time passes to the next attempt
        assert app.dispatcher is not None
        app.store.clock = app.dispatcher.clock = lambda: entry.next_attempt_at
        app.dispatcher.wake()
        await eventually(lambda: len(world.hook.received) == 1)


async def test_a_source_that_cannot_reply_says_so_before_the_editor(world: World) -> None:
    app = world.app
    async with app.run_test(size=(140, 36)) as pilot:
        await go_to(app, pilot, "hn")
        await modal(pilot, "r")
        notes = [n.message for n in app._notifications]
        assert any("hn cannot post replies from triage" in n for n in notes)
        await pilot.press(*"thanks for trying Acme", "ctrl+s")
        await eventually(lambda: not app.screen.is_modal)
        await pilot.pause(0.3)
        assert await app.store.outbox_entries() == []
        assert app.clipboard == "thanks for trying Acme"


async def test_undo_after_delivery_offers_to_delete_the_reply(world: World) -> None:
    app = world.app
    async with app.run_test(size=(140, 36)) as pilot:
        await reply(app, pilot, "oops")
        await pilot.press("y")
        await eventually(lambda: len(world.posting.posted) == 1)
        for _ in range(100):
            if (await app.store.outbox_entries())[0].state == "sent":
                break
            await pilot.pause(0.05)
        await pilot.press("u")
        await asked(app, pilot)
        await pilot.press("y")
        await eventually(lambda: len(world.posting.deleted) == 1)
        assert world.posting.deleted == [world.posting.posted[0]["id"]]


async def test_keys_typed_ahead_never_answer_the_first_send_question(world: World) -> None:
    """An `n` (pull next) typed right after ctrl+s must not answer "send for real?" no."""
    app = world.app
    async with app.run_test(size=(140, 36)) as pilot:
        await go_to(app, pilot, "fedi")
        await modal(pilot, "r")
        for key, char in (("ctrl+s", None), ("n", "n")):  # the template as it stands
            app.post_message(events.Key(key, char))
        await asked(app, pilot)
        assert isinstance(app.screen, ConfirmScreen), "a key typed ahead answered it"
        await pilot.press("y")
        await eventually(lambda: len(world.posting.posted) == 1)
        assert world.posting.posted[0]["content"].startswith("@pat@fedi.example Sorry")
