"""Every desk action through Pilot, checked in the database; views, filter, bulk, claims."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from playbooks import Engine
from tests.conftest import FROZEN
from tests.desk import desk, modal
from tui.app import FILTER_DEBOUNCE, DeskApp
from tui.widgets.queue import QueueList


def decisions(app: DeskApp) -> list[tuple[int, str, str | None, dict[str, object]]]:
    with sqlite3.connect(app.settings.db) as db:
        rows = db.execute("SELECT mention_id, action, outcome, params FROM decisions ORDER BY id")
        return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


def mention(app: DeskApp, mention_id: int, column: str) -> object:
    with sqlite3.connect(app.settings.db) as db:
        return db.execute(f"SELECT {column} FROM mentions WHERE id = ?", (mention_id,)).fetchone()[
            0
        ]


def top(app: DeskApp, mention_id: int) -> tuple[str, dict[str, object]]:
    with sqlite3.connect(app.settings.db) as db:
        action, params = db.execute(
            "SELECT action, params FROM suggestions WHERE mention_id = ? AND rank = 0",
            (mention_id,),
        ).fetchone()
    return action, json.loads(params)


def current(app: DeskApp) -> int:
    mention_id = app.model.id_at(app.query_one(QueueList).cursor)
    assert mention_id is not None
    return mention_id


async def test_reply_edits_the_template_and_logs_the_text(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=12)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        # find a mention whose top suggestion is a reply
        while top(app, current(app))[0] != "reply":
            await pilot.press("j")
        target = current(app)
        await modal(pilot, "r")
        await pilot.pause(1.3)  # the desk's timers fire while the editor is open
        assert app.is_running
        await pilot.press("end", "space", "P", "S", "ctrl+s")
        await pilot.pause()
        [(mention_id, action, outcome, params)] = decisions(app)
        suggested = top(app, target)[1]["reply"]
        assert (mention_id, action, outcome) == (target, "reply", "edited")
        assert params["reply"] == f"{suggested} PS"
        assert mention(app, target, "status") == "done"


async def test_escalate_keeps_the_suggested_team_as_accepted(
    tmp_path: Path, engine: Engine
) -> None:
    app = await desk(tmp_path, engine, count=12)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        target = current(app)
        assert top(app, target)[0] == "escalate"
        await modal(pilot, "e")
        await pilot.press("enter")  # the suggested team is preselected
        await pilot.pause()
        [(_, action, outcome, params)] = decisions(app)
        assert (action, outcome, params["team"]) == ("escalate", "accepted", "sre-oncall")
        assert mention(app, target, "status") == "escalated"


async def test_escalate_to_a_typed_team_is_edited(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=12)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await modal(pilot, "e")
        await pilot.press(*"legal", "enter")
        await pilot.pause()
        [(_, _, outcome, params)] = decisions(app)
        assert (outcome, params["team"]) == ("edited", "legal")


async def test_tag_snooze_assign_note_each_log_one_decision(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=12)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        first = current(app)
        await modal(pilot, "N")
        await pilot.press(*"called them", "ctrl+s")  # a note keeps it in the queue
        await pilot.pause()
        assert current(app) == first
        await modal(pilot, "t")
        await pilot.press(*"vip, press", "enter")
        await pilot.pause()
        second = current(app)
        await modal(pilot, "s")
        await pilot.press("2")  # 1h
        await pilot.pause()
        third = current(app)
        await modal(pilot, "A")
        await pilot.press(*"sam", "enter")
        await pilot.pause()
        rows = decisions(app)
        assert [(r[0], r[1]) for r in rows] == [
            (first, "note"),
            (first, "tag"),
            (second, "snooze"),
            (third, "assign"),
        ]
        assert rows[0][3] == {"text": "called them"} and rows[0][2] is None
        assert set(json.loads(str(mention(app, first, "tags")))) >= {"vip", "press"}
        assert mention(app, second, "status") == "snoozed"
        assert mention(app, second, "snoozed_until") == "2026-11-26T10:30:00.000000Z"
        assert mention(app, third, "assignee") == "sam"


async def test_bulk_select_then_one_action_logs_one_entry_per_mention(
    tmp_path: Path, engine: Engine
) -> None:
    app = await desk(tmp_path, engine, count=12)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        chosen = list(app.model.ids[:3])
        await pilot.press("space", "space", "space")  # select three, moving down
        assert app.selected == set(chosen)
        await modal(pilot, "x")
        await pilot.press("1")  # dismiss as spam
        await pilot.pause()
        rows = decisions(app)
        assert sorted(r[0] for r in rows) == sorted(chosen)
        assert all(r[1] == "dismiss" and r[3]["reason"] == "spam" for r in rows)
        assert app.selected == set()


async def test_select_all_in_view_then_accept(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=6)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("asterisk", "a")
        await pilot.pause()
        rows = decisions(app)
        assert len(rows) == 6 and {r[2] for r in rows} == {"accepted"}
        assert len(app.model) == 0


async def test_filter_narrows_live_and_shows_errors_inline(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=30)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        everything = len(app.model)
        await pilot.press("slash", *"priority:urgent")
        await pilot.pause(FILTER_DEBOUNCE + 0.1)  # applied once typing pauses
        urgent = len(app.model)
        assert 0 < urgent < everything
        field = app.query_one("#filter", Input)
        assert field.border_subtitle == f"{urgent} found"
        field.value = "priority:urgent bogus:1"  # as if pasted
        await pilot.pause(FILTER_DEBOUNCE + 0.1)
        assert field.has_class("-error")
        assert str(field.border_subtitle).startswith("unknown field 'bogus'")
        assert len(app.model) == urgent  # the last good filter stays
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.model) == everything


async def test_pull_next_claims_the_most_urgent_unclaimed(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=12)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("G", "n")  # from the bottom, n goes to the most urgent
        await pilot.pause()
        pulled = current(app)
        assert pulled == app.model.ids[0]
        with sqlite3.connect(app.settings.db) as db:
            assert db.execute("SELECT mention_id, actor FROM claims").fetchall() == [
                (pulled, "pat")
            ]
        await pilot.press("n")  # the next pull skips the claimed one
        await pilot.pause()
        assert current(app) == app.model.ids[1]


async def test_pull_next_respects_the_filter(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=30)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"priority:low")
        await pilot.pause(FILTER_DEBOUNCE + 0.1)
        await pilot.press("enter")
        await pilot.pause()
        shown = set(app.model.ids)
        await pilot.press("n")
        await pilot.pause()
        with sqlite3.connect(app.settings.db) as db:
            ((claimed, priority),) = db.execute(
                "SELECT c.mention_id, m.priority FROM claims c"
                " JOIN mentions m ON m.id = c.mention_id"
            ).fetchall()
        assert priority == "low" and claimed in shown


async def test_open_link_uses_the_browser(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    app = await desk(tmp_path, engine, count=3)
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        assert opened == [mention(app, current(app), "url")]


async def test_palette_offers_every_action(tmp_path: Path, engine: Engine) -> None:
    app = await desk(tmp_path, engine, count=3)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for title in (
            "Accept",
            "Reply",
            "Escalate",
            "Tag",
            "Dismiss",
            "Snooze",
            "Assign",
            "Note",
            "Claim",
            "Next",
            "Undo",
            "Select",
            "Select all",
            "Filter",
            "Open link",
        ):
            assert title in titles


async def test_snoozed_mention_returns_when_due(tmp_path: Path, engine: Engine) -> None:
    now = [FROZEN]
    app = await desk(tmp_path, engine, count=4)
    app.clock = lambda: now[0]
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        target = current(app)
        await modal(pilot, "s")
        await pilot.press("1")  # 30m
        await pilot.pause()
        assert target not in app.model.ids
        from datetime import timedelta

        now[0] = FROZEN + timedelta(minutes=31)
        app.store.clock = app.clock
        await app._heartbeat()
        await app.reload()
        assert target in app.model.ids
        assert mention(app, target, "status") == "new"


async def test_fast_typing_in_the_filter_loses_no_characters(
    tmp_path: Path, engine: Engine
) -> None:
    app = await desk(tmp_path, engine, count=30)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        for char in "tag:security sort:oldest":  # no pause between keys
            app.filter_input.post_message(events.Key(char if char != " " else "space", char))
        await pilot.pause(FILTER_DEBOUNCE + 0.3)
        assert app.filter_input.value == "tag:security sort:oldest"
        assert app.filter_text == "tag:security sort:oldest"
        with sqlite3.connect(app.settings.db) as db:
            expected = db.execute(
                "SELECT count(*) FROM mentions m WHERE status = 'new' AND EXISTS ("
                "SELECT 1 FROM json_each(m.tags) WHERE value = 'security')"
            ).fetchone()[0]
        assert len(app.model) == expected > 0
