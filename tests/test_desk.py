"""The desk through Pilot: keys in, decisions checked in the database."""

from __future__ import annotations

import asyncio
import gc
import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from rich.segment import Segment
from textual import events
from textual.widgets import OptionList
from textual.widgets._footer import FooterKey

from playbooks import Engine
from sources.model import Author, Mention
from tests.conftest import FROZEN, demo_mentions, ingest
from tests.desk import arrive, desk, modal, seed, settings_for, settle, until
from tui import collector
from tui.app import ROUTINE, DeskApp
from tui.query import Query
from tui.screens.pick import PickScreen
from tui.store import Store
from tui.widgets.detail import DetailPane
from tui.widgets.keys import Keys
from tui.widgets.queue import QueueList

HOSTILE = "[@click=app.quit]boom[/] \x1b]52;c;aGk=\x07 [/oops]"


def _decisions(app: DeskApp) -> list[tuple[object, ...]]:
    with sqlite3.connect(app.settings.db) as db:
        return db.execute(
            "SELECT mention_id, actor, action, outcome, view, suggestion_id, reverses_id, params"
            " FROM decisions ORDER BY id"
        ).fetchall()


def _top_suggestion(app: DeskApp, mention_id: int) -> tuple[int, str]:
    with sqlite3.connect(app.settings.db) as db:
        row = db.execute(
            "SELECT id, action FROM suggestions WHERE mention_id = ? AND rank = 0", (mention_id,)
        ).fetchone()
    return row[0], row[1]


def _detail_text(app: DeskApp) -> str:
    return str(app.query_one("#detail-body").render())


