"""Reddit: the client-credentials token endpoint, OAuth `/search` and public `search.json`
Listings (escaped unless `raw_json=1`)."""

from __future__ import annotations

import base64
import itertools
from html import escape
from typing import Any

from tests.fakenet.server import FakeNet, Request, Response

CLIENT_ID = "approved-app-id"
CLIENT_SECRET = "reddit-client-s3cret"


class FakeReddit:
    def __init__(self, net: FakeNet) -> None:
        self.net = net
        self.children: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self._ids = itertools.count(1)
        net.route("POST", "/api/v1/access_token", self._token)
        net.route("GET", "/search", self._oauth_search)
        net.route("GET", "/search.json", self._public_search)

    @property
    def url(self) -> str:
        return self.net.url

    def post(self, title: str, selftext: str, created: float, **extra: Any) -> dict[str, Any]:
        n = next(self._ids)
        data = {
            "id": f"p{n}",
            "name": f"t3_p{n}",
            "subreddit": "acme",
            "title": title,
            "selftext": selftext,
            "author": "pat_example",
            "author_fullname": "t2_abcd1234",
            "created_utc": created,
            "edited": False,
            "permalink": f"/r/acme/comments/p{n}/slug/",
            "score": 12,
            "num_comments": 4,
            "url": f"https://www.reddit.com/r/acme/comments/p{n}/slug/",
            **extra,
        }
        self.children.insert(0, {"kind": "t3", "data": data})
        return data

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return Response.json({"error": 401, "message": "Unauthorized"}, 401)
        token = f"reddit-token-{next(self._ids)}"
        self.tokens.add(token)
        return Response.json(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    def _oauth_search(self, request: Request) -> Response:
        if request.bearer not in self.tokens:
            return Response.json({"message": "Unauthorized", "error": 401}, 401)
        return self._listing(request)

    def _public_search(self, request: Request) -> Response:
        return self._listing(request)

    def _listing(self, request: Request) -> Response:
        raw = request.arg("raw_json") == "1"
        children = [
            {
                "kind": c["kind"],
                "data": {
                    k: (v if raw or not isinstance(v, str) else escape(v, quote=False))
                    for k, v in c["data"].items()
                },
            }
            for c in self.children[: int(request.arg("limit") or 25)]
        ]
        return Response.json(
            {"kind": "Listing", "data": {"after": None, "before": None, "children": children}},
            headers={
                "X-Ratelimit-Used": "1",
                "X-Ratelimit-Remaining": "99.0",
                "X-Ratelimit-Reset": "540",
            },
        )
