"""Source health in the desk: the status bar says what is wrong and until when, `h` tells
the whole story, a source that needs a human raises a notification, and a source another
desk fetches shows the state that desk stored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot

from playbooks import Engine
from sources.contract import Health, HealthState
from tests.desk import seed
from tests.fakenet import FakeNet, Fault
from tests.fakenet.hackernews import PATH, FakeHackerNews
from tests.sources_helpers import eventually
from tui.app import DeskApp
from tui.screens.sources import SourcesScreen
from tui.settings import Loaded, load
from tui.store import IngestBatch, SourceStatus, Store


def hn_desk(tmp_path: Path, net: FakeNet) -> Loaded:
    config = tmp_path / "config.toml"
    config.write_text(
        f'actor = "pat"\ndb = "{tmp_path / "desk.db"}"\n'
        f'[[sources]]\nname = "hn"\ntype = "hackernews"\nbase_url = "{net.url}/api/v1"\n'
        'query = "acme"\ndeadline = 2\n'
    )
    return load(config)


def status(app: DeskApp) -> str:
    return str(app.status_bar.render())


async def sources_screen(app: DeskApp, pilot: Pilot[int]) -> str:
    """Press h and read the sources screen."""
    await pilot.press("h")
    await eventually(lambda: isinstance(app.screen, SourcesScreen))
    return str(app.screen.query_one("Static").render())


async def test_a_failing_source_is_named_in_the_status_bar_and_explained_on_h(
    tmp_path: Path, engine: Engine, net: FakeNet
) -> None:
    FakeHackerNews(net).story(1, 1785585603, "Acme 3.2")
    net.fail(PATH, Fault.status(503, {"message": "upstream down"}))
    loaded = hn_desk(tmp_path, net)
    await seed(loaded, engine, [])
    app = DeskApp(loaded, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await eventually(lambda: "hn backing off, retry in" in status(app))
        shown = await sources_screen(app, pilot)
        assert "hn  hackernews  backing off, retry in" in shown
        assert "HN search 'acme': server error 503 (upstream down)" in shown
        assert "last success never · 0 received" in shown
        await pilot.press("escape")
        # The server recovers; the next try (after the backoff) fills the queue.
        await eventually(lambda: len(app.model) == 1, limit=15)
        await eventually(lambda: "hn ok" in status(app))


async def test_a_block_page_raises_a_notification_once(
    tmp_path: Path, engine: Engine, net: FakeNet
) -> None:
    FakeHackerNews(net)
    net.fail(PATH, Fault.html_block())
    loaded = hn_desk(tmp_path, net)
    await seed(loaded, engine, [])
    app = DeskApp(loaded, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await eventually(lambda: "hn blocked" in status(app))
        await pilot.pause(1.2)  # a few more ticks: still one notification
        alarms = [n for n in app._notifications if n.title == "Source blocked"]
        assert len(alarms) == 1
        assert "403 with an HTML page" in alarms[0].message


async def test_a_source_fetched_by_another_desk_shows_that_desks_state(
    tmp_path: Path, engine: Engine, net: FakeNet
) -> None:
    loaded = hn_desk(tmp_path, net)
    await seed(loaded, engine, [])
    async with await Store.open(loaded.settings.db) as store:
        assert await store.hold_source("hn", "hackernews", "elsewhere.example:1:other")
        health = Health(
            state=HealthState.RATE_LIMITED,
            last_error="HN search: rate limited",
            retry_at=datetime(2099, 1, 1, tzinfo=UTC),
        )
        await store.ingest(IngestBatch(sources=[SourceStatus("hn", "hackernews", None, health)]))
    app = DeskApp(loaded, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await eventually(lambda: "hn rate limited, retry in" in status(app))
        shown = await sources_screen(app, pilot)
        assert "(fetched by another desk)" in shown
        assert "HN search: rate limited" in shown
    assert net.requests(PATH) == []  # this desk never fetched it


async def test_a_refused_token_is_named_on_screen_never_shown(
    tmp_path: Path, engine: Engine, net: FakeNet
) -> None:
    from tests.fakenet.mastodon import FakeMastodon

    FakeMastodon(net).mention("hello")
    secret = "mastodon-wrong-token-s3cret"
    config = tmp_path / "config.toml"
    config.write_text(
        f'actor = "pat"\ndb = "{tmp_path / "desk.db"}"\n[[sources]]\nname = "fedi"\n'
        f'type = "mastodon"\nbase_url = "{net.url}"\ntoken = "{secret}"\n'
    )
    loaded = load(config)
    await seed(loaded, engine, [])
    app = DeskApp(loaded, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await eventually(lambda: "fedi auth failed" in status(app))
        shown = await sources_screen(app, pilot)
        assert "notifications: credentials refused (401)" in shown
        notes = " ".join(str(n.message) for n in app._notifications)
        assert secret not in shown + status(app) + notes
