"""Queue views: a name and a query (see tui.query). Headless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tui.query import Context


@dataclass(frozen=True)
class View:
    name: str
    query: str  # compiled afresh on every reload: relative terms (age:<1h) move with time


def context(me: str, now: datetime) -> Context:
    """Relative terms (age:<1h, decided:today) are evaluated against `now`, in local time."""
    local = now.astimezone()
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return Context(me=me, now=now, today=today)
