"""Map a Mention to a `mentions` row and back; the one place that knows both shapes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from sources.model import Author, Engagement, Mention
from tui.jsontext import dumps, json_text
from tui.timefmt import iso, opt_iso, opt_parse, parse

COLUMNS = (
    "source",
    "source_name",
    "native_id",
    "kind",
    "url",
    "published_at",
    "received_at",
    "edited_at",
    "deleted",
    "author_id",
    "author_handle",
    "author_name",
    "author_url",
    "author_followers",
    "author_bot",
    "text",
    "title",
    "language",
    "content_warning",
    "in_reply_to_id",
    "thread_id",
    "hashtags",
    "mentioned_handles",
    "links",
    "engagement",
    "raw",
)
# What an edit may change (identity, times of first sight and the raw record of first sight stay).
EDITABLE = (
    "url",
    "edited_at",
    "deleted",
    "author_name",
    "author_followers",
    "text",
    "title",
    "language",
    "content_warning",
    "hashtags",
    "mentioned_handles",
    "links",
    "engagement",
)


class RowLike(Protocol):
    """sqlite3.Row, aiosqlite.Row or a dict: anything indexable by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def to_values(mention: Mention, received_at: datetime) -> tuple[Any, ...]:
    """The row's values in COLUMNS order: what ingest binds (positional binding of a tuple
    costs SQLite less than looking up 26 names in a dict)."""
    author = mention.author
    return (
        mention.source,
        mention.source_name,
        mention.native_id,
        mention.kind,
        mention.url,
        iso(mention.created_at),
        iso(mention.received_at or received_at),
        opt_iso(mention.edited_at),
        int(mention.deleted),
        author.id,
        author.handle,
        author.display_name,
        author.url,
        author.followers,
        None if author.is_bot is None else int(author.is_bot),
        mention.text,
        mention.title,
        mention.language,
        mention.content_warning,
        mention.in_reply_to_id,
        mention.thread_id,
        dumps(mention.hashtags),  # a tuple is a JSON array to both encoders
        dumps(mention.mentioned_handles),
        dumps(mention.links),
        dumps(_present(mention.engagement)),
        json_text(mention.raw),
    )


def _present(engagement: Engagement) -> dict[str, int]:
    """The counts the network gave (model_dump(exclude_none=True), at a fifth of the cost)."""
    return {k: v for k, v in engagement.__dict__.items() if v is not None}


def to_row(mention: Mention, received_at: datetime) -> dict[str, Any]:
    return dict(zip(COLUMNS, to_values(mention, received_at), strict=True))


def from_row(row: RowLike) -> Mention:
    bot = row["author_bot"]
    return Mention(
        source=row["source"],
        source_name=row["source_name"],
        native_id=row["native_id"],
        kind=row["kind"],
        url=row["url"],
        created_at=parse(row["published_at"]),
        received_at=parse(row["received_at"]),
        edited_at=opt_parse(row["edited_at"]),
        deleted=bool(row["deleted"]),
        author=Author(
            id=row["author_id"],
            handle=row["author_handle"],
            display_name=row["author_name"],
            url=row["author_url"],
            followers=row["author_followers"],
            is_bot=None if bot is None else bool(bot),
        ),
        text=row["text"],
        title=row["title"],
        language=row["language"],
        content_warning=row["content_warning"],
        in_reply_to_id=row["in_reply_to_id"],
        thread_id=row["thread_id"],
        hashtags=tuple(json.loads(row["hashtags"])),
        mentioned_handles=tuple(json.loads(row["mentioned_handles"])),
        links=tuple(json.loads(row["links"])),
        engagement=Engagement(**json.loads(row["engagement"])),
        raw=json.loads(row["raw"]),
    )
