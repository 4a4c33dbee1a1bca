"""RSS and Atom feeds: Google Alerts, Reddit's `search.rss`, blogs, news, release feeds
(reference §5).

HTTP is ours (httpx: one client, deadlines, conditional GET with ETag / Last-Modified, 304
skips the feed); parsing is feedparser's, handed bytes only, never a URL. Google Alerts links
are unwrapped to the article, `<b>` highlights vanish with the rest of the HTML. Feeds repeat
their entries on every fetch, so the cursor carries short hashes of the entries delivered
(bounded), and a restart does not deliver them again. The feed URL never appears in a message:
a Google Alerts URL is a secret capability.
"""

from __future__ import annotations

import asyncio
import calendar
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import feedparser
from pydantic import Field

from sources.contract import HealthState
from sources.htmltext import html_to_text, strip_html
from sources.http import Failure, HttpConfig, HttpSource, HttpUrl
from sources.model import Author, Mention, MentionEvent, Upsert
from sources.sanitize import clean_line
from sources.window import Delivered


class RssConfig(HttpConfig):
    type: Literal["rss"] = "rss"
    url: HttpUrl = Field(description="The feed address (kept secret: never shown or logged).")
    poll_interval: float = Field(default=300.0, gt=0)


class RssSource(HttpSource[RssConfig]):
    config_model = RssConfig
    network = "rss"

    async def poll(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        what = f"feed {self.name}"
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = str(state["etag"])
        if state.get("modified"):
            headers["If-Modified-Since"] = str(state["modified"])
        reply = await self.request(
            "GET", self.config.url, headers=headers, ok=(200, 304), what=what
        )
        if reply.status == 304:
            return
        parsed = await asyncio.to_thread(
            feedparser.parse,
            repaired_utf8(reply.content, reply.headers.get("content-type", "")),
            response_headers=dict(reply.headers),
        )
        if parsed.bozo and not parsed.entries:
            reason = clean_line(str(parsed.get("bozo_exception", "unreadable")), 160)
            raise Failure(HealthState.ERROR, f"{what}: not a readable RSS/Atom feed ({reason})")
        delivered = Delivered(state)
        language = parsed.feed.get("language")
        fresh: list[Mention] = []
        for number, entry in enumerate(parsed.entries):
            try:
                mention = self._mention(entry, language)
            except (KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(f"{what}: entry {number}", exc)
                continue
            if mention.native_id not in delivered and all(
                m.native_id != mention.native_id for m in fresh
            ):
                fresh.append(mention)
        fresh.sort(key=lambda m: m.created_at)
        for index, mention in enumerate(fresh):
            delivered.add(mention.native_id)
            if index == len(fresh) - 1:  # validators only once every entry of this answer is out
                state["etag"] = reply.headers.get("etag")
                state["modified"] = reply.headers.get("last-modified")
            yield Upsert(mention=mention, cursor=self.cursor(state))

    def _mention(self, entry: Any, language: str | None) -> Mention:
        link = unwrap(str(entry.get("link") or ""))
        title = strip_html(str(entry.get("title") or ""))
        body = (
            entry.get("content")[0].get("value") if entry.get("content") else entry.get("summary")
        )
        text, links = html_to_text(str(body or ""))
        native_id = str(entry.get("id") or link or f"{title}|{entry.get('published')}")
        if native_id == "|None":
            raise ValueError("entry has no id, link, title or date")
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        created = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else self.clock()
        domain = urlsplit(link).hostname or self.name
        name = str(entry.get("author") or "").strip()
        return Mention(
            source=self.network,
            source_name=self.name,
            native_id=native_id,
            kind="article",
            url=link or None,
            created_at=created,
            author=Author(handle=domain, display_name=name or None),
            text=text or title,
            title=title or None,
            language=language,
            links=tuple(dict.fromkeys([link, *links]) if link else links),
            raw={
                "id": entry.get("id"),
                "link": entry.get("link"),
                "title": entry.get("title"),
                "summary": entry.get("summary"),
                "published": entry.get("published"),
            },
        )


def unwrap(link: str) -> str:
    """Google Alerts wraps each link in a `google.com/url?...&url=<target>` redirect."""
    parts = urlsplit(link)
    if parts.hostname and parts.hostname.endswith("google.com") and parts.path == "/url":
        query = parse_qs(parts.query)
        for key in ("url", "q"):
            if query.get(key) and query[key][0].startswith(("http://", "https://")):
                return query[key][0]
    return link


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)""")


def repaired_utf8(content: bytes, content_type: str) -> bytes:
    """A UTF-8 feed with a few invalid bytes (one broken entry) stays UTF-8, with U+FFFD in
    their place: handed over as is, feedparser would guess another encoding for the whole
    document and turn every entry into mojibake. Feeds declaring another encoding are left
    alone."""
    declared = _DECLARED.match(content[:300])
    charset = content_type.lower().partition("charset=")[2].strip(" \"'")
    encoding = charset or (declared.group(1).decode("ascii").lower() if declared else "utf-8")
    if encoding.replace("_", "-") not in {"utf-8", "utf8"}:
        return content
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("utf-8", errors="replace").encode("utf-8")
    return content
