"""What a responder's key means for one mention, as an Intent for the ledger. Headless.

When a decision takes the top suggestion's action it starts from the suggestion's parameters,
so keeping the suggested value logs `accepted`, changing it `edited`, another action
`overridden` (the ledger derives the outcome by comparing the two).
"""

from __future__ import annotations

from tui.ledger import Intent
from tui.records import Detail, SuggestionRecord


def accept(detail: Detail, seen_status: str) -> Intent | None:
    """Take the top suggestion as it is; None when there is none."""
    top = detail.top
    if top is None:
        return None
    return Intent(detail.id, top.action, top.params, top.id, seen_status)


def answer(detail: Detail, action: str, key: str, value: object, seen_status: str) -> Intent:
    """`action` with `key` set to `value` (a team, reason, tags, reply text...)."""
    top = detail.top
    base = dict(top.params) if top is not None and top.action == action else {}
    return Intent(detail.id, action, {**base, key: value}, top.id if top else None, seen_status)


def suggested_value(suggestion: SuggestionRecord | None, action: str, key: str) -> str | None:
    """The value the top suggestion proposes for `key`, if it proposes `action`, as text."""
    if suggestion is None or suggestion.action != action:
        return None
    value = suggestion.params.get(key)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return None if value is None else str(value)
