"""Hacker News through Algolia's `search_by_date` (reference §4): stories and comments that
match a query, no credentials.

Polls a moving window: `created_at_i > newest seen − margin`, all pages of it (the index
caps a query at ~1000 hits, so deep paging is pointless), delivered oldest first so the
cursor after each mention is a safe place to resume (see `sources.window`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import Field

from sources.htmltext import html_to_text, strip_html
from sources.http import HttpConfig, HttpSource, HttpUrl, parse_time
from sources.model import Author, Engagement, Mention, MentionEvent, Upsert
from sources.window import Window

ITEM_URL = "https://news.ycombinator.com/item?id={}"
USER_URL = "https://news.ycombinator.com/user?id={}"
MARGIN = 120  # seconds re-read on every poll for items indexed late
MAX_PAGES = 10


class HackerNewsConfig(HttpConfig):
    type: Literal["hackernews"] = "hackernews"
    base_url: HttpUrl = Field(
        default="https://hn.algolia.com/api/v1", description="Algolia HN API root."
    )
    query: str = Field(min_length=1, description="Words to search for, e.g. 'acme'.")
    tags: str = Field(default="(story,comment)", description="Algolia tags filter.")
    poll_interval: float = Field(default=90.0, gt=0)


class HackerNewsSource(HttpSource[HackerNewsConfig]):
    config_model = HackerNewsConfig
    network = "hackernews"

    async def poll(self, state: dict[str, Any]) -> AsyncIterator[MentionEvent]:
        window = Window(state, "search", MARGIN)
        hits = await self._window(window.since)
        hits.sort(key=_created)
        for number, hit in enumerate(hits):
            try:
                mention = self._mention(hit)
            except (KeyError, TypeError, ValueError) as exc:
                self.skip_malformed(f"search result {number}", exc)
                continue
            key = f"{mention.native_id}@{hit.get('updated_at')}"
            if window.take(key, mention.created_at.timestamp()):
                yield Upsert(mention=mention, cursor=self.cursor(state))

    async def _window(self, since: float | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "query": self.config.query,
            "tags": self.config.tags,
            "hitsPerPage": 100,
        }
        if since is not None:
            params["numericFilters"] = f"created_at_i>{int(since)}"
        hits: list[dict[str, Any]] = []
        for page in range(MAX_PAGES if since is not None else 1):
            reply = await self.request(
                "GET",
                f"{self.config.base_url}/search_by_date",
                params={**params, "page": page},
                what=f"HN search {self.config.query!r}",
            )
            body = reply.json()
            page_hits = body.get("hits") if isinstance(body, dict) else None
            if not isinstance(page_hits, list):
                self.skip_malformed("HN search", ValueError("no 'hits' list in the answer"))
                break
            hits += [h for h in page_hits if isinstance(h, dict)]
            if page + 1 >= int(body.get("nbPages") or 1):
                break
        return hits

    def _mention(self, hit: dict[str, Any]) -> Mention:
        native_id = str(hit["objectID"])
        tags = hit.get("_tags") or []
        is_comment = "comment" in tags
        html = hit.get("comment_text") or hit.get("story_text") or ""
        text, links = html_to_text(str(html))
        title = hit.get("title") or hit.get("story_title")
        if hit.get("url"):
            links.insert(0, str(hit["url"]))
        author = str(hit.get("author") or "unknown")
        parent = hit.get("parent_id")
        story = hit.get("story_id")
        return Mention(
            source=self.network,
            source_name=self.name,
            native_id=native_id,
            kind="comment" if is_comment else "story",
            url=ITEM_URL.format(native_id),
            created_at=parse_time(hit["created_at_i"]),
            edited_at=None,
            author=Author(id=author, handle=author, url=USER_URL.format(author)),
            text=text or (strip_html(str(title)) if title else ""),
            title=strip_html(str(title)) if title else None,
            in_reply_to_id=str(parent) if parent is not None else None,
            thread_id=str(story) if story is not None else None,
            links=tuple(links),
            engagement=Engagement(score=hit.get("points"), replies=hit.get("num_comments")),
            raw={k: v for k, v in hit.items() if k != "_highlightResult"},
        )


def _created(hit: dict[str, Any]) -> float:
    value = hit.get("created_at_i")
    return float(value) if isinstance(value, int | float) else 0.0
