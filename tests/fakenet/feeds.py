"""A Google Alerts Atom feed with ETag / Last-Modified and 304 on a matching conditional GET."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from tests.fakenet.server import FakeNet, Request, Response

PATH = "/alerts/feeds/01234567890123456789/98765432109876543"


@dataclass
class Entry:
    id: str
    title: str
    link: str
    published: str
    content: str


class FakeFeed:
    def __init__(self, net: FakeNet, path: str = PATH) -> None:
        self.net = net
        self.path = path
        self.entries: list[Entry] = []
        self.version = 0
        self.raw: bytes | None = None  # serve these bytes instead (a malformed feed)
        net.route("GET", path, self._serve)

    @property
    def url(self) -> str:
        return self.net.url + self.path

    def alert(self, n: int, title: str, target: str, published: str, content: str) -> None:
        link = f"https://www.google.com/url?rct=j&sa=t&url={target}&ct=ga&cd=CAIy&usg=AOvVaw0"
        self.entries.append(
            Entry(f"tag:google.com,2013:googlealerts/feed:{n}", title, link, published, content)
        )
        self.version += 1

    @property
    def etag(self) -> str:
        return f'"v{self.version}"'

    def _serve(self, request: Request) -> Response:
        if self.raw is not None:
            return Response(200, self.raw, {"Content-Type": "application/atom+xml"})
        if request.headers.get("if-none-match") == self.etag:
            return Response(304, b"", {"ETag": self.etag})
        entries = "".join(
            f"""<entry><id>{escape(e.id)}</id><title type="html">{escape(e.title)}</title>
<link href="{escape(e.link)}"/><published>{e.published}</published><updated>{e.published}</updated>
<content type="html">{escape(e.content)}</content><author><name/></author></entry>"""
            for e in reversed(self.entries)
        )
        body = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing">
<id>tag:google.com,2005:reader/user/01234567890123456789/state/com.google/alerts/98765432109876543</id>
<title>Google Alert - Acme</title><updated>2026-08-01T12:00:03Z</updated>{entries}</feed>"""
        return Response(
            200,
            body.encode("utf-8", "surrogatepass"),
            {
                "Content-Type": "application/atom+xml",
                "ETag": self.etag,
                "Last-Modified": "Sat, 01 Aug 2026 12:00:03 GMT",
            },
        )
