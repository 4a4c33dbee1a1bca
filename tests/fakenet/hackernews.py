"""Algolia's HN search: `search_by_date` with `numericFilters=created_at_i>X`, tags, pages."""

from __future__ import annotations

import re
from typing import Any

from tests.fakenet.server import FakeNet, Request, Response

PATH = "/api/v1/search_by_date"


class FakeHackerNews:
    def __init__(self, net: FakeNet, page_size: int = 100) -> None:
        self.net = net
        self.hits: list[dict[str, Any]] = []
        self.page_size = page_size
        net.route("GET", PATH, self._search)

    @property
    def base_url(self) -> str:
        return f"{self.net.url}/api/v1"

    def comment(self, object_id: int, at: int, text: str, **extra: Any) -> dict[str, Any]:
        hit = {
            "objectID": str(object_id),
            "created_at_i": at,
            "author": "pat",
            "comment_text": text,
            "story_id": 44699000,
            "story_title": "Show HN: Acme 3.2",
            "parent_id": 44699500,
            "points": None,
            "num_comments": None,
            "title": None,
            "url": None,
            "_tags": ["comment", "author_pat", "story_44699000"],
            "updated_at": "2026-08-01T12:01:00Z",
            **extra,
        }
        self.hits.append(hit)
        return hit

    def story(self, object_id: int, at: int, title: str, **extra: Any) -> dict[str, Any]:
        hit = {
            "objectID": str(object_id),
            "created_at_i": at,
            "author": "acmefounder",
            "title": title,
            "url": "https://acme.example/blog/3-2",
            "story_text": None,
            "points": 57,
            "num_comments": 23,
            "_tags": ["story", "author_acmefounder"],
            **extra,
        }
        self.hits.append(hit)
        return hit

    def _search(self, request: Request) -> Response:
        found = sorted(self.hits, key=lambda h: -_at(h))
        if (flt := request.arg("numericFilters")) and (
            m := re.fullmatch(r"created_at_i>(\d+)", flt)
        ):
            found = [h for h in found if _at(h) > int(m.group(1))]
        per = int(request.arg("hitsPerPage") or 20)
        per = min(per, self.page_size)
        page = int(request.arg("page") or 0)
        pages = max(1, -(-len(found) // per))
        return Response.json(
            {
                "hits": found[page * per : (page + 1) * per],
                "nbHits": len(found),
                "page": page,
                "nbPages": pages,
                "hitsPerPage": per,
                "query": request.arg("query"),
            }
        )


def _at(hit: dict[str, Any]) -> int:
    value = hit.get("created_at_i")
    return value if isinstance(value, int) else 0
