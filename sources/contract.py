"""The source contract: what every connector, built-in or third-party, provides.

A source is configured by its own pydantic model (a subclass of `SourceConfig`), is an async
iterator of `MentionEvent`s resuming from an opaque cursor, and keeps a `Health` that the desk
shows. Nothing here knows about SQLite or the UI: the ingest runner persists cursors and health.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from sources.model import MentionEvent


class SourceConfig(BaseModel):
    """Keys every `[[sources]]` table has; each source type adds its own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Shown in the desk and stored on each mention.")
    type: str = Field(description="The registered source type, e.g. 'demo', 'jsonl'.")
    poll_interval: float = Field(default=60.0, gt=0, description="Seconds between polls.")
    enabled: bool = True
    dry_run: bool = Field(
        default=False, description="Replies through this source are recorded, never posted."
    )


class HealthState(StrEnum):
    STARTING = "starting"
    OK = "ok"
    IDLE = "idle"  # caught up, nothing more to read (a finished file, a one-shot run)
    BACKING_OFF = "backing off"
    RATE_LIMITED = "rate limited"
    AUTH_FAILED = "auth failed"
    DISABLED = "endpoint disabled"
    BLOCKED = "blocked"
    ERROR = "error"
    STANDBY = "standby"  # another process sharing the database fetches this source


# States no one needs to look at: the status bar folds them into a count, a server's log
# does not call them trouble. (StrEnum: a state's text is found in it too.)
FINE = frozenset({HealthState.OK, HealthState.IDLE, HealthState.STARTING, HealthState.STANDBY})

KEPT_ERRORS = 20  # the located errors a source keeps: its health screen, `triage ingest`


@dataclass
class Health:
    """What a responder needs to know about a source, in words."""

    state: HealthState = HealthState.STARTING
    last_success: datetime | None = None
    last_error: str | None = None
    retry_at: datetime | None = None
    received: int = 0
    malformed: int = 0
    errors: list[str] = field(default_factory=list)  # the last KEPT_ERRORS, newest last
    error_count: int = 0  # every error recorded: how many of `errors` are new to a reader

    def record_error(self, message: str) -> None:
        self.last_error = message
        self.errors = [*self.errors[-(KEPT_ERRORS - 1) :], message]
        self.error_count += 1

    def record_malformed(self, message: str) -> None:
        self.malformed += 1
        self.record_error(message)


C = TypeVar("C", bound=SourceConfig)


class Source(abc.ABC, Generic[C]):
    """Base class for connectors. Subclasses set `config_model` and implement `events`."""

    config_model: ClassVar[type[SourceConfig]]

    def __init__(self, config: C) -> None:
        self.config = config
        self.health = Health()

    @property
    def name(self) -> str:
        return self.config.name

    @abc.abstractmethod
    def events(self, cursor: str | None, *, once: bool = False) -> AsyncIterator[MentionEvent]:
        """Yield events after `cursor` (None: from the start).

        With `once`, deliver what is available now and stop (`triage ingest --once`);
        otherwise run until cancelled. Malformed input is counted in `health` and skipped.
        """


@dataclass(frozen=True)
class ReplyTo:
    """The mention being answered, as stored (the raw payload carries platform refs)."""

    native_id: str
    author_handle: str
    author_id: str | None
    url: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class Posted:
    remote_id: str
    url: str | None = None


class Replies(abc.ABC):
    """Mixed into a source that can post replies on its network (Mastodon, Bluesky)."""

    @abc.abstractmethod
    async def reply(self, to: ReplyTo, text: str, *, key: str, at: datetime, retry: bool) -> Posted:
        """Post `text` as a reply. `key` is the same on every attempt for one reply (an
        idempotency key where the platform has them); `at` is when the reply was decided;
        `retry` says an earlier attempt may have reached the server. Raises on failure."""

    @abc.abstractmethod
    async def retract(self, remote_id: str) -> None:
        """Delete a reply this source posted."""
