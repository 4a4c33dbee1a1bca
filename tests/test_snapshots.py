"""Screens as SVG snapshots: frozen clock, seeded demo data, fixed terminal sizes.

Review `snapshot_report.html` before accepting changes with `pytest --snapshot-update`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from playbooks import Engine
from sources.contract import HealthState
from sources.model import Author
from tests.conftest import FROZEN, demo_mentions
from tests.desk import desk_sync, modal, settle, until
from tui.app import DeskApp

HOSTILE = "[@click=app.quit]boom[/] \x1b]52;c;aGk=\x07 [/oops] \u202eevil\u202c"


def test_busy_desk(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert snap_compare(
        desk_sync(tmp_path, engine, count=40), run_before=settle, terminal_size=(140, 32)
    )


def test_narrow_terminal(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert snap_compare(
        desk_sync(tmp_path, engine, count=30), run_before=settle, terminal_size=(80, 24)
    )


def test_empty_queue(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert snap_compare(
        desk_sync(tmp_path, engine, mentions=[]), run_before=settle, terminal_size=(100, 20)
    )


def test_hostile_mention_detail(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    [base] = demo_mentions(1)
    evil = base.model_copy(
        update={
            "text": HOSTILE,
            "title": None,
            "author": Author(handle="[b]x[/b]", display_name="[@click=app.quit]name", followers=12),
        }
    )
    assert snap_compare(
        desk_sync(tmp_path, engine, mentions=[evil]), run_before=settle, terminal_size=(120, 24)
    )


def test_after_accept_and_dismiss(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    async def work(pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await modal(pilot, "x")
        await pilot.press("1", "j")
        await settle(pilot)  # counts are recounted in the background

    app = desk_sync(tmp_path, engine, count=20)
    assert snap_compare(app, run_before=work, terminal_size=(120, 28))


def test_help_screen(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    async def help_open(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await modal(pilot, "question_mark")

    app = desk_sync(tmp_path, engine, count=5)
    assert snap_compare(app, run_before=help_open, terminal_size=(100, 36))


def test_long_post_detail_scrolls(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    [base] = demo_mentions(1)
    long = base.model_copy(
        update={
            "text": "\n\n".join(
                f"Paragraph {n}: sync has been failing since the update, and the logs say nothing "
                "useful. We restarted, reinstalled and cleared the cache."
                for n in range(1, 30)
            )
        }
    )
    assert snap_compare(
        desk_sync(tmp_path, engine, mentions=[long]), run_before=settle, terminal_size=(120, 30)
    )


def test_health_errors_in_the_status_bar(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    from sources.contract import HealthState

    async def broken(pilot: Pilot[int]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, DeskApp)
        health = app.loaded.sources[0].health
        health.state, health.malformed = HealthState.ERROR, 3
        app.playbook_error = "mine.toml:4: rules.0.then: action 'escalate' needs then.team"
        await app._update_status()
        await pilot.pause()

    app = desk_sync(tmp_path, engine, count=8)
    assert snap_compare(app, run_before=broken, terminal_size=(120, 16))


def test_several_responders(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    import asyncio

    from tui.ledger import Who
    from tui.store import Store

    app = desk_sync(tmp_path, engine, count=10)

    async def others() -> None:
        async with await Store.open(app.settings.db, clock=lambda: FROZEN) as store:
            ids = await store.all_ids()
            await store.claim(ids[0], Who("sam", "sams-desk"))
            await store.claim(ids[2], Who("noor", "noors-desk"))
            await store.decide(ids[1], actor="sam", action="tag", params={"tags": ["x"]})

    asyncio.run(others())
    assert snap_compare(app, run_before=settle, terminal_size=(120, 20))


def _filtered(snap_compare: Any, tmp_path: Path, engine: Engine, text: str) -> bool:
    """The desk with `text` typed into its filter, once the filter has answered."""

    async def typed(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await pilot.press("slash")
        app = pilot.app
        assert isinstance(app, DeskApp)
        app.filter_input.cursor_blink = False  # a blinking cursor is in either state at the shot
        app.filter_input.value = text
        await until(pilot, lambda: bool(app.filter_input.border_subtitle))  # once typing pauses
        await settle(pilot)

    app = desk_sync(tmp_path, engine, count=12)
    return bool(snap_compare(app, run_before=typed, terminal_size=(120, 20)))


def test_filter_with_an_error(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert _filtered(snap_compare, tmp_path, engine, "tag:outage age:soon")


def test_filter_with_what_it_found(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert _filtered(snap_compare, tmp_path, engine, "acme -down")


def test_escalate_picker(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    async def picking(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await modal(pilot, "e")

    app = desk_sync(tmp_path, engine, count=6)
    assert snap_compare(app, run_before=picking, terminal_size=(100, 30))


def test_sources_screen(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    """Health in words, with a server's hostile error text shown as text, repeats folded."""
    app = desk_sync(tmp_path, engine, count=5)
    health = app.loaded.sources[0].health
    health.state = HealthState.RATE_LIMITED
    health.retry_at = FROZEN + timedelta(minutes=4)
    health.last_success = FROZEN - timedelta(minutes=12)
    health.received, health.malformed = 1520, 3
    health.errors = [
        "in.jsonl:7: text: Input should be a valid string",
        f"HN search 'acme': server error 502 ({HOSTILE})",
        "HN search 'acme': rate limited (429)",
        "HN search 'acme': rate limited (429)",
    ]
    health.last_error = health.errors[-1]

    async def sources_open(pilot: Pilot[int]) -> None:
        await settle(pilot)
        await modal(pilot, "h")

    assert snap_compare(app, run_before=sources_open, terminal_size=(100, 24))


def test_replay_screen(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    """A reviewed decision: the step, the suggestion it answered, a note, the timeline."""
    import asyncio

    from tests.conftest import ingest
    from tui.replay import NoteWriter
    from tui.review import Filters
    from tui.review_app import ReviewApp
    from tui.settings import load
    from tui.store import Store

    config = tmp_path / "c.toml"
    config.write_text(
        f'actor = "rita"\ndb = "{tmp_path / "r.db"}"\n[[sources]]\n'
        f'name = "pipe"\ntype = "jsonl"\npath = "{tmp_path / "x.jsonl"}"\n'
    )
    loaded = load(config)

    async def seed() -> Store:
        async with await Store.open(loaded.settings.db, clock=lambda: FROZEN) as store:
            ids = await ingest(store, engine, demo_mentions(8))
            for n, mention in enumerate(ids):
                store.clock = lambda n=n: FROZEN + timedelta(minutes=10 + n)  # type: ignore[misc]
                detail = await store.detail(mention)
                assert detail is not None and detail.top is not None
                action = "dismiss" if n == 2 else detail.top.action
                await store.decide(
                    mention,
                    actor=["ana", "ben"][n % 2],
                    action=action,
                    params={"reason": "off-topic"} if n == 2 else detail.top.params,
                    suggestion_id=detail.top.id,
                    view="Inbox",
                    shown_at=FROZEN,
                )
            notes = await NoteWriter.open(store.path, "rita")
            await notes.add(3, "right call: it was off-topic", FROZEN)
            await notes.close()
        return await Store.open(loaded.settings.db, readonly=True)

    store = asyncio.run(seed())
    app = ReviewApp(loaded, store, Filters(), clock=lambda: FROZEN)

    async def to_the_override(pilot: Pilot[int]) -> None:
        await pilot.pause(0.3)
        await pilot.press("o")
        await pilot.pause(0.3)

    try:
        assert snap_compare(app, run_before=to_the_override, terminal_size=(130, 34))
    finally:
        asyncio.run(store.close())
