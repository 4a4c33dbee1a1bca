"""Plain records the store returns; no SQLite and no Textual types leak past the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sources.model import Mention

STATUSES = ("new", "escalated", "snoozed", "done", "dismissed")

# Where an action leaves a mention. An undo restores the reversed decision's status_before.
STATUS_AFTER: dict[str, str] = {
    "reply": "done",
    "escalate": "escalated",
    "tag": "done",
    "dismiss": "dismissed",
    "route": "new",
    "assign": "new",
    "snooze": "snoozed",
}


@dataclass(frozen=True)
class QueueRow:
    """What one line of the queue shows."""

    id: int
    priority: str
    sla_due_at: datetime | None
    source: str
    author: str
    summary: str  # title or first line of text, sanitised
    action: str | None  # top suggestion's action, e.g. "escalate sre-oncall"
    claimed_by: str | None
    status: str
    deleted: bool


@dataclass(frozen=True)
class SuggestionRecord:
    id: int
    rank: int
    playbook_id: str
    playbook_version: str
    rule_id: str
    action: str
    params: dict[str, Any]
    priority: str
    sla_due_at: datetime | None
    why: str
    score: int | None  # None for suggestions stored before scores existed

    def label(self) -> str:
        return describe(self.action, self.params)


@dataclass(frozen=True)
class DecisionRecord:
    id: int
    mention_id: int
    actor: str
    action: str
    params: dict[str, Any]
    suggestion_id: int | None
    outcome: str | None
    reverses_id: int | None
    view: str | None
    shown_at: datetime | None
    decided_at: datetime
    status_before: str
    status_after: str


@dataclass(frozen=True)
class Entry:
    id: int
    decision_id: int
    mention_id: int
    kind: str
    target: str
    channel: str
    payload: dict[str, Any]
    key: str
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    retracts_id: int | None

    def describe(self, now: datetime) -> str:
        """'sent 12s after the decision', 'failed, retrying in 30s: server error 503'."""
        if self.state == "sent" and self.sent_at is not None:
            took = (self.sent_at - self.created_at).total_seconds()
            return f"sent {took:.1f}s after the decision"
        if self.state == "pending" and self.last_error:
            wait = max(0, int((self.next_attempt_at - now).total_seconds()))
            return f"failed, retrying in {wait}s (attempt {self.attempts}): {self.last_error}"
        if self.state == "pending":
            return "sending" if self.attempts else "queued"
        if self.state == "dry_run":
            return "dry run: recorded, not sent"
        return f"{self.state}{f': {self.last_error}' if self.last_error else ''}"


@dataclass(frozen=True)
class Detail:
    """Everything the detail pane shows for one mention."""

    id: int
    mention: Mention
    status: str
    priority: str
    sla_due_at: datetime | None
    suggestions: list[SuggestionRecord] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    claimed_by: str | None = None
    parent: Mention | None = None  # the mention it replies to, when stored
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    effects: list[Entry] = field(default_factory=list)  # what its decisions sent out

    @property
    def top(self) -> SuggestionRecord | None:
        """The suggestion `a` accepts."""
        return self.suggestions[0] if self.suggestions else None


def describe(action: str, params: dict[str, Any]) -> str:
    """An action in a few words: 'escalate sre-oncall', 'dismiss spam', 'tag needs-review'."""
    target = params.get("team") or params.get("reason")
    if target is None and action == "tag":
        target = ", ".join(params.get("tags", []))
    return f"{action} {target}".strip() if target else action


def outcome_of(suggestion: SuggestionRecord | None, action: str, params: dict[str, Any]) -> str:
    """How a decision answered the suggestion it was made against."""
    if suggestion is None:
        return "none_offered"
    if suggestion.action != action:
        return "overridden"
    return "accepted" if suggestion.params == params else "edited"
