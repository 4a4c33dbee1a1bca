"""A moving "newer than" window for search APIs that filter by time (HN, Bluesky search).

Each poll re-reads a margin before the newest item seen, because indexes publish late; the
keys inside that margin travel in the cursor, so neither this process nor a restarted one
delivers an item twice.
"""

from __future__ import annotations

import hashlib
from typing import Any


class Window:
    def __init__(self, state: dict[str, Any], name: str, margin: float) -> None:
        self.state = state
        self.name = name
        self.margin = margin
        saved = state.get(name)
        saved = saved if isinstance(saved, dict) else {}
        newest = saved.get("newest")
        self.newest: float | None = float(newest) if isinstance(newest, int | float) else None
        recent = saved.get("recent")
        self.recent: dict[str, float] = dict(recent) if isinstance(recent, dict) else {}

    @property
    def since(self) -> float | None:
        """Ask the service for items newer than this (None: just the newest page)."""
        return None if self.newest is None else self.newest - self.margin

    def passed(self, stamp: float) -> None:
        """The stream went past `stamp` without anything to deliver: resume after it."""
        if self.newest is None or stamp > self.newest:
            self.newest = stamp
            self._save()

    def take(self, key: str, stamp: float) -> bool:
        """True when `key` is new; record it and move the window (the state is updated, so
        the cursor of the event about to be yielded includes it)."""
        if key in self.recent or (self.newest is not None and stamp < self.newest - self.margin):
            return False
        self.newest = stamp if self.newest is None else max(self.newest, stamp)
        floor = self.newest - self.margin
        self.recent = {k: t for k, t in self.recent.items() if t >= floor}
        self.recent[key] = stamp
        self._save()
        return True

    def _save(self) -> None:
        self.state[self.name] = {"newest": self.newest, "recent": self.recent}


class Delivered:
    """The last `size` keys delivered, kept in the cursor, for feeds that repeat what they
    sent before (RSS, Reddit's newest-first listings): a restart does not deliver them again.
    Keys are stored as short hashes so the cursor stays small."""

    def __init__(self, state: dict[str, Any], name: str = "delivered", size: int = 500) -> None:
        self.state = state
        self.name = name
        self.size = size
        saved = state.get(name)
        self.keys: list[str] = [str(k) for k in saved] if isinstance(saved, list) else []
        self._known = set(self.keys)

    def __contains__(self, key: str) -> bool:
        return _short(key) in self._known

    def add(self, key: str) -> None:
        short = _short(key)
        self._known.add(short)
        self.keys = [*self.keys[-(self.size - 1) :], short]
        self.state[self.name] = self.keys


def _short(key: str) -> str:
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
