"""Screens as SVG snapshots: frozen clock, seeded demo data, fixed terminal sizes.

Review `snapshot_report.html` before accepting changes with `pytest --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from playbooks import Engine
from sources.model import Author
from tests.conftest import demo_mentions
from tests.desk import desk_sync, modal

HOSTILE = "[@click=app.quit]boom[/] \x1b]52;c;aGk=\x07 [/oops] \u202eevil\u202c"


def test_busy_desk(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert snap_compare(desk_sync(tmp_path, engine, count=40), terminal_size=(140, 32))


def test_narrow_terminal(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert snap_compare(desk_sync(tmp_path, engine, count=30), terminal_size=(80, 24))


def test_empty_queue(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    assert snap_compare(desk_sync(tmp_path, engine, mentions=[]), terminal_size=(100, 20))


def test_hostile_mention_detail(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    [base] = demo_mentions(1)
    evil = base.model_copy(
        update={
            "text": HOSTILE,
            "title": None,
            "author": Author(handle="[b]x[/b]", display_name="[@click=app.quit]name", followers=12),
        }
    )
    assert snap_compare(desk_sync(tmp_path, engine, mentions=[evil]), terminal_size=(120, 24))


def test_after_accept_and_dismiss(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    async def work(pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await modal(pilot, "x")
        await pilot.press("1", "j")
        await pilot.pause()

    app = desk_sync(tmp_path, engine, count=20)
    assert snap_compare(app, run_before=work, terminal_size=(120, 28))


def test_help_screen(snap_compare: Any, tmp_path: Path, engine: Engine) -> None:
    app = desk_sync(tmp_path, engine, count=5)
    assert snap_compare(app, press=["question_mark"], terminal_size=(100, 36))