async def test_accept_logs_the_top_suggestion_and_advances(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        first, second = app.model.ids[0], app.model.ids[1]
        suggestion_id, action = _top_suggestion(app, first)
        await pilot.press("a")
        await pilot.pause()
        assert _decisions(app)[0][:6] == (first, "pat", action, "accepted", "Inbox", suggestion_id)
        assert app.model.id_at(app.query_one(QueueList).cursor) == second
        assert first not in app.model.ids


async def test_j_k_move_and_the_detail_follows(tmp_path: Path, engine: Engine) -> None:
    mentions = demo_mentions(12)
    app = await desk(tmp_path, engine, mentions=mentions)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("j", "j", "k")
        await pilot.pause()
        queue = app.query_one(QueueList)
        assert queue.cursor == 1
        with sqlite3.connect(app.settings.db) as db:
            (text,) = db.execute(
                "SELECT text FROM mentions WHERE id = ?", (app.model.ids[1],)
            ).fetchone()
        assert text in _detail_text(app)


async def test_dismiss_asks_for_a_reason_and_logs_it(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        first = app.model.ids[0]
        _, action = _top_suggestion(app, first)
        await modal(pilot, "x")
        await pilot.press("2")  # "off-topic"
        await pilot.pause()
        [row] = _decisions(app)
        assert row[0] == first and row[2] == "dismiss"
        assert row[3] == ("edited" if action == "dismiss" else "overridden")
        assert json.loads(str(row[7])) == {"reason": "off-topic"}


async def test_escape_cancels_a_dismissal(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await modal(pilot, "x")
        await pilot.press("escape")
        await pilot.pause()
        assert _decisions(app) == []


async def test_undo_reverses_the_last_decision_and_returns_to_it(
    tmp_path: Path, engine: Engine
) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        first = app.model.ids[0]
        _, action = _top_suggestion(app, first)
        await pilot.press("a", "j", "u")
        await pilot.pause()
        rows = _decisions(app)
        assert [(r[0], r[2]) for r in rows] == [(first, action), (first, "undo")]
        assert rows[1][6] is not None  # reverses_id
        assert first in app.model.ids
        assert app.model.id_at(app.query_one(QueueList).cursor) == first
        await pilot.press("u", "u")  # nothing left to undo: a warning, no new row
        await pilot.pause()
        assert len(_decisions(app)) == 2


async def test_views_switch_with_number_keys(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a", "a")
        await pilot.pause()
        assert len(app.model) == 10
        await pilot.press("7")  # All
        await pilot.pause()
        assert len(app.model) == 12
        await pilot.press("]")  # wraps to Inbox
        await pilot.pause()
        assert app.view.name == "Inbox"


async def test_the_view_picker_lists_every_view_with_its_count_and_switches(
    tmp_path: Path, engine: Engine
) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: " 1 Inbox 12 " in str(app.status_bar.render()))
        await modal(pilot, "v")
        listed = [str(o.prompt) for o in app.screen.query_one(OptionList).options]
        assert listed[0] == "1  Inbox  12" and listed[-1] == "7  All  12", listed
        await pilot.press("7")
        await until(pilot, lambda: app.view.name == "All" and not app.screen.is_modal)
        for key in "v2":  # typed ahead of the picker: its key, not "switch to view 2"
            app.post_message(events.Key(key, key))
        await until(pilot, lambda: app.view.name == "Urgent" and not app.screen.is_modal)
        await modal(pilot, "v")
        await pilot.press("escape")
        await until(pilot, lambda: not app.screen.is_modal)
        assert app.view.name == "Urgent"


async def test_the_palette_shows_each_action_with_its_keys_as_mapped(
    tmp_path: Path, engine: Engine
) -> None:
    app = await desk(tmp_path, engine, extra='[keys]\naccept = "y,ctrl+y"')
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert commands["Accept"].help == "key: y, ^y"
        assert commands["Prev view"].help == "key: ["
        assert commands["Views"].help == "key: v"
        assert "Cancel" not in commands and "Log it" not in commands  # a dialog's, not the desk's
        commands["Down"].callback()  # the queue's own action, run on the queue
        await until(pilot, lambda: app.queue.cursor == 1)


async def test_the_layout_follows_the_terminal_as_it_is_resized(
    tmp_path: Path, engine: Engine
) -> None:
    """Widened from 80 to 160 columns, the detail moves beside the queue. It used to stay
    below: the layout was fitted to the size before the resize."""
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)

        def beside() -> bool:
            return app.detail.region.x > app.queue.region.x

        assert not beside()
        await pilot.resize_terminal(160, 40)
        await until(pilot, beside)
        await pilot.resize_terminal(90, 40)
        await until(pilot, lambda: not beside())


async def test_a_click_on_a_view_tab_switches_to_it(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: " 2 Urgent 3 " in app.status_bar.render_line(0).text)
        x = app.status_bar.render_line(0).text.index(" 2 Urgent 3 ") + 3
        await pilot.click(app.status_bar, offset=(x, 0))
        await until(pilot, lambda: app.view.name == "Urgent")
        assert len(app.model) == 3


async def test_a_new_view_comes_with_the_rows_of_its_first_screen(
    tmp_path: Path, engine: Engine
) -> None:
    """Read with its ids, not asked for once drawn: the first frame shows them, rather than
    a frame of placeholders and a round trip for the rows."""
    app = await desk(tmp_path, engine, count=240)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await app.action_switch_view(len(app.views) - 1)  # All
        lines = app.queue.size.height
        assert len(app.model) > lines and app.model.row_at(lines - 1) is not None
        assert len(app.model.loaded()) < len(app.model) // 2  # the rest: when scrolled to


async def test_keys_are_remappable_from_settings(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, extra='[keys]\naccept = "y"')
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert _decisions(app) == []
        await pilot.press("y")
        await pilot.pause()
        assert len(_decisions(app)) == 1


async def test_the_footer_shows_the_keys_as_mapped_and_is_rebuilt_only_when_they_change(
    tmp_path: Path, engine: Engine
) -> None:
    app = await desk(tmp_path, engine, extra='[keys]\naccept = "y"')
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        footer = app.query_one(Keys)
        shown = list(footer.query(FooterKey))
        assert ("y", "Accept") in [(k.key_display, k.description) for k in shown]
        app.screen.refresh_bindings()  # a signal with nothing new to show
        await pilot.pause()
        assert list(footer.query(FooterKey)) == shown
        app.update_keymap({"accept": "z"})
        await pilot.pause()
        now = [(k.key_display, k.description) for k in footer.query(FooterKey)]
        assert ("z", "Accept") in now and ("y", "Accept") not in now


async def test_help_lists_the_active_keys(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, extra='[keys]\naccept = "y"')
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        text = str(app.screen.query_one("Static").render())
        assert "Accept  (accept)" in text and "y" in text
        assert "View 2: Urgent  (view_2)" in text and "Views  (views)" in text
        await pilot.press("escape")
        assert not app.screen.is_modal


async def test_hostile_mention_shows_literally_and_a_click_only_selects(
    tmp_path: Path, engine: Engine
) -> None:
    [base] = demo_mentions(1)
    evil = base.model_copy(
        update={
            "text": HOSTILE,
            "title": None,
            "native_id": "evil",
            "author": Author(handle="[b]x[/b]", display_name="[@click=app.quit]name"),
        }
    )
    app = await desk(tmp_path, engine, mentions=[*demo_mentions(3), evil])
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        index = len(app.model) - 1
        assert app.model.row_at(index) is not None
        await pilot.click(QueueList, offset=(60, index))
        await pilot.click(DetailPane, offset=(5, 0))
        await pilot.click(DetailPane, offset=(5, 5))
        await pilot.pause()
        assert app.is_running and _decisions(app) == []
        assert app.query_one(QueueList).cursor == index
        text = _detail_text(app)
        assert "[@click=app.quit]boom[/]  [/oops]" in text and "[@click=app.quit]name" in text
        strip = app.query_one(QueueList).render_line(index)
        drawn = "".join(segment.text for segment in strip if isinstance(segment, Segment))
        assert "[@click=app.quit]boom" in drawn
        assert "\x1b" not in drawn and "\x07" not in drawn


async def test_a_drawn_line_is_drawn_again_when_anything_it_shows_changes(
    tmp_path: Path, engine: Engine
) -> None:
    """The queue keeps drawn lines (arrivals move them all): one must never outlive its
    theme, its SLA clock's colour, its selection marker or its row."""
    app = await desk(tmp_path, engine, count=12)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        queue = app.query_one(QueueList)
        y = next(y for y in range(1, 12) if (row := app.model.row_at(y)) and row.sla_due_at)
        row = app.model.row_at(y)
        assert row is not None and row.sla_due_at is not None
        due = row.sla_due_at
        # Half a second either side of due: the clock reads "0s" both times, in another colour.
        queue.clock = lambda: due - timedelta(seconds=0.5)
        due_soon = queue.render_line(y)
        queue.clock = lambda: due + timedelta(seconds=0.5)
        overdue = queue.render_line(y)
        assert " 0s " in due_soon.text and due_soon.text == overdue.text
        assert list(due_soon) != list(overdue)
        app.selected.add(row.id)
        assert queue.render_line(y).text.startswith("▌") and not overdue.text.startswith("▌")
        app.selected.clear()
        assert list(queue.render_line(y)) == list(overdue)
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        light = queue.render_line(y)
        assert light.text == overdue.text and list(light) != list(overdue)
        app.model.update({row.id: replace(row, claimed_by="sam")})
        assert "@sam" in queue.render_line(y).text


async def test_the_desk_tunes_the_collector_while_open_and_puts_it_back(
    tmp_path: Path, engine: Engine
) -> None:
    """Frozen start-up and rarer young collections while the desk runs (tui.collector); the
    process gets the collector back as it was when the desk closes."""
    before = gc.get_threshold()
    app = await desk(tmp_path, engine)
    async with app.run_test() as pilot:
        await settle(pilot)
        assert gc.get_threshold()[0] == collector.YOUNG and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


async def test_state_survives_a_restart(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a", "a", "a")
        await pilot.pause()
        before = list(app.model.ids)
    again = DeskApp(app.loaded, engine, clock=lambda: FROZEN, ingest=False)
    async with again.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert again.model.ids == before
        assert len(_decisions(again)) == 3


async def test_live_ingest_fills_the_queue(tmp_path: Path, engine: Engine) -> None:
    loaded = settings_for(tmp_path)
    feed = tmp_path / "in.jsonl"
    feed.write_text("".join(m.model_dump_json() + "\n" for m in demo_mentions(15)))
    await seed(loaded, engine, [])
    app = DeskApp(loaded, engine, clock=lambda: FROZEN)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(50):
            await pilot.pause(0.05)
            if len(app.model) == 15:
                break
        assert len(app.model) == 15
        assert app.loaded.sources[0].health.state.value == "idle"


async def test_a_store_failure_in_ingest_is_shown_not_fatal(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = settings_for(tmp_path)
    (tmp_path / "in.jsonl").write_text(demo_mentions(1)[0].model_dump_json() + "\n")
    await seed(loaded, engine, [])

    async def broken(self: Store, batch: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Store, "ingest", broken)
    app = DeskApp(loaded, engine, clock=lambda: FROZEN)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(40):
            await pilot.pause(0.05)
            if app.ingest_error:
                break
        assert app.ingest_error == "OSError: disk full"
        assert app.is_running
        assert "ingest stopped" in str(app.query_one("#status").render())


GOOD = 'id = "mine"\n[[rules]]\nid = "all"\nthen.action = "tag"\nthen.tags = ["{tag}"]\n'


async def test_playbooks_hot_reload_survives_a_bad_edit(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tui.app

    monkeypatch.setattr(tui.app, "PLAYBOOK_POLL", 0.05)
    own = tmp_path / "playbooks"
    own.mkdir()
    (own / "mine.toml").write_text(GOOD.format(tag="first"))
    extra = f'[playbooks]\nbundled = false\ndirs = ["{own}"]'
    app = await desk(tmp_path, engine, count=2, extra=extra)

    async def settle() -> None:
        for _ in range(20):
            await pilot.pause(0.05)

    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        before = app.engine
        (own / "mine.toml").write_text(GOOD.format(tag="first") + "then.colour = 1\n")
        await settle()
        assert app.engine is before  # the last good playbooks stay active
        assert (
            app.playbook_error
            == f"{own / 'mine.toml'}:6: rules.0.then.colour: Extra inputs are not permitted"
        )
        assert "playbooks error" in str(app.query_one("#status").render())

        (own / "mine.toml").write_text(GOOD.format(tag="second"))
        await settle()
        assert app.playbook_error is None
        assert app.engine is not before
        [suggestion] = app.engine.suggest(demo_mentions(1)[0])
        assert suggestion.params["tags"] == ["second"]


async def test_a_long_post_scrolls_by_keys_and_keeps_its_place_while_others_write(
    tmp_path: Path, engine: Engine
) -> None:
    base, other = demo_mentions(2)
    paragraphs = (f"Paragraph {n}: sync fails since the update." for n in range(1, 60))
    long = base.model_copy(update={"text": "\n\n".join(paragraphs)})
    app = await desk(tmp_path, engine, mentions=[long, other])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        with sqlite3.connect(app.settings.db) as db:
            [(long_id,)] = db.execute("SELECT id FROM mentions WHERE text LIKE 'Paragraph 1:%'")
        if app.model.id_at(app.queue.cursor) != long_id:
            await pilot.press("j")
            await settle(pilot)
        detail = app.query_one(DetailPane)
        await pilot.press("J", "J")
        await pilot.pause()
        place = detail.scroll_y
        assert place > 0
        # Another desk notes on this very mention: the pane shows the note, the reader stays.
        async with await Store.open(app.settings.db, clock=lambda: FROZEN) as store:
            await store.decide(long_id, actor="sam", action="note", params={"text": "on it"})
        await until(pilot, lambda: "on it" in _detail_text(app))
        assert detail.scroll_y == place
        await pilot.press("K")
        await pilot.pause()
        assert 0 < detail.scroll_y < place
        await pilot.press("j" if app.model.ids[0] == long_id else "k")  # the other mention
        await until(pilot, lambda: "Paragraph 1:" not in _detail_text(app))
        assert detail.scroll_y == 0


async def test_arrivals_grow_the_queue_to_its_new_end(tmp_path: Path, engine: Engine) -> None:
    """Arrivals resize the list without laying out the screen: the scrollbar and the scroll
    limits still follow, so `G` reaches and shows the last of them."""
    everything = demo_mentions(70)
    app = await desk(tmp_path, engine, mentions=everything[:40])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        queue = app.query_one(QueueList)
        assert len(app.model) == 40 and queue.virtual_size.height == 40
        await arrive(pilot, app, engine, everything[40:])
        assert len(app.model) == 70
        assert queue.virtual_size.height == 70
        assert queue.vertical_scrollbar.window_virtual_size == 70
        await pilot.press("G")
        await pilot.pause()
        assert queue.cursor == 69
        assert queue.scroll_y == queue.max_scroll_y > 0
        assert queue.scroll_y <= 69 < queue.scroll_y + queue.scrollable_content_region.height


def _first_in_the_inbox(engine: Engine, mentions: list[Mention], count: int) -> list[Mention]:
    """`count` urgent mentions received a day early: they sort first in the Inbox."""
    urgent = [
        m.model_copy(update={"received_at": FROZEN - timedelta(days=1)})
        for m in mentions
        if engine.suggest(m)[0].priority == "urgent"
    ][:count]
    assert len(urgent) == count
    return urgent


async def test_arrivals_above_the_screen_leave_the_cursor_and_say_how_many(
    tmp_path: Path, engine: Engine
) -> None:
    everything = demo_mentions(120)
    app = await desk(tmp_path, engine, mentions=everything[:40])
    urgent = _first_in_the_inbox(engine, everything[40:], 5)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        queue = app.query_one(QueueList)
        await pilot.press("G")
        await settle(pilot)
        assert queue.scroll_y > 0
        on = app.model.id_at(queue.cursor)
        await arrive(pilot, app, engine, urgent)
        assert len(app.model) == 45
        await settle(pilot)
        assert app.model.id_at(queue.cursor) == on
        assert queue.new_above == 5
        assert "↑ 5 new" in str(app.query_one("#status").render())


async def test_arrivals_at_the_top_of_an_unscrolled_list_are_simply_shown(
    tmp_path: Path, engine: Engine
) -> None:
    everything = demo_mentions(60)
    app = await desk(tmp_path, engine, mentions=everything[:40])
    urgent = _first_in_the_inbox(engine, everything[40:], 3)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        queue = app.query_one(QueueList)
        assert queue.scroll_y == 0
        new_ids = await arrive(pilot, app, engine, urgent)
        assert len(app.model) == 43
        await settle(pilot)
        assert app.model.ids[:3] == new_ids  # on screen, at the top
        assert queue.new_above == 0
        assert "new" not in str(app.query_one("#status").render())


async def test_a_slow_reload_never_hides_what_a_later_one_showed(
    tmp_path: Path, engine: Engine
) -> None:
    """Reloads overlap (the view's first load finishing in the background, arrivals, pull
    next): the one that started last wins, or the newest mentions vanish from the view until
    the next write, which at the end of a burst may never come."""
    everything = demo_mentions(17)
    app = await desk(tmp_path, engine, mentions=everything[:12])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        read = app.store.queue_ids
        stale = await read(*app._queries())

        async def slow(*args: object, **kwargs: object) -> list[int]:
            await asyncio.sleep(0.3)
            return stale

        app.store.queue_ids = slow  # type: ignore[method-assign]
        first = asyncio.create_task(app.reload())
        await asyncio.sleep(0.05)
        await seed(app.loaded, engine, everything[12:])
        app.store.queue_ids = read  # type: ignore[method-assign]
        await app.reload()
        assert len(app.model) == 17
        await first
        assert len(app.model) == 17


async def test_the_view_catches_up_with_every_write_even_if_a_signal_is_lost(
    tmp_path: Path, engine: Engine
) -> None:
    """The desk compares the database's data_version with the one its list was read at, so
    a write whose 'reload me' got lost in a race still reaches the screen."""
    everything = demo_mentions(17)
    app = await desk(tmp_path, engine, mentions=everything[:12])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)

        async def lost(ids: list[int]) -> None:  # the usual signal, dropped
            return None

        app._drop_decided = lost  # type: ignore[method-assign]
        await arrive(pilot, app, engine, everything[12:])
        assert len(app.model) == 17


async def test_the_tab_counts_keep_up_with_a_steady_stream_of_arrivals(
    tmp_path: Path, engine: Engine
) -> None:
    """Every arrival asks for a recount. One asked while a count runs joins the next, so
    counts slower than the gap between arrivals (a huge database) still reach the tabs;
    cancelling the running count instead kept the old numbers for as long as arrivals came."""
    everything = demo_mentions(40)
    app = await desk(tmp_path, engine, mentions=everything[:10])
    async with app.run_test(size=(160, 30)) as pilot:
        await until(pilot, lambda: " 1 Inbox 10 " in str(app.status_bar.render()))
        count = app.store.count

        async def slow_count(query: Query) -> int:
            await asyncio.sleep(0.1)  # nine a recount: longer than between two polls
            return await count(query)

        app.store.count = slow_count  # type: ignore[method-assign]
        shown: set[str] = set()
        async with await Store.open(app.settings.db, clock=lambda: FROZEN) as store:
            for n in range(10, 40):
                await ingest(store, engine, everything[n : n + 1])
                await pilot.pause(0.15)
                shown.add(str(app.status_bar.render()).split(" 2 ")[0])
        assert len(shown) > 1, f"the tabs stood still while mentions arrived: {shown}"


async def test_each_decision_is_acknowledged_in_the_status_bar_in_place_of_the_last(
    tmp_path: Path, engine: Engine
) -> None:
    """A toast for each decision piled up over the queue at a responder's pace; the status
    bar says the latest one instead, then lets it go."""
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a", "a")
        await until(pilot, lambda: len(_decisions(app)) == 2)
        await until(pilot, lambda: "✓ #2 " in str(app.status_bar.render()))
        assert "#1" not in str(app.status_bar.render())
        assert not [n for n in app._notifications if "#" in n.message]
        await until(pilot, lambda: "✓" not in str(app.status_bar.render()), ROUTINE + 2)


async def test_a_decision_takes_its_mention_off_the_tab_count_at_once(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Inbox tab went from 12 to 11 only at the next recount (up to 2 s later, here
    never): the responder's own decision now counts at once."""
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: " 1 Inbox 12 " in str(app.status_bar.render()))
        monkeypatch.setattr("tui.app.COUNT_EVERY", 3600.0)  # no recount from here on
        await modal(pilot, "x")
        await pilot.press("1")
        await until(pilot, lambda: " 1 Inbox 11 " in str(app.status_bar.render()))
        await pilot.press("a")
        await until(pilot, lambda: " 1 Inbox 10 " in str(app.status_bar.render()))
        assert len(_decisions(app)) == 2


async def test_a_narrow_status_bar_drops_the_outcome_of_an_acknowledgement_not_half_a_word(
    tmp_path: Path, engine: Engine
) -> None:
    """At 84 columns "#1 dismiss spam — overridden" does not fit beside the tabs and the
    source: the bar says "#1 dismiss spam", not "#1 dismiss spam —"; and of the demo notice
    after it, "DEMO", not "DEMO:"."""
    app = await desk(tmp_path, engine)
    app.loaded = replace(app.loaded, demo=True)
    async with app.run_test(size=(84, 24)) as pilot:
        await settle(pilot)
        await modal(pilot, "x")
        await pilot.press("1")
        await until(pilot, lambda: "✓ #1 " in str(app.status_bar.render()))
        visible = app.status_bar.render_line(0).text  # as drawn: cut, and wrapped at words
        assert visible.rstrip().endswith("✓ #1 dismiss spam  DEMO"), visible


async def test_a_typed_ahead_digit_waits_for_the_picker_only_if_it_can_pick(
    tmp_path: Path, engine: Engine
) -> None:
    """After a key that may close a dialog, the next typed-ahead key waits up to a second
    to see whether it did. A digit past the end of the list never picks: no wait for it."""
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await modal(pilot, "s")  # snooze: 30m, 1h, 4h, 1d, 3d
        picker = app.screen
        assert isinstance(picker, PickScreen)
        assert [picker.may_close(k) for k in "1567"] == [True, True, False, False]
        await pilot.press("h")  # narrows the list to 1h and 4h
        await until(pilot, lambda: len(picker.query_one(OptionList).options) == 2)
        assert [picker.may_close(k) for k in "123"] == [True, True, False]
        assert picker.may_close("enter") and picker.may_close("escape")
        assert not picker.may_close("x")


async def test_keys_typed_ahead_of_a_dialog_go_to_it_and_then_to_the_next_mention(
    tmp_path: Path, engine: Engine
) -> None:
    """`x1x2` typed faster than the dialogs open: the first mention dismissed as spam, the
    second as off-topic. Before, the digits reached the queue (view switches) and the second
    `x` cancelled the first dismissal half logged."""
    app = await desk(tmp_path, engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        first, second = app.model.ids[0], app.model.ids[1]
        for key in "x1x2":  # all in the queue before the first dialog is up
            app.post_message(events.Key(key, key))
        await until(pilot, lambda: len(_decisions(app)) == 2)
        await settle(pilot)
        logged = {row[0]: json.loads(str(row[7]))["reason"] for row in _decisions(app)}
        assert logged == {first: "spam", second: "off-topic"}
        assert app.current_view == 0 and not app.screen.is_modal
        third = app.model.ids[0]
        for key, char in (("x", "x"), ("d", "d"), ("u", "u"), ("p", "p"), ("enter", None)):
            app.post_message(events.Key(key, char))  # typed to narrow the list, then picked
        await until(pilot, lambda: len(_decisions(app)) == 3)
        assert (_decisions(app)[2][0], json.loads(str(_decisions(app)[2][7]))) == (
            third,
            {"reason": "duplicate"},
        )
