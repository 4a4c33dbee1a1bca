"""Helpers for driving a source directly in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sources.contract import Source
from sources.model import MentionEvent


async def drain(source: Source[Any], cursor: str | None) -> tuple[list[MentionEvent], str | None]:
    """One `--once` round: every event, and the cursor after the last one."""
    events = [e async for e in source.events(cursor, once=True)]
    for event in events:
        if event.cursor is not None:
            cursor = event.cursor
    return events, cursor


async def eventually(condition: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait until `condition` holds: it reads state another thread (the stand-in server)
    changes, so there is no event to await."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
