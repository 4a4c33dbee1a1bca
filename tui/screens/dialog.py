"""What the desk needs to know of a dialog to give it the keys typed ahead of it."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen


def bound_to(screen: Screen[Any], key: str, actions: set[str]) -> bool:
    """Whether `key` runs one of `actions` on `screen`, as the keys are mapped now."""
    active = screen.active_bindings.get(key)
    return active is not None and active.binding.action in actions
