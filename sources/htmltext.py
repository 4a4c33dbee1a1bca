"""Plain text from the HTML the networks send (Mastodon `content`, HN comments, feed
summaries, Reddit `*_html`): paragraphs and line breaks kept, entities decoded, links
collected, and nothing else of the markup survives.

Mastodon hides the scheme and tail of long links in `<span class="invisible">`; those spans
are dropped as its web client does. `<b>` highlights (Google Alerts) simply vanish.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "li", "blockquote", "pre", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP = {"script", "style", "template"}
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANKS = re.compile(r"\n{3,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden: list[str] = []  # open tags whose content is not shown

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag in _SKIP or (tag == "span" and "invisible" in classes):
            self._hidden.append(tag)
            return
        if self._hidden and tag == self._hidden[-1]:
            self._hidden.append(tag)  # nested span inside a hidden span
            return
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and values.get("href") and not {"mention", "hashtag"} & set(classes):
            href = values["href"] or ""
            if href.startswith(("http://", "https://")) and href not in self.links:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and tag == self._hidden[-1]:
            self._hidden.pop()
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    """The readable text of `html` and the links in it (http/https only, in order)."""
    if "<" not in html and "&" not in html:
        return html.strip(), []
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip(), parser.links


def strip_html(html: str) -> str:
    """Just the text: for titles and one-line fields."""
    return " ".join(html_to_text(html)[0].split())
