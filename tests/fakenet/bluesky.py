"""A Bluesky PDS: createSession / refreshSession (rotating, the old refresh token revoked),
searchPosts (403 AuthMissing without a session, paged `cursor`, `since`), listNotifications
and getProfiles (at most 25 actors)."""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakenet.server import FakeNet, Request, Response

HANDLE = "acme.example.com"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


class FakeBluesky:
    def __init__(self, net: FakeNet, page: int = 25) -> None:
        self.net = net
        self.posts: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.profiles: dict[str, int] = {}
        self.page = page
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.logins = 0
        self.refreshes = 0
        self._tokens = itertools.count(1)
        self._rkeys = itertools.count(1)
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record (our account's posts)
        self.deleted: list[str] = []
        for nsid, handler in [
            ("com.atproto.server.createSession", self._create),
            ("com.atproto.server.refreshSession", self._refresh),
            ("com.atproto.repo.createRecord", self._create_record),
            ("com.atproto.repo.deleteRecord", self._delete_record),
        ]:
            net.route("POST", f"/xrpc/{nsid}", handler)
        for nsid, handler in [
            ("app.bsky.feed.searchPosts", self._search),
            ("app.bsky.notification.listNotifications", self._notifications),
            ("app.bsky.actor.getProfiles", self._profiles),
            ("com.atproto.repo.getRecord", self._get_record),
        ]:
            net.route("GET", f"/xrpc/{nsid}", handler)

    @property
    def base_url(self) -> str:
        return self.net.url

    def post(
        self, text: str, indexed: str, did: str = "did:plc:abc123def456", **extra: Any
    ) -> dict[str, Any]:
        rkey = f"3lxyz{next(self._rkeys):08d}"
        post = {
            "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
            "cid": f"bafy{rkey}",
            "author": {"did": did, "handle": "pat.example.com", "displayName": "Pat Example"},
            "record": {
                "$type": "app.bsky.feed.post",
                "text": text,
                "createdAt": indexed,
                "langs": ["en"],
            },
            "replyCount": 1,
            "repostCount": 0,
            "likeCount": 4,
            "quoteCount": 0,
            "indexedAt": indexed,
            "labels": [],
            **extra,
        }
        self.posts.append(post)
        return post

    def mention(self, text: str, indexed: str) -> dict[str, Any]:
        post = self.post(text, indexed)
        self.posts.remove(post)
        note = {k: post[k] for k in ("uri", "cid", "author", "record", "indexedAt", "labels")}
        note |= {"reason": "mention", "isRead": False}
        self.notifications.append(note)
        return note

    def expire_access(self) -> None:
        self.access.clear()

    # -- handlers ----------------------------------------------------------------------
    def _session(self) -> dict[str, Any]:
        access, refresh = f"access-{next(self._tokens)}", f"refresh-{next(self._tokens)}"
        self.access.add(access)
        self.refresh.add(refresh)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": HANDLE,
            "did": "did:plc:acmeacmeacme",
        }

    def _create(self, request: Request) -> Response:
        self.logins += 1
        body = request.json()
        if body != {"identifier": HANDLE, "password": APP_PASSWORD}:
            return Response.json(
                {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                401,
            )
        return Response.json(self._session())

    def _refresh(self, request: Request) -> Response:
        if request.bearer not in self.refresh:
            return Response.json(
                {"error": "ExpiredToken", "message": "Token has been revoked"}, 400
            )
        self.refreshes += 1
        self.refresh.discard(request.bearer)
        return Response.json(self._session())

    def _denied(self, request: Request) -> Response | None:
        if request.bearer is None:
            return Response.json(
                {"error": "AuthMissing", "message": "Authentication Required"}, 403
            )
        if request.bearer not in self.access:
            return Response.json({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return None

    def _search(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        return self._paged(request, self.posts, "posts")

    def _notifications(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        return self._paged(request, self.notifications, "notifications")

    def _paged(self, request: Request, items: list[dict[str, Any]], key: str) -> Response:
        found = sorted(items, key=lambda p: p["indexedAt"], reverse=True)
        if since := request.arg("since"):
            found = [p for p in found if p["indexedAt"] >= since]
        start = int(request.arg("cursor") or 0)
        page = found[start : start + self.page]
        body: dict[str, Any] = {key: page}
        if start + self.page < len(found):
            body["cursor"] = str(start + self.page)
        return Response.json(body)

    def _profiles(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        actors = request.query.get("actors", [])
        if len(actors) > 25:
            return Response.json({"error": "InvalidRequest", "message": "too many actors"}, 400)
        return Response.json(
            {
                "profiles": [
                    {
                        "did": a,
                        "handle": "pat.example.com",
                        "followersCount": self.profiles.get(a, 0),
                    }
                    for a in actors
                ]
            }
        )

    def _create_record(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        body = request.json()
        rkey = body["rkey"]
        if rkey in self.records:
            return Response.json(
                {"error": "InvalidRequest", "message": "Record already exists"}, 400
            )
        self.records[rkey] = body["record"]
        uri = f"at://{body['repo']}/{body['collection']}/{rkey}"
        return Response.json({"uri": uri, "cid": f"bafy{rkey}"})

    def _get_record(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        rkey = request.arg("rkey") or ""
        if rkey not in self.records:
            return Response.json(
                {"error": "RecordNotFound", "message": "Could not locate record"}, 400
            )
        return Response.json(
            {"uri": f"at://x/app.bsky.feed.post/{rkey}", "value": self.records[rkey]}
        )

    def _delete_record(self, request: Request) -> Response:
        if denied := self._denied(request):
            return denied
        rkey = request.json()["rkey"]
        self.records.pop(rkey, None)
        self.deleted.append(rkey)
        return Response.json({})
