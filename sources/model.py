"""The normalised mention every source produces (DESIGN §3, reference §10).

Pydantic models rather than dataclasses: the JSONL source validates untrusted lines with
them and gets located field errors for free, and `triage export` writes `model_dump_json`,
so export and import share one definition of the shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

ItemKind = Literal[
    "post",
    "reply",
    "comment",
    "story",
    "article",
    "issue",
    "discussion",
    "question",
    "answer",
    "notification",
]


def utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Author(_Frozen):
    id: str | None = None
    handle: str = "unknown"
    display_name: str | None = None
    url: str | None = None
    followers: int | None = Field(default=None, ge=0)
    is_bot: bool | None = None


class Engagement(_Frozen):
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    score: int | None = None


class Mention(_Frozen):
    """One post, comment or article that mentions what the organisation listens for.

    `source` is the network (mastodon, bluesky, ...); `source_name` is the configured source
    instance that delivered it. Identity is (source_name, native_id).
    """

    source: str
    source_name: str
    native_id: str = Field(min_length=1)
    kind: ItemKind = "post"
    url: str | None = None
    created_at: AwareDatetime
    received_at: AwareDatetime | None = None
    edited_at: AwareDatetime | None = None
    author: Author = Field(default_factory=Author)
    text: str = ""
    title: str | None = None
    language: str | None = None
    content_warning: str | None = None
    in_reply_to_id: str | None = None
    thread_id: str | None = None
    hashtags: tuple[str, ...] = ()
    mentioned_handles: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    engagement: Engagement = Field(default_factory=Engagement)
    deleted: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at", "received_at", "edited_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)

    @property
    def uid(self) -> str:
        return f"{self.source_name}:{self.native_id}"


class Upsert(_Frozen):
    """A new or edited mention. `cursor` is the source position just after it."""

    op: Literal["upsert"] = "upsert"
    mention: Mention
    cursor: str | None = None


class Delete(_Frozen):
    """The network removed a mention; the queue marks it deleted, the record stays."""

    op: Literal["delete"] = "delete"
    source_name: str
    native_id: str
    cursor: str | None = None


MentionEvent = Upsert | Delete
